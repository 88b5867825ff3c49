"""Issue owners: digest records the owner of a new issue from the project's
rules, auto-assigns it, the issue page shows the rule, search finds it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fixtrail.accounts.models import Team
from fixtrail.issues.models import Activity, Issue, IssueOwner
from fixtrail.projects.models import ProjectOwnership
from fixtrail.projects.owners import save_ownership
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_issue
from tests.digest.queueing import T0, digest_queued, python_error, queue_payloads

OWNERSHIP = "/api/0/projects/acme/backend/ownership/"
PAGE = "/organizations/acme/projects/backend/ownership/"


@pytest.fixture
def payments(org, bob):
    team = Team.objects.create(organization=org, slug="payments", name="Payments")
    team.members.add(bob)
    return team


def _digest(project, **event):
    queue_payloads(project, [python_error(**event)])
    digest_queued()
    return Issue.objects.order_by("-pk").first()


def test_it_assigns_a_new_issue_to_the_owner_of_its_crashing_frame(project, payments):
    save_ownership(project, now=T0, raw="path:shop/* #payments")
    issue = _digest(project)
    owner = IssueOwner.objects.get(issue=issue)
    assert issue.assignee_team == payments
    assert (owner.team, owner.auto_assigned) == (payments, True)
    assert owner.rule == "ownership rules line 1: path:shop/* #payments"
    activity = Activity.objects.get(issue=issue, kind="assigned")
    assert activity.user is None
    assert activity.data["rule"] == owner.rule


def test_it_assigns_to_a_person_named_by_codeowners_handle(project, bob):
    save_ownership(project, now=T0, codeowners="/shop/ @bob\n")
    issue = _digest(project)
    assert issue.assignee == bob
    assert IssueOwner.objects.get(issue=issue).rule == (
        "CODEOWNERS line 1: codeowners:/shop/ @bob"
    )


def test_it_records_the_owner_without_assigning_when_turned_off(project, payments):
    save_ownership(
        project, now=T0, raw="module:shop.* #payments", auto_assignment="off"
    )
    issue = _digest(project)
    owner = IssueOwner.objects.get(issue=issue)
    assert (issue.assignee, issue.assignee_team) == (None, None)
    assert (owner.team, owner.auto_assigned) == (payments, False)


def test_it_leaves_issues_alone_without_rules(project):
    issue = _digest(project)
    assert issue.assignee_team is None
    assert not IssueOwner.objects.exists()


def test_it_leaves_issues_no_rule_matches(project, payments):
    save_ownership(project, now=T0, raw="module:billing.* #payments")
    issue = _digest(project)
    assert issue.assignee_team is None
    assert not IssueOwner.objects.exists()


def test_it_shows_the_owner_and_matched_rule_on_the_issue_page(
    client, bob, project, payments
):
    save_ownership(project, now=T0, raw="path:shop/cart.py #payments")
    issue = _digest(project)
    client.force_login(bob)
    body = client.get(f"/issues/{issue.pk}/").content.decode()
    assert "<strong data-owner>#payments</strong>" in body
    assert (
        "<code data-owner-rule>ownership rules line 1: path:shop/cart.py #payments"
        in body
    )
    # The activity log says the rule assigned it.
    assert "to #payments by ownership rules line 1: path:shop/cart.py #payments" in (
        body
    )


def test_it_searches_owner_me_and_owner_team(client, bob, alice, project, payments):
    mine = make_issue(project, title="owned by my team")
    alices = make_issue(project, title="owned by alice")
    make_issue(project, title="unowned")
    IssueOwner.objects.create(issue=mine, team=payments, rule="r")
    IssueOwner.objects.create(issue=alices, user=alice, rule="r")
    client.force_login(bob)

    def titles(query: str) -> set[str]:
        page = client.get("/organizations/acme/projects/backend/", {"query": query})
        body = page.content.decode()
        return {
            t
            for t in ("owned by my team", "owned by alice", "unowned")
            if f">{t}</a>" in body
        }

    assert titles("owner:me") == {"owned by my team"}
    assert titles("owner:#payments") == {"owned by my team"}
    assert titles("owner:alice@example.org") == {"owned by alice"}
    assert titles("owner:none") == {"unowned"}
    assert titles("!owner:me") == {"owned by alice", "unowned"}


# -- the settings page ---------------------------------------------------------


def test_it_saves_rules_and_codeowners_from_the_page(client, alice, project, payments):
    client.force_login(alice)
    response = client.post(
        PAGE,
        {
            "raw": "path:src/* #payments",
            "codeowners": "*.js @acme/payments @ghost",
            "auto_assignment": "issue_owner",
            "fallthrough": "on",
        },
        follow=True,
    )
    ownership = ProjectOwnership.objects.get(project=project)
    body = response.content.decode()
    assert response.status_code == 200
    assert ownership.raw == "path:src/* #payments"
    assert ownership.codeowners_source == "paste"
    # A CODEOWNERS handle nobody here has is a warning, not a refusal.
    assert "CODEOWNERS line 1: unknown owner @ghost: not a member of acme" in body


def test_it_rejects_a_bad_rule_on_the_page_and_keeps_the_text(
    client, alice, project, payments
):
    save_ownership(project, now=T0, raw="path:old/* #payments")
    client.force_login(alice)
    response = client.post(
        PAGE,
        {
            "raw": "path:src/* #payments\nmodule:x.* #paymnts",
            "codeowners": "",
            "auto_assignment": "issue_owner",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "line 2: unknown owner #paymnts: no team of that name in acme" in body
    assert "module:x.* #paymnts</textarea>" in body
    assert ProjectOwnership.objects.get(project=project).raw == "path:old/* #payments"


def test_it_refuses_the_page_to_a_member(client, bob, project):
    client.force_login(bob)
    assert client.get(PAGE).status_code == 200
    response = client.post(PAGE, {"raw": "", "auto_assignment": "off"})
    assert response.status_code == 403
    assert not ProjectOwnership.objects.exists()


def test_it_hides_the_page_from_outsiders(client, charlie, charlies_org, project):
    client.force_login(charlie)
    assert client.get(PAGE).status_code == 404


# -- Sentry's API ----------------------------------------------------------------


def test_it_answers_sentrys_ownership_shape(alice, project, payments):
    save_ownership(project, now=T0, raw="path:src/* #payments alice@example.org")
    response = ApiClient(issue_token(alice)).get(OWNERSHIP)
    assert response.status_code == 200
    assert response.json() == {
        "raw": "path:src/* #payments alice@example.org",
        "fallthrough": True,
        "dateCreated": "2026-03-02T12:00:00.000000Z",
        "lastUpdated": "2026-03-02T12:00:00.000000Z",
        "isActive": True,
        "autoAssignment": "Auto Assign to Issue Owner",
        "codeownersAutoSync": False,
        "schema": {
            "$version": 1,
            "rules": [
                {
                    "matcher": {"type": "path", "pattern": "src/*"},
                    "owners": [
                        {"type": "team", "identifier": "payments", "id": payments.pk},
                        {
                            "type": "user",
                            "identifier": "alice@example.org",
                            "id": alice.pk,
                        },
                    ],
                }
            ],
        },
    }


def test_it_updates_ownership_through_sentrys_api(alice, project, payments):
    response = ApiClient(issue_token(alice)).put_json(
        OWNERSHIP,
        {
            "raw": "module:shop.* #payments",
            "fallthrough": False,
            "autoAssignment": "Turn off Auto-Assignment",
        },
    )
    ownership = ProjectOwnership.objects.get(project=project)
    assert response.status_code == 200
    assert response.json()["autoAssignment"] == "Turn off Auto-Assignment"
    assert (ownership.raw, ownership.fallthrough, ownership.auto_assignment) == (
        "module:shop.* #payments",
        False,
        "off",
    )


def test_it_rejects_a_bad_rule_through_sentrys_api(alice, project):
    response = ApiClient(issue_token(alice)).put_json(
        OWNERSHIP, {"raw": "path:src/*\n"}
    )
    assert response.status_code == 400
    assert response.json() == {"raw": ["line 1: no owners for path:src/*"]}
    assert not ProjectOwnership.objects.exists()


def test_it_refuses_sentrys_ownership_update_to_a_member(bob, project):
    response = ApiClient(issue_token(bob)).put_json(OWNERSHIP, {"raw": ""})
    assert response.status_code == 403


def test_it_imports_codeowners_through_the_v1_api(alice, project, payments):
    response = ApiClient(issue_token(alice)).put_json(
        "/api/v1/projects/acme/backend/ownership",
        {"codeowners": "/src/ @acme/payments\n", "codeowners_source": "gitlab:shop"},
    )
    assert response.status_code == 200
    assert response.json()["warnings"] == []
    ownership = ProjectOwnership.objects.get(project=project)
    assert (ownership.codeowners, ownership.codeowners_source) == (
        "/src/ @acme/payments\n",
        "gitlab:shop",
    )


def test_it_rejects_a_bad_codeowners_file_through_the_v1_api(alice, project):
    response = ApiClient(issue_token(alice)).put_json(
        "/api/v1/projects/acme/backend/ownership", {"codeowners": "!src/ @acme/x"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "CODEOWNERS line 1: CODEOWNERS does not support negated patterns (!)"
    )


# -- the command line --------------------------------------------------------------


def test_it_loads_codeowners_from_the_command_line(tmp_path, project, payments, capsys):
    path = tmp_path / "CODEOWNERS"
    path.write_text("*.py @acme/payments\n")
    call_command("ownership", "codeowners", "acme", "backend", str(path))
    ownership = ProjectOwnership.objects.get(project=project)
    assert ownership.codeowners == "*.py @acme/payments\n"
    assert ownership.codeowners_source == "cli"
    assert '"codeowners": "*.py @acme/payments\\n"' in capsys.readouterr().out


def test_it_refuses_bad_rules_on_the_command_line(tmp_path, project):
    path = tmp_path / "rules"
    path.write_text("path:src/* nobody\n")
    with pytest.raises(CommandError, match="line 1: 'nobody' is not an owner"):
        call_command("ownership", "set", "acme", "backend", "--rules", str(path))
    assert not ProjectOwnership.objects.exists()


def test_it_keeps_the_rules_when_unrelated_fields_change(project, payments):
    save_ownership(project, now=T0, raw="path:src/* #payments")
    save_ownership(project, now=T0 + dt.timedelta(1), auto_assignment="off")
    ownership = ProjectOwnership.objects.get(project=project)
    assert (ownership.raw, ownership.auto_assignment) == ("path:src/* #payments", "off")
