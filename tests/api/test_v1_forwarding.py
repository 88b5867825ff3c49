"""A project's "also forward to" DSN in /api/v1/."""

from __future__ import annotations

from fixtrail.adoption import forwarding

PATH = "/api/v1/projects/acme/backend/forwarding"


def test_it_turns_forwarding_on_shows_it_without_the_key_and_off(alice_api, project):
    assert alice_api.get(PATH).json() is None
    response = alice_api.put_json(PATH, {"dsn": "https://s3cret@o1.sentry.io/9"})
    assert response.status_code == 200
    body = response.json()
    assert body["to"] == "https://o1.sentry.io/api/9"
    assert (body["forwarded"], body["waiting"], body["active"]) == (0, 0, True)
    assert "s3cret" not in response.content.decode()
    assert alice_api.get(PATH).json()["to"] == "https://o1.sentry.io/api/9"
    assert alice_api.delete(PATH).status_code == 204
    assert forwarding.status(project) is None


def test_it_refuses_a_dsn_that_does_not_parse(alice_api, project):
    response = alice_api.put_json(PATH, {"dsn": "https://o1.sentry.io/9"})
    assert response.status_code == 400
    assert "no public key" in response.json()["detail"]
    assert forwarding.status(project) is None
