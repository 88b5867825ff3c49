"""Give every existing project the default rule new projects get."""

from django.db import migrations


def add_default_rules(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    AlertRule = apps.get_model("alerts", "AlertRule")
    AlertAction = apps.get_model("alerts", "AlertAction")
    for project in Project.objects.exclude(alert_rules__is_default=True):
        rule = AlertRule.objects.create(
            project=project,
            name="New issues and regressions",
            triggers=["new", "regression"],
            cooldown_minutes=30,
            is_default=True,
        )
        AlertAction.objects.create(rule=rule, kind="members", label="project members")


def start_cursors(apps, schema_editor):
    # What happened before alerts existed never alerts; what comes after
    # does, even before the worker's first evaluation.
    Activity = apps.get_model("issues", "Activity")
    TagValue = apps.get_model("issues", "TagValue")
    AlertCursor = apps.get_model("alerts", "AlertCursor")
    for name, model in (("activity", Activity), ("tagvalue", TagValue)):
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        AlertCursor.objects.get_or_create(
            name=name, defaults={"position": last, "settled": last}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("projects", "0001_initial"),
        ("issues", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_default_rules, migrations.RunPython.noop),
        migrations.RunPython(start_cursors, migrations.RunPython.noop),
    ]
