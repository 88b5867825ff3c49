"""Forms of the triage pages: issue actions (one issue or many), the
selection of many, comments and saved searches.

An action form checks its input, then ``run`` calls the matching workflow
in fixtrail.issues.actions; the workflows hold the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from fixtrail.accounts.models import Organization, Team, User
from fixtrail.issues import actions
from fixtrail.issues.listing import ListState, matching_issues
from fixtrail.issues.models import Issue, Priority
from fixtrail.projects.models import Project

# Explicitly ticked rows per request: more than a few pages is a sign the
# client should use "all matching" instead.
MAX_SELECTED_ISSUES = 1000
# Merging moves every event of the merged issues; keep one request bounded.
MAX_MERGE_ISSUES = 50
# Longest "ignore for" choice the form offers: a year, in minutes.
MAX_IGNORE_MINUTES = actions.MAX_IGNORE_MINUTES

ACTION_CHOICES = [
    ("resolve", "Resolve"),
    ("unresolve", "Unresolve"),
    ("ignore", "Ignore"),
    ("assign", "Assign"),
    ("bookmark", "Bookmark"),
    ("unbookmark", "Remove bookmark"),
    ("priority", "Set priority"),
    ("review", "Mark reviewed"),
    ("merge", "Merge"),
    ("delete", "Delete"),
]
RESOLVE_CHOICES = [
    ("now", "now"),
    ("next_release", "in the next release"),
    ("in_release", "in a release"),
    ("in_commit", "in a commit"),
]
# The "ignore for" presets the pages offer, in minutes.
IGNORE_FOR_CHOICES = [
    (30, "30 minutes"),
    (120, "2 hours"),
    (24 * 60, "24 hours"),
    (7 * 24 * 60, "7 days"),
]


@dataclass
class Outcome:
    """What an action did: the message for the user, and where to go when
    the issue shown no longer exists (merged away or deleted)."""

    message: str
    survivor: Issue | None = None
    deleted: bool = False


class IssueActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTION_CHOICES)
    how = forms.ChoiceField(choices=RESOLVE_CHOICES, required=False)
    release = forms.CharField(max_length=250, required=False)
    commit = forms.CharField(max_length=64, required=False)
    ignore_minutes = forms.IntegerField(
        min_value=1, max_value=MAX_IGNORE_MINUTES, required=False
    )
    ignore_count = forms.IntegerField(
        min_value=1, max_value=actions.MAX_IGNORE_COUNT, required=False
    )
    ignore_window = forms.IntegerField(
        min_value=1, max_value=MAX_IGNORE_MINUTES, required=False
    )
    ignore_user_count = forms.IntegerField(
        min_value=1, max_value=actions.MAX_IGNORE_COUNT, required=False
    )
    ignore_user_window = forms.IntegerField(
        min_value=1, max_value=MAX_IGNORE_MINUTES, required=False
    )
    # "user:<id>", "team:<id>", or empty to unassign.
    assignee = forms.CharField(max_length=40, required=False)
    priority = forms.TypedChoiceField(
        choices=Priority.choices, coerce=int, required=False
    )

    def __init__(
        self, *args: object, organization: Organization, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_assignee(self) -> User | Team | None:
        value = self.cleaned_data["assignee"]
        if not value:
            return None
        kind, _, pk = value.partition(":")
        if not pk.isdigit() or kind not in ("user", "team"):
            raise forms.ValidationError("Choose a member or a team.")
        if kind == "user":
            found = User.objects.filter(
                pk=int(pk), memberships__organization=self.organization
            ).first()
        else:
            found = Team.objects.filter(
                pk=int(pk), organization=self.organization
            ).first()
        if found is None:
            raise forms.ValidationError(
                "Choose a member or a team of this organization."
            )
        return found

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "priority" and data.get("priority") is None:
            raise forms.ValidationError("Choose a priority.")
        return data

    def first_error(self) -> str:
        """The first error message, for a one-line flash message."""
        for errors in self.errors.values():
            return errors[0]
        return "That action is not valid."

    def run(self, issues: QuerySet[Issue], *, user: User, now: datetime) -> Outcome:
        """Carry out the action on ``issues``; raise IssueActionError when
        the workflow refuses it."""
        data = self.cleaned_data
        action = data["action"]
        if action == "resolve":
            n = actions.resolve_issues(
                issues,
                user=user,
                how=data["how"] or "now",
                release=data["release"],
                commit=data["commit"],
                now=now,
            )
            return Outcome(f"Resolved {_issues(n)}.")
        if action == "unresolve":
            n = actions.unresolve_issues(issues, user=user, now=now)
            return Outcome(f"Reopened {_issues(n)}.")
        if action == "ignore":
            minutes = data["ignore_minutes"]
            n = actions.ignore_issues(
                issues,
                user=user,
                now=now,
                until=now + timedelta(minutes=minutes) if minutes else None,
                count=data["ignore_count"],
                window_minutes=data["ignore_window"],
                user_count=data["ignore_user_count"],
                user_window_minutes=data["ignore_user_window"],
            )
            return Outcome(f"Ignored {_issues(n)}.")
        if action == "assign":
            return self._assign(issues, user=user, now=now)
        if action in ("bookmark", "unbookmark"):
            selected = list(issues[:MAX_SELECTED_ISSUES])
            for issue in selected:
                actions.set_bookmark(issue, user, action == "bookmark")
            verb = "Bookmarked" if action == "bookmark" else "Removed the bookmark of"
            return Outcome(f"{verb} {_issues(len(selected))}.")
        if action == "priority":
            selected = list(issues[:MAX_SELECTED_ISSUES])
            for issue in selected:
                actions.set_priority(issue, data["priority"], user=user, now=now)
            label = Priority(data["priority"]).label.lower()
            return Outcome(f"Set {_issues(len(selected))} to {label} priority.")
        if action == "review":
            n = actions.mark_reviewed(issues, user=user, now=now)
            return Outcome(f"Marked {_issues(n)} reviewed.")
        if action == "merge":
            selected = list(issues.select_related("project")[: MAX_MERGE_ISSUES + 1])
            if len(selected) > MAX_MERGE_ISSUES:
                raise actions.IssueActionError(
                    f"Merge at most {MAX_MERGE_ISSUES} issues at a time."
                )
            survivor = actions.merge_issues(selected, user=user, now=now)
            return Outcome(
                f"Merged {_issues(len(selected))} into {survivor.short_id_display}.",
                survivor=survivor,
            )
        n = actions.delete_issues(issues, user=user)
        return Outcome(f"Deleted {_issues(n)}.", deleted=True)

    def _assign(self, issues: QuerySet[Issue], *, user: User, now: datetime) -> Outcome:
        target = self.cleaned_data["assignee"]
        n = actions.assign_issues(
            issues,
            user=user,
            assignee=target if isinstance(target, User) else None,
            team=target if isinstance(target, Team) else None,
            now=now,
        )
        if target is None:
            return Outcome(f"Unassigned {_issues(n)}.")
        return Outcome(f"Assigned {_issues(n)} to {target}.")


def _issues(n: int) -> str:
    return "1 issue" if n == 1 else f"{n} issues"


def selected_issues(
    data: QueryDict,
    organization: Organization,
    project: Project | None,
    *,
    user: User,
    now: datetime,
) -> QuerySet[Issue]:
    """Return the issues a bulk request names: every issue matching the
    list's query when ``all_matching`` is set, else the ticked ``issue``
    ids; always within the organization (and project, when given).

    Raises SearchError when "all matching" comes with a bad query.
    """
    if data.get("all_matching") == "1":
        return matching_issues(
            organization, project, ListState.from_params(data), user=user, now=now
        )
    ids = [
        int(pk) for pk in data.getlist("issue")[:MAX_SELECTED_ISSUES] if pk.isdigit()
    ]
    issues = Issue.objects.filter(pk__in=ids, project__organization=organization)
    if project is not None:
        issues = issues.filter(project=project)
    return issues


class CommentForm(forms.Form):
    text = forms.CharField(
        max_length=actions.MAX_COMMENT_LENGTH, widget=forms.Textarea, strip=True
    )


class SavedSearchForm(forms.Form):
    name = forms.CharField(max_length=100)
    query = forms.CharField(max_length=1000, required=False)
    sort = forms.ChoiceField(
        choices=[(key, key) for key in ("date", "new", "freq", "user", "priority")],
        required=False,
    )
    is_shared = forms.BooleanField(required=False)
