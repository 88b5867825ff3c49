from __future__ import annotations

import pytest

from fixtrail.projects.models import Project


def test_it_lists_the_organizations_projects(alice_client, project):
    response = alice_client.get("/organizations/acme/")
    assert response.status_code == 200
    assert b"Backend" in response.content


def test_it_hides_other_organizations_behind_404(client, charlie, project):
    client.force_login(charlie)
    assert client.get("/organizations/acme/").status_code == 404
    assert (
        client.get("/organizations/acme/projects/backend/settings/").status_code == 404
    )
    assert client.get("/organizations/acme/members/").status_code == 404


def test_it_redirects_anonymous_visitors_to_login(client, project):
    response = client.get("/organizations/acme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_creates_a_project_with_a_key(alice_client, org):
    response = alice_client.post(
        "/organizations/acme/projects/new/", {"name": "Web Shop", "platform": "node"}
    )
    project = Project.objects.get(slug="web-shop")
    assert response.status_code == 302
    assert response["Location"] == "/organizations/acme/projects/web-shop/"
    assert project.platform == "node"
    assert project.keys.filter(is_active=True).count() == 1


def test_it_gives_distinct_slugs_to_same_named_projects(alice_client, project):
    alice_client.post(
        "/organizations/acme/projects/new/", {"name": "Backend", "platform": "python"}
    )
    assert sorted(Project.objects.values_list("slug", flat=True)) == [
        "backend",
        "backend-2",
    ]


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_it_refuses_project_creation_below_admin(client, request, who, org):
    client.force_login(request.getfixturevalue(who))
    response = client.post(
        "/organizations/acme/projects/new/", {"name": "X", "platform": "go"}
    )
    assert response.status_code == 403
    assert not Project.objects.filter(slug="x").exists()


def test_it_shows_the_dsn_and_snippets(client, vera, project, project_key):
    client.force_login(vera)
    response = client.get("/organizations/acme/projects/backend/settings/")
    body = response.content.decode()
    assert response.status_code == 200
    assert project_key.dsn in body
    assert (
        f"http://{project_key.public_key}@127.0.0.1:8000/{project.pk}"
        == project_key.dsn
    )
    for sdk in (
        "sentry_sdk.init",
        "@sentry/browser",
        "@sentry/node",
        "sentry-cli send-event",
    ):
        assert sdk in body


def test_it_saves_settings_for_admins(alice_client, project):
    form = {
        "name": "Backend API",
        "platform": "python",
        "allowed_origins": "https://shop.example",
        "rate_limit_per_minute": 100,
        "quota_per_month": 0,
        "scrub_data": "on",
        "scrub_fields": "ssn",
        "retention_days": 30,
        "max_events_stored": 5000,
    }
    response = alice_client.post("/organizations/acme/projects/backend/settings/", form)
    project.refresh_from_db()
    assert response.status_code == 302
    assert project.name == "Backend API"
    assert project.retention_days == 30
    assert project.scrub_fields == "ssn"


def test_it_refuses_settings_changes_by_members(client, bob, project):
    client.force_login(bob)
    response = client.post(
        "/organizations/acme/projects/backend/settings/", {"name": "Hijacked"}
    )
    project.refresh_from_db()
    assert response.status_code == 403
    assert project.name == "Backend"


def test_it_disables_a_key(alice_client, project, project_key):
    url = f"/organizations/acme/projects/backend/keys/{project_key.pk}/toggle/"
    response = alice_client.post(url)
    project_key.refresh_from_db()
    assert response.status_code == 302
    assert project_key.is_active is False


def test_it_does_not_toggle_another_projects_key(
    alice_client, project, charlies_project
):
    key = charlies_project.keys.get()
    url = f"/organizations/acme/projects/backend/keys/{key.pk}/toggle/"
    assert alice_client.post(url).status_code == 404
    key.refresh_from_db()
    assert key.is_active is True
