"""The issue list: its state (held in the URL), the matching issues and the
per-row figures for the chosen period.

    /organizations/acme/projects/backend/?query=is:unresolved+level:error
        &sort=freq&dir=asc&period=14d&cursor=n:42,1234

Every parameter is optional: no ``query`` means DEFAULT_QUERY (an empty
``query=`` means every issue), and unknown values fall back to defaults, so
a hand-edited URL never breaks the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils.safestring import SafeString

from fixtrail.accounts.models import Organization
from fixtrail.integrations.models import ExternalIssueLink
from fixtrail.issues import charts, counts
from fixtrail.issues.models import (
    InboxReason,
    Issue,
    IssueUser,
    Status,
    Substatus,
    TagValue,
)
from fixtrail.issues.search import (
    SORTS,
    Page,
    filter_issues,
    page_issues,
    parse_query,
)
from fixtrail.projects.models import Project

DEFAULT_QUERY = "is:unresolved"
DEFAULT_SORT = "date"
DEFAULT_PERIOD = "24h"
# "For review": what nobody has looked at yet, newest first. An issue that
# waited a month without a single event has gone quiet by itself.
REVIEW_QUERY = "is:unresolved is:for_review"
REVIEW_SORT = "inbox"
REVIEW_PERIOD = "30d"
# Rows per page: a screen of dense rows.
PAGE_SIZE = 25
# Cursors are short ("n:" and a few integers); anything longer is junk.
MAX_CURSOR_CHARS = 100


@dataclass(frozen=True)
class Period:
    """A list period: how far back counts go, and its sparkline buckets."""

    key: str
    label: str
    length: timedelta
    step: timedelta

    @property
    def buckets(self) -> int:
        return int(self.length / self.step)

    def start(self, now: datetime) -> datetime:
        """The first bucket's start: whole steps back from the current one."""
        current = now.replace(minute=0, second=0, microsecond=0)
        if self.step >= timedelta(days=1):
            current = current.replace(hour=0)
        return current - self.step * (self.buckets - 1)


PERIODS = {
    "24h": Period("24h", "24 hours", timedelta(hours=24), timedelta(hours=1)),
    "14d": Period("14d", "14 days", timedelta(days=14), timedelta(days=1)),
    "30d": Period("30d", "30 days", timedelta(days=30), timedelta(days=1)),
}
SORT_LABELS = {
    "date": "Last seen",
    "new": "First seen",
    "freq": "Events",
    "user": "Users",
    "priority": "Priority",
    "inbox": "Date added",
}


@dataclass(frozen=True)
class ListState:
    """What the list shows; every field round-trips through the URL."""

    query: str = DEFAULT_QUERY
    sort: str = DEFAULT_SORT
    ascending: bool = False
    period: str = DEFAULT_PERIOD
    cursor: str = ""
    # The organization-wide list narrowed to one project (its slug).
    project: str = ""

    @classmethod
    def from_params(cls, params: QueryDict) -> ListState:
        """Read the state from a request's GET (or POST) parameters."""
        sort = params.get("sort", DEFAULT_SORT)
        period = params.get("period", DEFAULT_PERIOD)
        cursor = params.get("cursor", "")
        return cls(
            query=params.get("query", DEFAULT_QUERY),
            sort=sort if sort in SORTS else DEFAULT_SORT,
            ascending=params.get("dir") == "asc",
            period=period if period in PERIODS else DEFAULT_PERIOD,
            cursor=cursor if len(cursor) <= MAX_CURSOR_CHARS else "",
            project=params.get("project", "")[:50],
        )

    def querystring(self, **changes: object) -> str:
        """Return "?..." for this state with ``changes``; a change of query,
        sort, direction or period starts again at the first page."""
        if changes and "cursor" not in changes:
            changes["cursor"] = ""
        state = replace(self, **changes)
        params = []
        if state.query != DEFAULT_QUERY:
            params.append(("query", state.query))
        if state.sort != DEFAULT_SORT:
            params.append(("sort", state.sort))
        if state.ascending:
            params.append(("dir", "asc"))
        if state.period != DEFAULT_PERIOD:
            params.append(("period", state.period))
        if state.project:
            params.append(("project", state.project))
        if state.cursor:
            params.append(("cursor", state.cursor))
        return "?" + urlencode(params) if params else "?"

    def sort_querystring(self, sort: str) -> str:
        """Link of a column header: sort by it, or flip the direction when
        it is already the sort."""
        if sort == self.sort:
            return self.querystring(ascending=not self.ascending)
        return self.querystring(sort=sort, ascending=False)


@dataclass
class Row:
    """One issue of the list with its figures for the period."""

    issue: Issue
    events: int
    users: int
    sparkline: SafeString
    environments: list[str] = field(default_factory=list)
    tickets: list[ExternalIssueLink] = field(default_factory=list)

    @property
    def badges(self) -> list[str]:
        badges = []
        if self.issue.substatus == Substatus.NEW:
            badges.append("new")
        if self.issue.is_regressed or self.issue.substatus == Substatus.REGRESSED:
            badges.append("regressed")
        if self.issue.substatus == Substatus.ESCALATING:
            badges.append("escalating")
        return badges


def matching_issues(
    organization: Organization,
    project: Project | None,
    state: ListState,
    *,
    user: object,
    now: datetime,
) -> QuerySet[Issue]:
    """Return the issues of the project (or of the whole organization) that
    match the state's query and were seen within its period.

    Raises SearchError for a bad query.
    """
    terms = parse_query(state.query)
    issues = Issue.objects.all()
    if project is not None:
        issues = issues.filter(project=project)
    else:
        issues = issues.filter(project__organization=organization)
    issues = issues.filter(last_seen__gte=now - PERIODS[state.period].length)
    return filter_issues(issues, terms, user=user, now=now)


def issue_page(issues: QuerySet[Issue], state: ListState) -> Page:
    """Return the state's page of ``issues``, with the rows' relations."""
    issues = issues.select_related("project", "assignee", "assignee_team")
    return page_issues(
        issues, state.sort, state.ascending, state.cursor or None, PAGE_SIZE
    )


def issue_rows(issues: list[Issue], period_key: str, now: datetime) -> list[Row]:
    """Return the rows for ``issues`` with counts, users and a sparkline of
    the period, and the environments each was seen in.

    Four queries, each bounded by the page's issue ids.
    """
    period = PERIODS[period_key]
    start = period.start(now)
    ids = [issue.pk for issue in issues]
    if period.step >= timedelta(days=1):
        buckets = counts.daily_totals(ids, start.date())
    else:
        buckets = counts.hourly_totals(ids, start)
    users = dict(
        IssueUser.objects.filter(issue_id__in=ids, last_seen__gte=now - period.length)
        .values("issue_id")
        .annotate(n=Count("id"))
        .values_list("issue_id", "n")
    )
    environments: dict[int, list[str]] = {pk: [] for pk in ids}
    for issue_id, value in (
        TagValue.objects.filter(issue_id__in=ids, key="environment")
        .order_by("issue_id", "-last_seen")
        .values_list("issue_id", "value")
    ):
        environments[issue_id].append(value)
    tickets: dict[int, list[ExternalIssueLink]] = {pk: [] for pk in ids}
    for link in ExternalIssueLink.objects.filter(issue_id__in=ids).order_by("pk"):
        tickets[link.issue_id].append(link)
    rows = []
    for issue in issues:
        series = charts.bucket_counts(
            buckets[issue.pk], start, period.step, period.buckets
        )
        total = sum(series)
        rows.append(
            Row(
                issue=issue,
                events=total,
                users=users.get(issue.pk, 0),
                sparkline=charts.sparkline(
                    series, f"{total} events in the last {period.label}"
                ),
                environments=environments[issue.pk],
                tickets=tickets[issue.pk],
            )
        )
    return rows


def visible_saved_searches(
    organization: Organization, project: Project | None, user: object
) -> QuerySet:
    """The user's own saved searches and those shared in the organization,
    for this project or for every project."""
    from fixtrail.issues.models import SavedSearch

    scope = Q(project__isnull=True)
    if project is not None:
        scope |= Q(project=project)
    return (
        SavedSearch.objects.filter(organization=organization)
        .filter(Q(owner=user) | Q(is_shared=True))
        .filter(scope)
        .select_related("owner")
        .order_by("name", "pk")
    )


@dataclass(frozen=True)
class Link:
    """A link of the list's controls, ready for the template."""

    label: str
    querystring: str
    active: bool = False
    ascending: bool = False


def sort_links(state: ListState) -> list[Link]:
    """Column headers and sort menu: each sorts by its column, or flips the
    direction of the current sort."""
    return [
        Link(label, state.sort_querystring(key), key == state.sort, state.ascending)
        for key, label in SORT_LABELS.items()
    ]


def period_links(state: ListState) -> list[Link]:
    return [
        Link(period.label, state.querystring(period=key), key == state.period)
        for key, period in PERIODS.items()
    ]


def page_links(state: ListState, page: Page) -> tuple[str | None, str | None]:
    """Return the query strings of the previous and next pages (or None)."""
    prev = state.querystring(cursor=page.prev_cursor) if page.prev_cursor else None
    following = state.querystring(cursor=page.next_cursor) if page.next_cursor else None
    return prev, following


def waiting_for_review(
    organization: Organization, now: datetime, project: Project | None = None
) -> dict[int, int]:
    """Return, per project id, how many issues wait in the review inbox: the
    count behind the "For review" tab (same query, same period). One query."""
    issues = Issue.objects.filter(
        project__organization=organization,
        status=Status.UNRESOLVED,
        last_seen__gte=now - PERIODS[REVIEW_PERIOD].length,
    ).exclude(inbox_reason=InboxReason.NONE)
    if project is not None:
        issues = issues.filter(project=project)
    return dict(
        issues.values("project_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("project_id", "n")
    )


def review_tabs(state: ListState, waiting: int) -> list[Link]:
    """The list's two views: every unresolved issue, and those for review."""
    reviewing = state.query.strip() == REVIEW_QUERY
    return [
        Link(
            "Unresolved",
            ListState().querystring(),
            state.query.strip() == DEFAULT_QUERY,
        ),
        Link(
            f"For review ({waiting})",
            ListState(
                query=REVIEW_QUERY, sort=REVIEW_SORT, period=REVIEW_PERIOD
            ).querystring(),
            reviewing,
        ),
    ]
