from __future__ import annotations

from fixtrail.ingest.keys import KEY_CACHE_SECONDS, KeyInfo, forget_keys, lookup_key


def test_it_describes_a_key_and_its_project(project_key):
    project = project_key.project
    project.allowed_origins = "https://shop.example\n\n  localhost  \n"
    project.rate_limit_per_minute = 20
    project.quota_per_month = 1000
    project.save()
    project_key.rate_limit_per_minute = 5
    project_key.save()
    assert lookup_key(project_key.public_key) == KeyInfo(
        key_id=project_key.id,
        project_id=project.id,
        is_active=True,
        key_rate_limit_per_minute=5,
        project_rate_limit_per_minute=20,
        project_quota_per_month=1000,
        allowed_origins=("https://shop.example", "localhost"),
    )


def test_it_returns_none_for_an_unknown_key(db):
    assert lookup_key("0" * 32) is None


def test_it_serves_a_cached_answer_until_it_expires(
    project_key, django_assert_num_queries
):
    with django_assert_num_queries(1):
        lookup_key(project_key.public_key, now=100.0)
        lookup_key(project_key.public_key, now=100.0 + KEY_CACHE_SECONDS - 1)
    project_key.is_active = False
    project_key.save(update_fields=["is_active"])
    # Within the cache time the old answer stands; after it, the new one.
    assert lookup_key(project_key.public_key, now=101.0).is_active is True
    assert (
        lookup_key(project_key.public_key, now=100.0 + KEY_CACHE_SECONDS).is_active
        is False
    )


def test_it_forgets_on_request(project_key):
    lookup_key(project_key.public_key, now=100.0)
    project_key.is_active = False
    project_key.save(update_fields=["is_active"])
    forget_keys()
    assert lookup_key(project_key.public_key, now=101.0).is_active is False
