"""Issue owners: who owns a new issue by its project's ownership rules, and
auto-assignment to that owner.

Digest calls :func:`assign_new_issues` inside its batch transaction, after
the batch's issues and events are written, so an issue never shows up
unassigned when its rules say otherwise. The rules are matched against the
issue's first stored event (see fixtrail.projects.ownership for which frame
counts and which rule wins).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from fixtrail.accounts.models import Team, User
from fixtrail.issues import actions
from fixtrail.issues.models import Activity, Issue, IssueOwner
from fixtrail.issues.samples import first_event_data
from fixtrail.projects.models import ProjectOwnership
from fixtrail.projects.owners import effective_rules, resolve_owners
from fixtrail.projects.ownership import match_owner_rule

logger = logging.getLogger(__name__)


def assign_new_issues(
    issue_ids: Iterable[int],
    now: dt.datetime,
    data: dict[int, tuple[int, dict[str, Any]]] | None = None,
) -> int:
    """Record the owner of each new issue whose project has ownership rules,
    and assign it to that owner when the project auto-assigns and nobody
    is assigned yet; return how many were assigned.

    ``data`` is :func:`first_event_data` of the ids when the caller has
    it already. Queries: one for the projects' settings, then per project
    with rules one for the issues' first events and two for the owners.
    """
    ids = sorted(set(issue_ids))
    if not ids:
        return 0
    by_project: dict[int, list[int]] = defaultdict(list)
    for pk, project_id in Issue.objects.filter(pk__in=ids).values_list(
        "pk", "project_id"
    ):
        by_project[project_id].append(pk)
    settings = {
        o.project_id: o
        for o in ProjectOwnership.objects.filter(
            project_id__in=list(by_project)
        ).select_related("project__organization")
    }
    assigned = 0
    for project_id, pks in sorted(by_project.items()):
        ownership = settings.get(project_id)
        if ownership is None:
            continue
        rules = effective_rules(ownership)
        if not rules:
            continue
        events = (
            {pk: data[pk] for pk in pks if pk in data}
            if data is not None
            else first_event_data(pks)
        )
        assigned += _assign_project(ownership, rules, events, now)
    return assigned


def _assign_project(
    ownership: ProjectOwnership,
    rules: tuple,
    events: dict[int, tuple[int, dict[str, Any]]],
    now: dt.datetime,
) -> int:
    organization = ownership.project.organization
    known = resolve_owners(organization, (o for r in rules for o in r.owners))
    owners: list[IssueOwner] = []
    to_assign: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
    for issue_id, (_, event) in sorted(events.items()):
        rule = match_owner_rule(rules, event)
        if rule is None:
            continue
        # The first owner of the rule that names someone here owns it.
        target = next((known[o] for o in rule.owners if o in known), None)
        if target is None:
            continue
        user = target if isinstance(target, User) else None
        team = target if isinstance(target, Team) else None
        auto = ownership.auto_assignment == ProjectOwnership.AutoAssignment.ISSUE_OWNER
        owners.append(
            IssueOwner(
                issue_id=issue_id,
                user=user,
                team=team,
                rule=rule.describe()[:600],
                auto_assigned=auto,
                created_at=now,
            )
        )
        if auto:
            to_assign[(getattr(user, "pk", None), getattr(team, "pk", None))].append(
                issue_id
            )
    IssueOwner.objects.bulk_create(owners, ignore_conflicts=True)
    rule_of = {o.issue_id: o.rule for o in owners}
    assigned = 0
    for (user_id, team_id), issue_ids in to_assign.items():
        issues = Issue.objects.filter(
            pk__in=issue_ids, assignee__isnull=True, assignee_team__isnull=True
        )
        assigned += actions.assign_issues(
            issues,
            user=None,
            assignee=User.objects.get(pk=user_id) if user_id else None,
            team=Team.objects.get(pk=team_id) if team_id else None,
            now=now,
        )
        # Say on the activity log which rule assigned it.
        for activity in Activity.objects.filter(
            issue_id__in=issue_ids, kind=Activity.Kind.ASSIGNED, user=None
        ):
            activity.data = {**activity.data, "rule": rule_of[activity.issue_id]}
            activity.save(update_fields=["data"])
    return assigned
