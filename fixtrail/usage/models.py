"""Feature use counted by Fixtrail itself, kept in this database only."""

from __future__ import annotations

from django.db import models


class FeatureUse(models.Model):
    """How often an organization used a feature on a day (UTC).

    One row per (feature, organization, day), incremented with F() so
    concurrent requests never lose a count. Nothing here leaves the
    instance unless an operator exports the report.
    """

    feature = models.CharField(max_length=40)
    organization = models.ForeignKey(
        "accounts.Organization", models.CASCADE, related_name="feature_uses"
    )
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["feature", "organization", "day"], name="feature_use_unique"
            )
        ]
        # The report sums a window of days per feature.
        indexes = [models.Index(fields=["day", "feature"], name="feature_use_day_idx")]

    def __str__(self) -> str:
        return f"{self.feature} × {self.count} in {self.organization_id} on {self.day}"
