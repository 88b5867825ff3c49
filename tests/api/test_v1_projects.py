"""Fixtrail's own API: organizations, members, projects, keys, tokens and
the OpenAPI schema with its docs page."""

from __future__ import annotations

from fixtrail.accounts.models import ApiToken
from fixtrail.projects.models import Project, ProjectKey
from tests.api.conftest import ApiClient, issue_token


def test_it_lists_organizations_with_the_users_role(bob_api, org, charlies_org):
    response = bob_api.get("/api/v1/organizations")
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": org.pk,
            "slug": "acme",
            "name": "Acme",
            "created_at": org.created_at.isoformat().replace("+00:00", "Z"),
            "role": "member",
        }
    ]


def test_it_lists_members(vera_api, org):
    body = vera_api.get("/api/v1/organizations/acme/members").json()
    assert [(m["email"], m["role"]) for m in body] == [
        ("alice@example.org", "owner"),
        ("bob@example.org", "member"),
        ("vera@example.org", "viewer"),
    ]


def test_it_lists_and_shows_projects(vera_api, project, project_key):
    listed = vera_api.get("/api/v1/organizations/acme/projects").json()
    assert [(p["slug"], p["dsn"]) for p in listed] == [("backend", project_key.dsn)]
    detail = vera_api.get("/api/v1/projects/acme/backend").json()
    assert detail["settings"]["scrub_data"] is True
    assert detail["settings"]["retention_days"] == project.retention_days


def test_it_creates_a_project_with_a_key(alice_api, org):
    response = alice_api.post_json(
        "/api/v1/organizations/acme/projects", {"name": "Web Shop", "platform": "node"}
    )
    assert response.status_code == 201
    body = response.json()
    project = Project.objects.get(slug="web-shop")
    assert (body["slug"], body["platform"], project.organization) == (
        "web-shop",
        "node",
        org,
    )
    assert body["dsn"] == project.keys.get().dsn


def test_it_refuses_an_unknown_platform(alice_api, org):
    response = alice_api.post_json(
        "/api/v1/organizations/acme/projects", {"name": "X", "platform": "cobol"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "platform: Select a valid choice. "
        "cobol is not one of the available choices."
    }
    assert not Project.objects.exists()


def test_it_lets_only_admins_create_projects(bob_api, org):
    response = bob_api.post_json("/api/v1/organizations/acme/projects", {"name": "X"})
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the admin role or higher."}


def test_it_changes_some_settings_and_keeps_the_rest(alice_api, project):
    body = {
        "scrub_ip_addresses": True,
        "retention_days": 30,
        "filter_releases": "*-dev",
    }
    response = alice_api.patch_json("/api/v1/projects/acme/backend", body)
    assert response.status_code == 200
    project.refresh_from_db()
    assert (
        project.scrub_ip_addresses,
        project.retention_days,
        project.filter_releases,
    ) == (True, 30, "*-dev")
    assert (project.name, project.scrub_data) == ("Backend", True)
    assert response.json()["settings"]["retention_days"] == 30


def test_it_refuses_invalid_settings(alice_api, project):
    response = alice_api.patch_json(
        "/api/v1/projects/acme/backend", {"retention_days": -1}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "retention_days: Ensure this value is greater than or equal to 0."
    }


def test_it_manages_keys(alice_api, project, project_key):
    created = alice_api.post_json("/api/v1/projects/acme/backend/keys", {"label": "CI"})
    assert created.status_code == 201
    key = ProjectKey.objects.get(label="CI")
    assert created.json()["dsn"] == key.dsn
    changed = alice_api.patch_json(
        f"/api/v1/projects/acme/backend/keys/{key.pk}",
        {"is_active": False, "rate_limit_per_minute": 10},
    )
    assert (changed.json()["is_active"], changed.json()["rate_limit_per_minute"]) == (
        False,
        10,
    )
    key.refresh_from_db()
    assert (key.is_active, key.rate_limit_per_minute) == (False, 10)
    listed = alice_api.get("/api/v1/projects/acme/backend/keys").json()
    assert [k["label"] for k in listed] == ["Default", "CI"]


def test_it_lets_only_admins_manage_keys(bob_api, project, project_key):
    assert (
        bob_api.post_json(
            "/api/v1/projects/acme/backend/keys", {"label": "x"}
        ).status_code
        == 403
    )
    response = bob_api.patch_json(
        f"/api/v1/projects/acme/backend/keys/{project_key.pk}", {"is_active": False}
    )
    assert response.status_code == 403
    project_key.refresh_from_db()
    assert project_key.is_active is True


def test_it_manages_the_users_own_tokens(alice, org):
    api = ApiClient(issue_token(alice, ["event:read", "event:write"], name="ci"))
    created = api.post_json(
        "/api/v1/tokens", {"name": "script", "scopes": ["event:read"]}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("sntryu_")
    assert len(body["token"]) == 71
    assert (
        ApiClient(body["token"]).get("/api/v1/organizations/acme/issues").status_code
        == 200
    )
    listed = api.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["script", "ci"]
    assert "token" not in listed[0]
    assert api.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert (
        ApiClient(body["token"]).get("/api/v1/organizations/acme/issues").status_code
        == 401
    )


def test_it_never_mints_a_broader_token(alice, org):
    api = ApiClient(issue_token(alice, ["event:read"]))
    response = api.post_json("/api/v1/tokens", {"name": "x", "scopes": ["event:admin"]})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A token cannot grant scopes it does not have: event:admin."
    }
    assert ApiToken.objects.count() == 1


def test_it_refuses_unknown_scopes(alice_api):
    response = alice_api.post_json("/api/v1/tokens", {"name": "x", "scopes": ["root"]})
    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown scopes: root."}


def test_it_cannot_revoke_another_users_token(alice_api, bob):
    issue_token(bob)
    other = ApiToken.objects.get(user=bob)
    assert alice_api.delete(f"/api/v1/tokens/{other.pk}").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_it_publishes_an_openapi_schema(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Fixtrail API"
    assert "/api/v1/issues/{issue_id}/actions" in schema["paths"]
    assert "/api/v1/projects/{org_slug}/{project_slug}/issues" in schema["paths"]
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_it_serves_the_docs_page_with_local_scripts(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content
    assert (
        b'<script src="/api/docs/assets/swagger-ui-bundle.js"></script>'
        in response.content
    )
    assert "script-src 'self';" in response["Content-Security-Policy"]
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert (asset.status_code, asset["Content-Type"]) == (200, "text/javascript")
    assert client.get("/api/docs/assets/__init__.py").status_code == 404
