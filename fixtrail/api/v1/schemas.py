"""Typed request and answer bodies of ``/api/v1/``; the OpenAPI schema and
the docs at ``/api/docs`` are generated from these."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from fixtrail.issues.forms import ACTION_CHOICES, RESOLVE_CHOICES

ActionName = Literal[tuple(name for name, _ in ACTION_CHOICES)]  # type: ignore[valid-type]
ResolveHow = Literal[tuple(name for name, _ in RESOLVE_CHOICES)]  # type: ignore[valid-type]

# Request lists are bounded like the UI's: a thousand ticked issues.
MAX_IDS = 1000


class Detail(Schema):
    detail: str = Field(description="What went wrong, for people.")


class OrganizationOut(Schema):
    id: int
    slug: str
    name: str
    created_at: dt.datetime
    role: str = Field(
        description="The token user's role: owner, admin, member or viewer."
    )


class MemberOut(Schema):
    user_id: int
    email: str
    name: str
    role: str
    joined_at: dt.datetime


class ProjectSettings(Schema):
    name: str
    platform: str
    allowed_origins: str
    rate_limit_per_minute: int
    quota_per_month: int
    scrub_data: bool
    scrub_fields: str
    scrub_ip_addresses: bool
    filter_localhost: bool
    filter_browser_extensions: bool
    filter_web_crawlers: bool
    filter_error_messages: str
    filter_releases: str
    retention_days: int
    max_events_stored: int


class ProjectSettingsPatch(Schema):
    """Only the fields sent change; the rest keep their values."""

    name: str | None = None
    platform: str | None = None
    allowed_origins: str | None = None
    rate_limit_per_minute: int | None = None
    quota_per_month: int | None = None
    scrub_data: bool | None = None
    scrub_fields: str | None = None
    scrub_ip_addresses: bool | None = None
    filter_localhost: bool | None = None
    filter_browser_extensions: bool | None = None
    filter_web_crawlers: bool | None = None
    filter_error_messages: str | None = None
    filter_releases: str | None = None
    retention_days: int | None = None
    max_events_stored: int | None = None


class ProjectOut(Schema):
    id: int
    organization: str = Field(description="The organization's slug.")
    slug: str
    name: str
    platform: str
    created_at: dt.datetime
    dsn: str | None = Field(description="The first active key's DSN.")


class ProjectDetailOut(ProjectOut):
    settings: ProjectSettings


class ProjectCreateIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    platform: str = "python"


class KeyOut(Schema):
    id: int
    label: str
    public_key: str
    secret_key: str
    dsn: str
    is_active: bool
    rate_limit_per_minute: int
    created_at: dt.datetime


class KeyCreateIn(Schema):
    label: str = Field("Key", min_length=1, max_length=64)


class KeyPatch(Schema):
    label: str | None = Field(None, min_length=1, max_length=64)
    is_active: bool | None = None
    rate_limit_per_minute: int | None = Field(None, ge=0, le=2_000_000_000)


class UserRef(Schema):
    id: int
    email: str
    name: str


class TeamRef(Schema):
    id: int
    slug: str
    name: str


class ProjectRef(Schema):
    id: int
    slug: str
    name: str


class IssueOut(Schema):
    id: int
    short_id: str = Field(description="As shown in the UI, e.g. BACKEND-1A.")
    url: str
    project: ProjectRef
    title: str
    culprit: str
    type: str
    value: str
    level: str
    platform: str
    status: str
    substatus: str
    priority: int = Field(description="25 low, 50 medium, 75 high.")
    is_regressed: bool
    first_seen: dt.datetime
    last_seen: dt.datetime
    times_seen: int
    user_count: int
    first_release: str
    last_release: str
    assignee: UserRef | None
    assignee_team: TeamRef | None
    resolved_at: dt.datetime | None
    resolved_in_release: str
    resolved_in_next_release: bool
    resolved_in_commit: str
    ignored_at: dt.datetime | None
    ignore_until: dt.datetime | None
    ignore_count: int | None
    ignore_window: int | None
    ignore_user_count: int | None
    ignore_user_window: int | None
    inbox_reason: str = Field(
        description="Why it waits for review (new, regression, escalating, "
        'manual); "" once reviewed.'
    )
    inbox_at: dt.datetime = Field(
        description="When it (last) entered the review inbox."
    )


class IssueRow(IssueOut):
    period_events: int = Field(description="Events within the list's period.")
    period_users: int = Field(description="Users affected within the period.")
    environments: list[str]


class IssuePage(Schema):
    items: list[IssueRow]
    next_cursor: str | None
    prev_cursor: str | None


class ActivityOut(Schema):
    id: int
    kind: str
    user: UserRef | None
    data: dict[str, Any]
    created_at: dt.datetime


class TagValueOut(Schema):
    value: str
    count: int
    first_seen: dt.datetime
    last_seen: dt.datetime


class TagOut(Schema):
    key: str
    total: int
    values: list[TagValueOut]


class LinkOut(Schema):
    provider: str
    external_id: str
    url: str
    created_at: dt.datetime


class IssueDetailOut(IssueOut):
    metadata: dict[str, Any]
    is_bookmarked: bool
    activity: list[ActivityOut]
    tags: list[TagOut]
    links: list[LinkOut]


class EventSummaryOut(Schema):
    event_id: str
    timestamp: dt.datetime
    title: str
    level: str
    release: str
    environment: str
    user: str = Field(description="The user identity digest counted, e.g. id:42.")


class EventPage(Schema):
    items: list[EventSummaryOut]
    next_cursor: str | None
    prev_cursor: str | None


class EventOut(EventSummaryOut):
    issue_id: int
    project_id: int
    received_at: dt.datetime
    size: int
    older_event_id: str | None
    newer_event_id: str | None
    data: dict[str, Any] = Field(description="The stored (normalized) event.")


class ActionIn(Schema):
    """One triage action, with the fields it uses (as the issue page's form)."""

    action: ActionName
    how: ResolveHow | None = Field(None, description="resolve: when it is fixed.")
    release: str = Field("", max_length=250, description="resolve in_release.")
    commit: str = Field("", max_length=64, description="resolve in_commit.")
    ignore_minutes: int | None = Field(None, description="ignore: for this long.")
    ignore_count: int | None = Field(None, description="ignore: until N more events.")
    ignore_window: int | None = Field(None, description="...within this many minutes.")
    ignore_user_count: int | None = Field(
        None, description="ignore: until N more users."
    )
    ignore_user_window: int | None = Field(
        None, description="...within this many minutes."
    )
    assignee: str = Field(
        "",
        max_length=40,
        description='assign: "user:<id>", "team:<id>", or "" to unassign.',
    )
    priority: int | None = Field(None, description="priority: 25, 50 or 75.")
    merge_with: list[int] = Field(
        [], max_length=MAX_IDS, description="merge: ids of the project's other issues."
    )


class BulkActionIn(ActionIn):
    """An action on many issues: the ``ids`` given, or every issue matching
    ``query`` (and seen within ``period``) when ``all_matching`` is true."""

    ids: list[int] = Field([], max_length=MAX_IDS)
    all_matching: bool = False
    query: str = Field("is:unresolved", max_length=1000)
    period: Literal["24h", "14d", "30d"] = "24h"
    project: str = Field("", max_length=50, description="Limit to one project (slug).")


class ActionOut(Schema):
    message: str
    issue: IssueOut | None = Field(
        description="The issue afterwards (the survivor of a merge); null once deleted."
    )


class CommentIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)


class SavedSearchOut(Schema):
    id: int
    name: str
    query: str
    sort: str
    is_shared: bool
    project: str | None = Field(description="The project's slug, or null for all.")
    owner: UserRef


class SavedSearchIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    query: str = Field("", max_length=1000)
    sort: Literal["date", "new", "freq", "user", "priority", "inbox"] = "date"
    is_shared: bool = False
    project: str = Field("", max_length=50)


class TokenOut(Schema):
    id: int
    name: str
    token_start: str
    scopes: list[str]
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class TokenCreateIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=20)


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself; shown only in this answer.")
