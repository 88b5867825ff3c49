"""Decide which rules fire, from what digest recorded. Run by a periodic
task (fixtrail.alerts.tasks), never in ingest or the digest transaction.

Steps of one ``evaluate(now)``:

1. read the Activity rows digest and triage wrote after the cursor
   (FIRST_SEEN, REGRESSION, ESCALATING) and fire the rules with that
   trigger whose filter matches the issue;
2. read the TagValue rows of releases and environments after their cursor:
   a row for an issue that already had another value of that key is the
   issue's first event in a new release or environment;
3. count each threshold rule's window: events (``frequency``) and distinct
   users (``users``) in the last M minutes from the stored events table,
   exact to the event by the time Fixtrail received it; for ``spike`` the
   last hour of events against the same hour of the previous days in
   HourlyCount (hourly buckets of the events' own times, which outlive
   event retention).

Every firing goes through ``delivery.fire``, which keeps the per-issue
cool-down and fires each Activity or TagValue row at most once per rule.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Count

from fixtrail.alerts import triggers
from fixtrail.alerts.delivery import cooling_issues, fire
from fixtrail.alerts.models import AlertCursor, AlertNotice, AlertRule
from fixtrail.events.models import Event
from fixtrail.issues.models import Activity, HourlyCount, Issue, Status, TagValue
from fixtrail.issues.search import filter_issues, parse_query

# Rows read per cursor per run; a longer backlog is read on the next runs.
BATCH = 1000
# Digest transactions last well under this; rows with ids above the id
# read this long ago are read again in case a lower id committed late.
SETTLE_SECONDS = 120
ACTIVITY_TRIGGERS = {
    Activity.Kind.FIRST_SEEN: triggers.NEW,
    Activity.Kind.REGRESSION: triggers.REGRESSION,
    Activity.Kind.ESCALATING: triggers.ESCALATING,
}
TAG_TRIGGERS = {
    "release": triggers.NEW_RELEASE,
    "environment": triggers.NEW_ENVIRONMENT,
}


def evaluate(now: dt.datetime) -> int:
    """Fire every rule whose trigger happened; return how many alerts fired."""
    return evaluate_activities(now) + evaluate_new_tags(now) + evaluate_thresholds(now)


def _rules_by_project(project_ids: set[int], wanted: set[str]) -> dict:
    rules: dict[int, list[AlertRule]] = defaultdict(list)
    for rule in AlertRule.objects.filter(
        project_id__in=project_ids, is_active=True
    ).select_related("project"):
        if wanted & set(rule.triggers):
            rules[rule.project_id].append(rule)
    return rules


def _matching(rule: AlertRule, issue_ids: set[int], now: dt.datetime) -> set[int]:
    """Return which of ``issue_ids`` the rule's filter lets through."""
    issues = Issue.objects.filter(pk__in=issue_ids)
    if rule.filter:
        # Rules are checked on save; a filter that no longer parses (the
        # syntax changed) matches nothing rather than everything.
        try:
            terms = parse_query(rule.filter)
        except ValueError:
            return set()
        issues = filter_issues(issues, terms, user=None, now=now)
    return set(issues.values_list("pk", flat=True))


def _read_rows(name: str, queryset, now: dt.datetime) -> tuple[list, AlertCursor]:
    """Return the rows of ``queryset`` to look at: those above the settled
    id (read again) and up to BATCH new ones. The migration that made the
    cursors started them at the end of the history of the time."""
    cursor, _ = AlertCursor.objects.get_or_create(name=name)
    again = list(queryset.filter(pk__gt=cursor.settled, pk__lte=cursor.position))
    new = list(queryset.filter(pk__gt=cursor.position).order_by("pk")[:BATCH])
    return again + new, cursor


def _advance(cursor: AlertCursor, rows: list, now: dt.datetime) -> None:
    position = max([cursor.position, *(row.pk for row in rows)])
    limit = now - dt.timedelta(seconds=SETTLE_SECONDS)
    points = [*cursor.checkpoints, [now.isoformat(), position]]
    old = [p for p in points if dt.datetime.fromisoformat(p[0]) <= limit]
    settled = max([cursor.settled, *(p[1] for p in old)])
    recent = [p for p in points if dt.datetime.fromisoformat(p[0]) > limit]
    AlertCursor.objects.filter(pk=cursor.pk).update(
        position=position, settled=settled, checkpoints=recent
    )


def _fire_records(
    records: list[tuple[int, int, str, str, dict]], now: dt.datetime
) -> int:
    """Fire the rules for records of (project id, issue id, trigger,
    source, data)."""
    if not records:
        return 0
    rules = _rules_by_project({r[0] for r in records}, {r[2] for r in records})
    fired = 0
    issues = Issue.objects.in_bulk({r[1] for r in records})
    for rule in (rule for group in rules.values() for rule in group):
        mine = [r for r in records if r[0] == rule.project_id and r[2] in rule.triggers]
        if not mine:
            continue
        done = set(
            AlertNotice.objects.filter(
                rule=rule, source__in=[r[3] for r in mine]
            ).values_list("source", flat=True)
        )
        quiet = cooling_issues(rule, {r[1] for r in mine}, now)
        mine = [
            r for r in mine if r[3] not in done and r[1] in issues and r[1] not in quiet
        ]
        matching = _matching(rule, {r[1] for r in mine}, now)
        # One commit per rule, not per alert: on SQLite each commit syncs.
        with transaction.atomic():
            for _, issue_id, trigger, source, data in mine:
                # Two records of one issue in one run (created, then
                # regressed) make one alert, as the cool-down would.
                if issue_id in matching and issue_id not in quiet:
                    if rule.cooldown_minutes:
                        quiet.add(issue_id)
                    issue = issues[issue_id]
                    issue.project = rule.project
                    if fire(
                        rule,
                        issue,
                        trigger,
                        source=source,
                        data=data,
                        now=now,
                        cooldown_checked=True,
                    ):
                        fired += 1
    return fired


def evaluate_activities(now: dt.datetime) -> int:
    """Fire rules for new issues, regressions and escalations (step 1)."""
    queryset = Activity.objects.filter(kind__in=list(ACTIVITY_TRIGGERS)).select_related(
        "issue"
    )
    rows, cursor = _read_rows("activity", queryset, now)
    records = [
        (
            row.issue.project_id,
            row.issue_id,
            ACTIVITY_TRIGGERS[row.kind],
            f"activity:{row.pk}",
            {"release": row.data.get("release")} if row.data.get("release") else {},
        )
        for row in rows
    ]
    fired = _fire_records(records, now)
    _advance(cursor, rows, now)
    return fired


def evaluate_new_tags(now: dt.datetime) -> int:
    """Fire rules for an issue's first event in a new release or
    environment (step 2)."""
    queryset = TagValue.objects.filter(key__in=list(TAG_TRIGGERS)).select_related(
        "issue"
    )
    rows, cursor = _read_rows("tagvalue", queryset, now)
    wanted = _rules_by_project(
        {row.issue.project_id for row in rows}, set(TAG_TRIGGERS.values())
    )
    rows_to_check = [row for row in rows if row.issue.project_id in wanted]
    # The issue's first value of a key comes with the issue itself (the
    # "new" trigger); only a value after another one is news.
    known: dict[tuple[int, str], list[tuple[int, dt.datetime]]] = defaultdict(list)
    if rows_to_check:
        for issue_id, key, pk, first_seen in TagValue.objects.filter(
            issue_id__in={row.issue_id for row in rows_to_check},
            key__in=list(TAG_TRIGGERS),
        ).values_list("issue_id", "key", "pk", "first_seen"):
            known[(issue_id, key)].append((pk, first_seen))
    records = [
        (
            row.issue.project_id,
            row.issue_id,
            TAG_TRIGGERS[row.key],
            f"tag:{row.pk}",
            {"value": row.value},
        )
        for row in rows_to_check
        if any(
            pk < row.pk and first_seen < row.first_seen
            for pk, first_seen in known[(row.issue_id, row.key)]
        )
    ]
    fired = _fire_records(records, now)
    _advance(cursor, rows, now)
    return fired


def _window_counts(
    project_id: int,
    window_minutes: int,
    now: dt.datetime,
    users: bool,
    memo: dict | None = None,
) -> dict[int, int]:
    """Return events (or distinct users) per issue of the project in the
    window; ``memo`` shares the answer between rules of one evaluation."""
    memo = {} if memo is None else memo
    key = (project_id, window_minutes, users)
    if key in memo:
        return memo[key]
    events = Event.objects.filter(
        project_id=project_id,
        received_at__gt=now - dt.timedelta(minutes=window_minutes),
        received_at__lte=now,
    )
    if users:
        events = events.exclude(user_identity="")
        counted = Count("user_identity", distinct=True)
    else:
        counted = Count("pk")
    memo[key] = dict(
        events.values("issue_id").annotate(n=counted).values_list("issue_id", "n")
    )
    return memo[key]


def spike_history(issue_ids: list[int], now: dt.datetime) -> dict[int, list[int]]:
    """Return, per issue, its event counts of the current hour of the day on
    each of the previous SPIKE_DAYS days (zeros included)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    hours = [hour - dt.timedelta(days=d) for d in range(1, triggers.SPIKE_DAYS + 1)]
    history = {issue_id: [0] * len(hours) for issue_id in issue_ids}
    for issue_id, at, count in HourlyCount.objects.filter(
        issue_id__in=issue_ids, hour__in=hours
    ).values_list("issue_id", "hour", "count"):
        history[issue_id][hours.index(at)] = count
    return history


def threshold_candidates(
    rule: AlertRule, now: dt.datetime, memo: dict | None = None
) -> dict[int, dict]:
    """Return the issues over ``rule``'s threshold with their counts."""
    trigger = next(t for t in rule.triggers if t in triggers.THRESHOLD_TRIGGERS)
    if trigger == triggers.SPIKE:
        last_hour = _window_counts(
            rule.project_id, triggers.SPIKE_WINDOW_MINUTES, now, False, memo
        )
        history = spike_history(list(last_hour), now)
        return {
            issue_id: {
                "window_events": n,
                "window_minutes": triggers.SPIKE_WINDOW_MINUTES,
                "usual_rate": round(triggers.usual_rate(history[issue_id]), 1),
            }
            for issue_id, n in last_hour.items()
            if triggers.is_spike(n, history[issue_id], rule.threshold)
        }
    users = trigger == triggers.USERS
    counts = _window_counts(rule.project_id, rule.window_minutes, now, users, memo)
    name = "window_users" if users else "window_events"
    return {
        issue_id: {name: n, "window_minutes": rule.window_minutes}
        for issue_id, n in counts.items()
        if n > rule.threshold
    }


def evaluate_thresholds(now: dt.datetime) -> int:
    """Fire frequency, users and spike rules (step 3). Ignored issues stay
    quiet: someone chose not to hear about them."""
    fired = 0
    memo: dict = {}
    rules = AlertRule.objects.filter(is_active=True).select_related("project")
    for rule in rules:
        trigger = next(
            (t for t in rule.triggers if t in triggers.THRESHOLD_TRIGGERS), None
        )
        if trigger is None:
            continue
        candidates = threshold_candidates(rule, now, memo)
        quiet = cooling_issues(rule, set(candidates), now)
        candidates = {k: v for k, v in candidates.items() if k not in quiet}
        if not candidates:
            continue
        matching = _matching(rule, set(candidates), now)
        issues = Issue.objects.filter(pk__in=matching).exclude(status=Status.IGNORED)
        with transaction.atomic():
            for issue in issues:
                issue.project = rule.project
                data = candidates[issue.pk]
                if fire(
                    rule, issue, trigger, data=data, now=now, cooldown_checked=True
                ):
                    fired += 1
    return fired
