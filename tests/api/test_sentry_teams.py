"""Teams and members in Sentry's paths and shapes."""

from __future__ import annotations

import pytest

from fixtrail.accounts.models import Team
from fixtrail.accounts.teams import create_team, give_project, join_team
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_project


@pytest.fixture
def backend_team(org, alice, project):
    team = create_team(org, "Backend")
    join_team(team, alice)
    give_project(team, project)
    return team


def test_it_lists_teams_with_their_projects(alice_api, backend_team, project):
    create_team(backend_team.organization, "Web")
    response = alice_api.get("/api/0/organizations/acme/teams/")
    assert response.status_code == 200
    backend, web = response.json()
    assert backend["slug"] == "backend"
    assert backend["name"] == "Backend"
    assert backend["isMember"] is True
    assert backend["memberCount"] == 1
    assert backend["dateCreated"].endswith("Z")
    assert [p["slug"] for p in backend["projects"]] == ["backend"]
    assert backend["projects"][0]["id"] == str(project.pk)
    assert web["slug"] == "web"
    assert web["isMember"] is False
    assert web["projects"] == []


def test_it_creates_a_team(alice_api, org):
    response = alice_api.post_json(
        "/api/0/organizations/acme/teams/", {"name": "Mobile Apps"}
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "mobile-apps"
    team = Team.objects.get(organization=org, slug="mobile-apps")
    assert team.name == "Mobile Apps"


def test_it_refuses_a_taken_team_slug_with_409(alice_api, backend_team):
    response = alice_api.post_json(
        "/api/0/organizations/acme/teams/", {"name": "Other", "slug": "backend"}
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "A team with the slug “backend” already exists."
    }
    assert Team.objects.filter(name="Other").exists() is False


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "Give the team a name or a slug."),
        ({"slug": "12"}, "Enter a slug of lowercase letters"),
        ([1], "The body must be a JSON object."),
    ],
)
def test_it_refuses_a_bad_team(alice_api, org, body, detail):
    response = alice_api.post_json("/api/0/organizations/acme/teams/", body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert Team.objects.exists() is False


def test_it_lets_only_admins_create_teams(bob, org):
    response = ApiClient(issue_token(bob)).post_json(
        "/api/0/organizations/acme/teams/", {"name": "Mine"}
    )
    assert response.status_code == 403
    assert Team.objects.exists() is False


def test_it_hides_teams_from_outsiders(charlie, backend_team):
    api = ApiClient(issue_token(charlie))
    assert api.get("/api/0/organizations/acme/teams/").status_code == 404
    assert api.get("/api/0/teams/acme/backend/").status_code == 404


def test_it_shows_one_team_and_its_projects(alice_api, backend_team):
    team = alice_api.get("/api/0/teams/acme/backend/")
    projects = alice_api.get("/api/0/teams/acme/backend/projects/")
    assert team.status_code == 200
    assert team.json()["organization"]["slug"] == "acme"
    assert [p["slug"] for p in projects.json()] == ["backend"]
    assert alice_api.get("/api/0/teams/acme/nothing/").status_code == 404


def test_it_deletes_a_team_but_not_its_projects(alice_api, backend_team, project):
    response = alice_api.delete("/api/0/teams/acme/backend/")
    assert response.status_code == 204
    assert Team.objects.exists() is False
    project.refresh_from_db()


def test_it_gives_a_project_to_a_team_and_takes_it_back(alice_api, org, project):
    create_team(org, "Ops")
    given = alice_api.post("/api/0/projects/acme/backend/teams/ops/")
    assert given.status_code == 201
    assert given.json()["team"]["slug"] == "ops"
    assert [t["slug"] for t in given.json()["teams"]] == ["ops"]
    shown = alice_api.get("/api/0/projects/acme/backend/")
    assert shown.json()["team"] == {
        "id": str(Team.objects.get(slug="ops").pk),
        "slug": "ops",
        "name": "Ops",
    }
    taken = alice_api.delete("/api/0/projects/acme/backend/teams/ops/")
    assert taken.status_code == 200
    assert taken.json()["teams"] == []
    assert project.teams.exists() is False


def test_it_refuses_a_team_of_another_organization(alice_api, charlies_org, project):
    create_team(charlies_org, "Spies")
    response = alice_api.post("/api/0/projects/acme/backend/teams/spies/")
    assert response.status_code == 404
    assert project.teams.exists() is False


def test_it_lists_members_with_roles_and_teams(alice_api, backend_team):
    response = alice_api.get("/api/0/organizations/acme/members/")
    assert response.status_code == 200
    members = {m["email"]: m for m in response.json()}
    assert list(members) == [
        "alice@example.org",
        "bob@example.org",
        "vera@example.org",
    ]
    alice = members["alice@example.org"]
    assert alice["orgRole"] == "owner"
    assert alice["roleName"] == "Owner"
    assert alice["teams"] == ["backend"]
    assert alice["user"]["email"] == "alice@example.org"
    assert members["vera@example.org"]["role"] == "viewer"
    assert members["bob@example.org"]["teams"] == []


def test_it_needs_the_member_read_scope_for_members(alice, org):
    api = ApiClient(issue_token(alice, ["org:read"]))
    response = api.get("/api/0/organizations/acme/members/")
    assert response.status_code == 403
    assert "member:read" in response.json()["detail"]


def test_it_keeps_other_projects_teams_apart(alice_api, org, backend_team):
    make_project(org, "web")
    response = alice_api.get("/api/0/projects/acme/web/")
    assert response.json()["team"] is None
