"""A second, real Fixtrail to import from, with the stand-in in front of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sentry_sdk

from tests.adoption.stand_in import SentryStandIn
from tests.conftest import PASSWORD, REPO_ROOT
from tests.servers import free_port, server_env, start_granian, stop, wait_until_serving

# Each helper process (bootstrap, the set-up script) takes a few seconds.
SUBPROCESS_TIMEOUT_SECONDS = 120
# Its own id, far from the ids the test database hands out, so the import
# can keep it; "shop" keeps bootstrap's id 1, which the tests take first.
WEB_PROJECT_ID = 500
OWNERSHIP_RULES = (
    "# who owns what\npath:src/* alice@example.org\npath:web/* #frontend\n"
)

# Run in the source server's environment after bootstrap: a second project
# with two keys, a team the rules name, and the rules.
_SET_UP_SOURCE = f"""
import django
django.setup()
from django.utils import timezone
from fixtrail.accounts.models import Organization, Team
from fixtrail.projects.models import Project, ProjectKey
from fixtrail.projects.owners import save_ownership

org = Organization.objects.get(slug="acme")
Team.objects.get_or_create(organization=org, slug="frontend", name="Frontend")
web, _ = Project.objects.get_or_create(
    pk={WEB_PROJECT_ID}, organization=org, slug="web", name="Web",
    platform="javascript",
)
ProjectKey.objects.get_or_create(project=web, label="Default")
ProjectKey.objects.get_or_create(project=web, label="Browser", is_active=False)
save_ownership(
    Project.objects.get(slug="shop"), now=timezone.now(), raw={OWNERSHIP_RULES!r}
)
"""

TEAMS = [
    {"id": "11", "slug": "backend", "name": "Backend", "projects": [{"slug": "shop"}]},
    {"id": "12", "slug": "frontend", "name": "Frontend", "projects": [{"slug": "web"}]},
]
MEMBERS = [
    {
        "id": "21",
        "email": "alice@example.org",
        "orgRole": "owner",
        "pending": False,
        "teamRoles": [{"teamSlug": "backend", "role": None}],
    },
    {
        "id": "22",
        "email": "Dana@Example.org",
        "role": "manager",
        "pending": True,
        "teams": ["backend", "frontend"],
    },
]


# The SDK flushes its background worker within this many seconds at most.
FLUSH_TIMEOUT_SECONDS = 10.0


def checkout(cart: dict) -> int:
    """Fail the way the imported issue did: the same title and culprit."""
    return cart["total"]


def send_error(dsn: str) -> str:
    """Send one KeyError from checkout() with the real SDK; return its id."""
    sentry_sdk.init(
        dsn=dsn, default_integrations=False, auto_enabling_integrations=False
    )
    try:
        # Empty scopes: an earlier test's Django request leaves its route
        # as the transaction name, which would become the culprit.
        with sentry_sdk.isolation_scope() as isolation, sentry_sdk.new_scope() as scope:
            isolation.clear()
            scope.clear()
            try:
                checkout({})
            except KeyError:
                event_id = sentry_sdk.capture_exception()
        sentry_sdk.get_client().flush(timeout=FLUSH_TIMEOUT_SECONDS)
    finally:
        sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_SECONDS)
        sentry_sdk.init()
    return event_id


@dataclass
class Source:
    """The source as the importer sees it: a URL, a token, an org."""

    url: str
    token: str
    org: str
    project_id: int
    dsn: str
    stand_in: SentryStandIn


@pytest.fixture(scope="module")
def source_server(tmp_path_factory) -> Iterator[dict]:
    """Start a real Fixtrail, bootstrapped and set up as above."""
    data_dir = tmp_path_factory.mktemp("source-fixtrail")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(data_dir, url)

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args], env=env, cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=SUBPROCESS_TIMEOUT_SECONDS,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    boot = json.loads(
        run("-m", "fixtrail.cli", "bootstrap", "--org", "acme", "--project", "shop",
            "--email", "alice@example.org", "--password", PASSWORD).splitlines()[-1]
    )  # fmt: skip
    run("-c", _SET_UP_SOURCE)
    log_path = data_dir / "granian.log"
    with log_path.open("wb") as log:
        process = start_granian(port, env, log=log)
    try:
        wait_until_serving(port, process, log_path)
        send_error(boot["dsn"])
        run("-m", "fixtrail.cli", "manage", "digest")
        yield {"url": url, **boot}
    finally:
        stop(process)


@pytest.fixture
def source(source_server) -> Iterator[Source]:
    """The stand-in in front of the source server, fresh for each test."""
    lists = {"teams": TEAMS, "members": MEMBERS}
    token = source_server["token"]
    with SentryStandIn(source_server["url"], token, "acme", lists) as stand_in:
        yield Source(
            url=stand_in.url,
            token=token,
            org="acme",
            project_id=source_server["project_id"],
            dsn=source_server["dsn"],
            stand_in=stand_in,
        )
