"""A SQLite database file is put in WAL mode by its first connection."""

import sqlite3

from django.db.utils import ConnectionHandler

from fixtrail.lib.env import database_from_url


def test_a_new_sqlite_database_is_in_wal_mode(tmp_path, django_db_blocker):
    handler = ConnectionHandler(
        {"default": database_from_url("sqlite://x.db", tmp_path)}
    )
    connection = handler["default"]
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()
    (mode,) = (
        sqlite3.connect(tmp_path / "x.db").execute("PRAGMA journal_mode").fetchone()
    )
    assert mode == "wal"
