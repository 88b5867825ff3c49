"""``fixtrail import sentry`` against a second, real Fixtrail (plus the
stand-in for teams and members): the organization arrives, DSNs keep
working on the new host, and a second run changes nothing."""

from __future__ import annotations

import io
import json

import pytest
import sentry_sdk
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection

from fixtrail.accounts.models import Membership, Organization, Team, User
from fixtrail.adoption.models import ImportedIssue, ImportedKey
from fixtrail.events.models import Event
from fixtrail.issues.models import Issue
from fixtrail.projects.models import Project, ProjectKey, ProjectOwnership
from tests.adoption.conftest import OWNERSHIP_RULES, WEB_PROJECT_ID, send_error
from tests.builders import make_org, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# The SDK flushes its background worker within this many seconds at most.
FLUSH_TIMEOUT_SECONDS = 10.0

EXPECTED = {
    "org": "acme",
    "teams": 2,
    "projects": 2,
    "keys": 3,
    "members": 2,
    "rules": 2,
    "issues": 0,
    "skipped": [],
}


def _import(source, *extra: str) -> dict:
    out = io.StringIO()
    call_command(
        "import", "sentry", "--url", source.url, "--token", source.token,
        "--org", source.org, *extra, stdout=out,
    )  # fmt: skip
    return json.loads(out.getvalue())


def _take_project_id(pk: int) -> Project:
    """Put a project of another organization on id ``pk`` here."""
    other = make_org("other", owner=make_user("owner@example.org"))
    project = Project.objects.create(pk=pk, organization=other, slug="taken")
    # An explicit id leaves PostgreSQL's sequence behind; move it on.
    for sql in connection.ops.sequence_reset_sql(no_style(), [Project]):
        with connection.cursor() as cursor:
            cursor.execute(sql)
    return project


def _snapshot() -> dict:
    return {
        "orgs": list(Organization.objects.values_list("slug", "name")),
        "projects": sorted(Project.objects.values_list("pk", "slug", "platform")),
        "keys": sorted(
            ProjectKey.objects.values_list(
                "public_key", "secret_key", "project_id", "label", "is_active"
            )
        ),
        "imported": sorted(
            ImportedKey.objects.values_list("key__public_key", "source_project_id")
        ),
        "teams": sorted(Team.objects.values_list("slug", "projects__slug")),
        "team_members": sorted(Team.objects.values_list("slug", "members__email")),
        "members": sorted(
            Membership.objects.values_list("organization__slug", "user__email", "role")
        ),
        "users": User.objects.count(),
        "ownership": list(
            ProjectOwnership.objects.values_list("project__slug", "raw", "last_updated")
        ),
    }


def test_it_imports_the_organization(source):
    shop_elsewhere = _take_project_id(source.project_id)

    assert _import(source) == EXPECTED

    org = Organization.objects.get(slug="acme")
    shop = Project.objects.get(organization=org, slug="shop")
    web = Project.objects.get(organization=org, slug="web")
    # The source's id of "shop" was taken here; "web"'s was free and kept.
    assert shop.pk != shop_elsewhere.pk
    assert web.pk == WEB_PROJECT_ID
    assert web.platform == "javascript"
    [shop_key] = shop.keys.all()
    assert shop_key.public_key == source.dsn.split("://")[1].split("@")[0]
    assert ImportedKey.objects.get(key=shop_key).source_project_id == 1
    assert sorted(web.keys.values_list("label", "is_active")) == [
        ("Browser", False),
        ("Default", True),
    ]
    assert not ImportedKey.objects.filter(key__project=web).exists()
    assert sorted(
        Team.objects.filter(organization=org).values_list("slug", "projects__slug")
    ) == [("backend", "shop"), ("frontend", "web")]
    assert sorted(org.memberships.values_list("user__email", "role")) == [
        ("alice@example.org", "owner"),
        ("dana@example.org", "admin"),
    ]
    dana = User.objects.get(email="dana@example.org")
    assert sorted(dana.teams.values_list("slug", flat=True)) == ["backend", "frontend"]
    # No password is copied: both must choose one through the invitation.
    assert dana.has_usable_password() is False
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.org",
        "dana@example.org",
    ]
    assert ProjectOwnership.objects.get(project=shop).raw == OWNERSHIP_RULES


def test_it_takes_events_sent_with_the_old_dsn_to_the_new_host(source, live_server):
    _take_project_id(source.project_id)
    _import(source)
    new_host = live_server.url.split("://", 1)[1]
    old_host = source.dsn.split("@", 1)[1].split("/", 1)[0]
    # Only the host changes: same key, same (old) project id in the path.
    sentry_sdk.init(
        dsn=source.dsn.replace(old_host, new_host),
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    try:
        event_id = sentry_sdk.capture_message("checkout is slow")
        sentry_sdk.get_client().flush(timeout=FLUSH_TIMEOUT_SECONDS)
    finally:
        sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_SECONDS)
        sentry_sdk.init()

    call_command("digest", stdout=io.StringIO())

    event = Event.objects.select_related("issue__project").get(event_id=event_id)
    assert event.issue.project.slug == "shop"
    assert event.issue.project.organization.slug == "acme"


def test_it_changes_nothing_on_a_second_import(source):
    first = _import(source)
    before = _snapshot()
    mail.outbox.clear()

    second = _import(source)

    assert second == first == EXPECTED
    assert _snapshot() == before
    # Invitations go out once, not on every import.
    assert mail.outbox == []


def test_it_writes_nothing_on_a_dry_run(source):
    before = _snapshot()

    dry = _import(source, "--dry-run")

    assert dry == EXPECTED
    assert _snapshot() == before
    assert not Organization.objects.filter(slug="acme").exists()
    assert mail.outbox == []


def test_it_retries_when_rate_limited(source):
    source.stand_in.fail_next = 2

    assert _import(source) == EXPECTED

    statuses = [status for _, status in source.stand_in.requests]
    assert statuses[:3] == [429, 429, 200]
    assert Project.objects.filter(organization__slug="acme").count() == 2


def test_it_refuses_a_wrong_token_and_writes_nothing(source):
    source.token = "sntrys_wrong"

    with pytest.raises(CommandError, match=r"the token was refused \(401\)"):
        _import(source)

    assert not Organization.objects.filter(slug="acme").exists()


def test_it_imports_open_issues_that_new_events_join(source, live_server):
    summary = _import(source, "--issues")

    assert summary == EXPECTED | {
        "issues": 1,
        "matched_by_hash": 0,
        "matched_by_title": 1,
    }
    [issue] = Issue.objects.filter(project__slug="shop")
    # The short id (SHOP-1) keeps working in links and tickets.
    assert issue.short_id_display == "SHOP-1"
    assert issue.title == "KeyError: 'total'"
    assert issue.culprit.endswith("checkout")
    assert issue.times_seen == 1
    assert issue.status == "unresolved"
    new_host = live_server.url.split("://", 1)[1]
    old_host = source.dsn.split("@", 1)[1].split("/", 1)[0]

    event_id = send_error(source.dsn.replace(old_host, new_host))
    call_command("digest", stdout=io.StringIO())

    event = Event.objects.get(event_id=event_id)
    assert event.issue_id == issue.pk
    issue.refresh_from_db()
    assert issue.times_seen == 2
    assert Issue.objects.filter(project__slug="shop").count() == 1
    assert ImportedIssue.objects.get(issue=issue).awaiting_match is False


def test_it_imports_issues_once(source):
    first = _import(source, "--issues")

    second = _import(source, "--issues")

    assert second == first
    assert Issue.objects.count() == 1
    assert ImportedIssue.objects.count() == 1
