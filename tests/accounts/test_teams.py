"""The teams page: create, join, leave, give projects, delete."""

from __future__ import annotations

import pytest

from fixtrail.accounts.models import Team
from fixtrail.accounts.teams import create_team, give_project

TEAMS = "/organizations/acme/teams/"


@pytest.fixture
def ops(org):
    return create_team(org, "Ops")


def test_it_creates_a_team_from_its_name(alice_client, org):
    response = alice_client.post(TEAMS, {"name": "Mobile Apps"})
    assert response.status_code == 302
    team = Team.objects.get(organization=org)
    assert (team.slug, team.name) == ("mobile-apps", "Mobile Apps")
    page = alice_client.get(TEAMS).content.decode()
    assert "Team #mobile-apps created." in page
    assert "Mobile Apps" in page


def test_it_explains_a_taken_name_beside_the_field(alice_client, ops):
    response = alice_client.post(TEAMS, {"name": "ops"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "A team with the slug “ops” already exists." in body
    assert Team.objects.count() == 1


def test_it_labels_the_new_team_field(alice_client, org):
    body = alice_client.get(TEAMS).content.decode()
    assert '<label for="id_name">Team name:</label>' in body
    assert 'aria-describedby="id_name_helptext"' in body


def test_it_lets_a_member_join_and_leave(client, bob, ops):
    client.force_login(bob)
    url = f"{TEAMS}ops/"
    joined = client.post(url, {"action": "join"})
    assert joined.status_code == 302
    assert list(ops.members.all()) == [bob]
    client.post(url, {"action": "leave"})
    assert ops.members.exists() is False


def test_it_refuses_a_viewer_joining(client, vera, ops):
    client.force_login(vera)
    response = client.post(f"{TEAMS}ops/", {"action": "join"})
    assert response.status_code == 403
    assert ops.members.exists() is False


@pytest.mark.parametrize("action", ["give_project", "delete"])
def test_it_refuses_a_member_managing_teams(client, bob, ops, project, action):
    client.force_login(bob)
    response = client.post(f"{TEAMS}ops/", {"action": action, "project": "backend"})
    assert response.status_code == 403
    assert Team.objects.filter(pk=ops.pk).exists() is True
    assert ops.projects.exists() is False


def test_it_refuses_a_member_creating_a_team(client, bob, org):
    client.force_login(bob)
    response = client.post(TEAMS, {"name": "Mine"})
    assert response.status_code == 403
    assert Team.objects.exists() is False


def test_it_hides_teams_from_outsiders(client, charlie, ops):
    client.force_login(charlie)
    assert client.get(TEAMS).status_code == 404
    assert client.post(f"{TEAMS}ops/", {"action": "join"}).status_code == 404
    assert ops.members.exists() is False


def test_it_gives_a_project_and_takes_it_back(alice_client, ops, project):
    alice_client.post(f"{TEAMS}ops/", {"action": "give_project", "project": "backend"})
    assert list(ops.projects.all()) == [project]
    page = alice_client.get(TEAMS).content.decode()
    assert 'aria-label="Remove Backend from Ops"' in page
    alice_client.post(f"{TEAMS}ops/", {"action": "take_project", "project": "backend"})
    assert ops.projects.exists() is False


def test_it_refuses_another_organizations_project(alice_client, ops, charlies_project):
    response = alice_client.post(
        f"{TEAMS}ops/", {"action": "give_project", "project": "secret"}
    )
    assert response.status_code == 404
    assert ops.projects.exists() is False


def test_it_deletes_a_team_but_keeps_its_projects(alice_client, ops, project):
    give_project(ops, project)
    response = alice_client.post(f"{TEAMS}ops/", {"action": "delete"})
    assert response.status_code == 302
    assert Team.objects.exists() is False
    project.refresh_from_db()
    assert project.teams.exists() is False


def test_it_refuses_an_unknown_action(alice_client, ops):
    response = alice_client.post(f"{TEAMS}ops/", {"action": "explode"})
    assert response.status_code == 400
    assert Team.objects.filter(pk=ops.pk).exists() is True


def test_it_shows_members_with_their_teams_and_the_roles_explained(
    alice_client, alice, ops
):
    ops.members.add(alice)
    body = alice_client.get("/organizations/acme/members/").content.decode()
    assert "#ops" in body
    assert "<dt>Viewer</dt>" in body
    assert '<label for="id_email">E-mail address:</label>' in body
    assert '<label for="id_role">Role:</label>' in body
