from __future__ import annotations

from django.db import connection

from fixtrail.releases.models import Repository
from tests.builders import make_org


def test_it_stores_a_token_encrypted_and_reads_it_back(alice):
    org = make_org("acme", alice)
    repo = Repository.objects.create(
        organization=org,
        provider=Repository.Provider.GITLAB,
        name="acme/backend",
        url="https://gitlab.example.com/acme/backend",
        token="glpat-very-secret",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM releases_repository WHERE id = %s", [repo.pk])
        (stored,) = cursor.fetchone()
    assert "glpat-very-secret" not in stored
    assert Repository.objects.get(pk=repo.pk).token == "glpat-very-secret"


def test_it_keeps_an_empty_token_empty(alice):
    repo = Repository.objects.create(
        organization=make_org("acme", alice),
        provider=Repository.Provider.GIT,
        name="backend",
        url="https://git.example.com/backend.git",
    )
    assert Repository.objects.get(pk=repo.pk).token == ""
