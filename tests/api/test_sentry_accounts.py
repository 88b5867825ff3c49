"""/api/0/ itself, organizations, projects, DSN keys and repositories."""

from __future__ import annotations

from fixtrail.accounts.models import Team
from tests.api.conftest import ApiClient, issue_token
from tests.builders import make_project


def test_it_answers_nulls_without_a_token(client, db):
    response = client.get("/api/0/")
    assert response.status_code == 200
    assert response.json() == {"version": "0", "auth": None, "user": None}


def test_it_tells_who_the_token_belongs_to(alice):
    response = ApiClient(issue_token(alice, ["project:read", "event:read"])).get(
        "/api/0/"
    )
    body = response.json()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert body["version"] == "0"
    assert body["auth"] == {"scopes": ["event:read", "project:read"]}
    assert body["user"]["id"] == str(alice.pk)
    assert body["user"]["email"] == "alice@example.org"
    assert body["user"]["username"] == "alice@example.org"


def test_it_refuses_an_unknown_token_at_the_root(db):
    response = ApiClient("sntryu_" + "1" * 64).get("/api/0/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


def test_it_lists_the_users_organizations(alice_api, org, charlies_org):
    response = alice_api.get("/api/0/organizations/")
    assert response.status_code == 200
    (body,) = response.json()
    assert body == {
        "id": str(org.pk),
        "slug": "acme",
        "name": "Acme",
        "dateCreated": org.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "isEarlyAdopter": False,
        "require2FA": False,
        "requireEmailVerification": False,
        "status": {"id": "active", "name": "active"},
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        "features": [],
        "hasAuthProvider": False,
        "links": {
            "organizationUrl": "http://127.0.0.1:8000",
            "regionUrl": "http://127.0.0.1:8000",
        },
    }
    assert response["Link"].startswith(
        "<http://testserver/api/0/organizations/?&cursor=0:0:1>"
    )


def test_it_shows_one_organization(alice_api, org):
    response = alice_api.get("/api/0/organizations/acme/")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_it_hides_an_organization_from_outsiders(charlie_api, org):
    response = charlie_api.get("/api/0/organizations/acme/")
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_lists_an_organizations_projects(alice_api, org, project):
    team = Team.objects.create(organization=org, slug="core", name="Core")
    project.teams.add(team)
    response = alice_api.get("/api/0/organizations/acme/projects/")
    assert response.status_code == 200
    (body,) = response.json()
    assert (body["id"], body["slug"], body["name"], body["platform"]) == (
        str(project.pk),
        "backend",
        "Backend",
        "python",
    )
    assert body["team"] == {"id": str(team.pk), "slug": "core", "name": "Core"}
    assert body["teams"] == [body["team"]]
    assert body["organization"]["slug"] == "acme"
    assert body["firstEvent"] is None
    assert body["status"] == "active"


def test_it_lists_projects_of_every_organization_of_the_user(
    alice_api, org, project, charlies_project
):
    make_project(org, "frontend")
    response = alice_api.get("/api/0/projects/")
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()] == ["backend", "frontend"]


def test_it_shows_one_project(alice_api, project):
    response = alice_api.get("/api/0/projects/acme/backend/")
    assert response.status_code == 200
    assert response.json()["id"] == str(project.pk)


def test_it_hides_a_project_from_outsiders(charlie_api, project):
    assert charlie_api.get("/api/0/projects/acme/backend/").status_code == 404


def test_it_answers_404_for_an_unknown_project(alice_api, project):
    response = alice_api.get("/api/0/projects/acme/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}


def test_it_lists_a_projects_dsn_keys(alice_api, project, project_key):
    project_key.rate_limit_per_minute = 60
    project_key.save(update_fields=["rate_limit_per_minute"])
    response = alice_api.get("/api/0/projects/acme/backend/keys/")
    assert response.status_code == 200
    (body,) = response.json()
    public = project_key.public_key
    assert body["id"] == public
    assert body["public"] == public
    assert body["secret"] == project_key.secret_key
    assert body["projectId"] == project.pk
    assert body["isActive"] is True
    assert body["rateLimit"] == {"window": 60, "count": 60}
    assert body["dsn"]["public"] == f"http://{public}@127.0.0.1:8000/{project.pk}"
    assert body["dsn"]["secret"] == (
        f"http://{public}:{project_key.secret_key}@127.0.0.1:8000/{project.pk}"
    )
    assert body["dsn"]["security"] == (
        f"http://127.0.0.1:8000/api/{project.pk}/security/?sentry_key={public}"
    )


def test_it_lists_no_repositories(alice_api, org):
    response = alice_api.get("/api/0/organizations/acme/repos/")
    assert response.status_code == 200
    assert response.json() == []
    assert 'rel="next"; results="false"' in response["Link"]


def test_it_answers_unknown_api_paths_in_json(alice_api, db):
    response = alice_api.get("/api/0/no/such/thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "The requested resource does not exist"}
