from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from fixtrail.lib.env import database_from_url, envbool, envint, envsecret, queue_url

DATA = Path("/srv/fixtrail")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("0", False),
        ("off", False),
        ("", True),
    ],
)
def test_it_reads_booleans(value, expected):
    assert envbool("FIXTRAIL_X", True, {"FIXTRAIL_X": value}) is expected


def test_it_rejects_a_bad_boolean_naming_the_variable():
    with pytest.raises(
        ImproperlyConfigured, match=r"^FIXTRAIL_DEBUG='maybe' is not a boolean"
    ):
        envbool("FIXTRAIL_DEBUG", False, {"FIXTRAIL_DEBUG": "maybe"})


def test_it_rejects_a_bad_integer():
    with pytest.raises(
        ImproperlyConfigured, match=r"^FIXTRAIL_N='12x' is not an integer$"
    ):
        envint("FIXTRAIL_N", 1, {"FIXTRAIL_N": "12x"})


def test_it_reads_a_secret_from_a_file(tmp_path):
    secret = tmp_path / "s"
    secret.write_text("hunter2\n")
    assert envsecret("FIXTRAIL_S", {"FIXTRAIL_S_FILE": str(secret)}) == "hunter2"


def test_it_reports_a_missing_secret_file():
    with pytest.raises(ImproperlyConfigured, match="No such file or directory"):
        envsecret("FIXTRAIL_S", {"FIXTRAIL_S_FILE": "/nonexistent/s"})


def test_it_puts_a_relative_sqlite_database_in_the_data_dir():
    db = database_from_url("sqlite://fixtrail.sqlite3", DATA)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/srv/fixtrail/fixtrail.sqlite3"
    assert "foreign_keys=ON" in db["OPTIONS"]["init_command"]


def test_it_keeps_an_absolute_sqlite_path():
    assert database_from_url("sqlite:///var/db/x.db", DATA)["NAME"] == "/var/db/x.db"


def test_it_parses_a_postgres_url():
    db = database_from_url("postgres://u:p%40ss@db.internal:6543/fixtrail", DATA)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u",
        "p@ss",
        "db.internal",
        "6543",
        "fixtrail",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "unsupported scheme 'mysql'"),
        ("postgres://host", "names no database"),
        ("postgres://host:notaport/db", "has a bad port"),
        ("sqlite://", "names no file"),
        ("localhost:5432", "unsupported scheme"),
    ],
)
def test_it_explains_bad_database_urls(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url, DATA)


def test_it_resolves_queue_urls():
    assert (
        queue_url("sqlite://queue.sqlite3", DATA)
        == "sqlite:///srv/fixtrail/queue.sqlite3"
    )
    assert queue_url("redis://127.0.0.1:6379/2", DATA) == "redis://127.0.0.1:6379/2"
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme 'amqp'"):
        queue_url("amqp://x", DATA)
