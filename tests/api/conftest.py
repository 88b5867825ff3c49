"""Fixtures of the web API tests: tokens for the cast, clients that send
them, and events that went through the real queue and digest."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from fixtrail.accounts.models import SCOPES, ApiToken, User
from fixtrail.projects.models import Project
from tests.digest.queueing import digest_payloads

ALL_SCOPES = list(SCOPES)
# When the test events happen, and "now" for tests that freeze the clock:
# fixed moments, so stats buckets and relative searches are known.
T0 = dt.datetime(2026, 3, 2, 12, 30, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 2, 13, 15, tzinfo=dt.UTC)


@pytest.fixture
def frozen_now(monkeypatch):
    """Freeze the clock the API reads (django.utils.timezone.now) at NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def issue_token(user: User, scopes: list[str] | None = None, name: str = "test") -> str:
    """Return the clear text of a new token of ``user``."""
    _, clear = ApiToken.issue(user, name, ALL_SCOPES if scopes is None else scopes)
    return clear


class ApiClient(Client):
    """A test client that sends ``Authorization: Bearer <token>``."""

    def __init__(self, token: str | None = None, **defaults: Any) -> None:
        if token is not None:
            defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        super().__init__(**defaults)

    # The standard library's encoder, because generated bodies hold numbers
    # beyond 64 bits, which orjson refuses to write.
    def put_json(self, path: str, body: Any) -> Any:
        return self.put(path, json.dumps(body), content_type="application/json")

    def post_json(self, path: str, body: Any) -> Any:
        return self.post(path, json.dumps(body), content_type="application/json")

    def patch_json(self, path: str, body: Any) -> Any:
        return self.patch(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def alice_api(alice) -> ApiClient:
    return ApiClient(issue_token(alice))


@pytest.fixture
def bob_api(bob) -> ApiClient:
    return ApiClient(issue_token(bob))


@pytest.fixture
def vera_api(vera) -> ApiClient:
    return ApiClient(issue_token(vera))


@pytest.fixture
def charlie_api(charlie, charlies_org) -> ApiClient:
    return ApiClient(issue_token(charlie))


def python_error(
    *,
    type_: str = "ValueError",
    value: str = "bad thing",
    function: str = "index",
    module: str = "app.views",
    lineno: int = 12,
    **overrides: Any,
) -> dict[str, Any]:
    """Return a Python SDK-like error event with a library and an app frame."""
    event = {
        "platform": "python",
        "level": "error",
        "logger": "django.request",
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "mechanism": {"type": "django", "handled": False},
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "django/core/handlers/base.py",
                                "abs_path": "/venv/django/core/handlers/base.py",
                                "module": "django.core.handlers.base",
                                "function": "_get_response",
                                "lineno": 197,
                                "context_line": "response = wrapped(request)",
                                "in_app": False,
                            },
                            {
                                "filename": module.replace(".", "/") + ".py",
                                "abs_path": "/srv/" + module.replace(".", "/") + ".py",
                                "module": module,
                                "function": function,
                                "lineno": lineno,
                                "pre_context": ["def index(request):"],
                                "context_line": f"    raise {type_}('{value}')",
                                "post_context": ["", "def other():"],
                                "vars": {"request": "<WSGIRequest>"},
                                "in_app": True,
                            },
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": T0.timestamp() - 1,
                    "category": "query",
                    "message": "SELECT 1",
                    "level": "info",
                }
            ]
        },
        "request": {
            "url": "https://shop.example.com/cart",
            "method": "POST",
            "query_string": "step=2",
            "headers": {"Content-Type": "application/json", "User-Agent": "curl/8"},
        },
        "tags": {"server_name": "web-1"},
        "user": {"id": "42", "email": "customer@example.com"},
        "sdk": {"name": "sentry.python", "version": "2.75.0"},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.9"}},
        "extra": {"cart_size": 3},
    }
    event.update(overrides)
    return event


def digest_events(
    project: Project, payloads: list[dict[str, Any]], *, received_at: dt.datetime = T0
) -> list[str]:
    """Queue ``payloads`` as ingest would and run the real digest over them.

    Returns the event ids, in order. Each payload happens at ``received_at``
    unless it says otherwise.
    """
    return digest_payloads(project, payloads, received_at=received_at)
