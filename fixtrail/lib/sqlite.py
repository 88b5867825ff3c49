"""Helpers for the SQLite files Fixtrail keeps beside its database (the
queue, the rate-limit counters)."""

from __future__ import annotations

import sqlite3
import time


def use_wal(connection: sqlite3.Connection, timeout_seconds: float) -> None:
    """Put the connection's file in WAL mode unless it is already.

    Setting the mode takes a lock that SQLite does not wait for through the
    busy timeout: run on every new connection, it made a connection opened
    while other threads wrote fail at once with "database is locked".
    Reading the mode needs no such lock; the one connection that creates the
    file sets it, retrying for up to ``timeout_seconds``.
    """
    if str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
