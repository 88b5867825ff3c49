"""``fixtrail alert``: add, list and test alert rules from scripts."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtrail.alerts import triggers
from fixtrail.alerts.channels import ChannelError
from fixtrail.alerts.delivery import sample_issue, send, test_recipient
from fixtrail.alerts.messages import alert_context
from fixtrail.alerts.models import AlertAction, AlertRule
from fixtrail.alerts.rules import RuleError, parse_action, rule_when, save_rule
from fixtrail.projects.models import Project


class Command(BaseCommand):
    help = (
        "Add an alert rule to a project, list the rules, or send a sample "
        "message through every action of a rule to check its set-up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a rule; prints its id (and secrets)")
        add.add_argument("--project", required=True, help="ORG/PROJECT")
        add.add_argument(
            "--when",
            action="append",
            required=True,
            help="new, regression, escalating, new-release, new-environment, "
            "frequency:N/10m, users:N/1h or spike:K (repeat or comma-separate)",
        )
        add.add_argument("--filter", default="", help="issue search syntax")
        add.add_argument(
            "--to",
            action="append",
            required=True,
            help="members, email:ADDRESS, webhook:URL or apprise:URL (repeatable)",
        )
        add.add_argument("--cooldown", default="30m", help="e.g. 30m, 1h, 1d")
        add.add_argument("--name", default="", help="defaults to the triggers")
        listing = sub.add_parser("list", help="one JSON line per rule")
        listing.add_argument("--project", help="ORG/PROJECT")
        test = sub.add_parser("test", help="send a sample through every action")
        test.add_argument("rule", type=int)

    def handle(self, *args: object, **options: object) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            rules = AlertRule.objects.select_related("project__organization")
            if options["project"]:
                rules = rules.filter(project=_project(options["project"]))
            for rule in rules.order_by("pk").prefetch_related("actions"):
                self.stdout.write(json.dumps(_row(rule)))
        else:
            self._test(options["rule"])

    def _add(self, options: dict) -> None:
        project = _project(options["project"])
        try:
            when = triggers.parse_when(options["when"])
            cooldown = triggers.parse_duration(options["cooldown"])
            actions = [parse_action(spec) for spec in options["to"]]
            saved = save_rule(
                project,
                name=options["name"] or ", ".join(triggers.format_when(when)),
                when=when,
                filter=options["filter"],
                cooldown_minutes=cooldown,
                add_actions=actions,
            )
        except (triggers.TriggerError, RuleError) as exc:
            raise CommandError(exc.message) from None
        out: dict = {"id": saved.rule.pk}
        if saved.secrets:
            # One secret per webhook; the common single-webhook case reads
            # it as "secret".
            values = list(saved.secrets.values())
            out["secret"] = values[0]
            if len(values) > 1:
                out["secrets"] = {str(k): v for k, v in saved.secrets.items()}
        self.stdout.write(json.dumps(out))

    def _test(self, rule_id: int) -> None:
        rule = (
            AlertRule.objects.select_related("project__organization", "created_by")
            .filter(pk=rule_id)
            .first()
        )
        if rule is None:
            raise CommandError(f"no alert rule {rule_id}")
        ctx = alert_context(sample_issue(rule), "test", {}, rule, test=True)
        failed = 0
        for act in rule.actions.order_by("pk"):
            to = ""
            if act.kind in (AlertAction.Kind.MEMBERS, AlertAction.Kind.EMAIL):
                to = test_recipient(act, rule)
            try:
                result = send(act, ctx, to)
                line = {"action": act.pk, "to": act.spec(), "ok": True, **result}
            except ChannelError as exc:
                failed += 1
                line = {
                    "action": act.pk,
                    "to": act.spec(),
                    "ok": False,
                    "error": exc.message,
                }
            self.stdout.write(json.dumps(line))
        if failed:
            raise CommandError(f"{failed} of the rule's actions failed")


def _project(ref: str) -> Project:
    project = Project.objects.by_path(ref)
    if project is None:
        raise CommandError(f"no project {ref!r} (write ORG/PROJECT)")
    return project


def _row(rule: AlertRule) -> dict:
    return {
        "id": rule.pk,
        "project": f"{rule.project.organization.slug}/{rule.project.slug}",
        "name": rule.name,
        "when": triggers.format_when(rule_when(rule)),
        "filter": rule.filter,
        "to": [a.spec() for a in rule.actions.all()],
        "cooldown": triggers.format_duration(rule.cooldown_minutes),
        "active": rule.is_active,
    }
