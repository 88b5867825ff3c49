from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created

# Seconds a new connection retries setting WAL mode: the database's own busy
# timeout (lib.env).
WAL_RETRY_SECONDS = 20


class CoreConfig(AppConfig):
    name = "fixtrail.core"
    label = "core"

    def ready(self) -> None:
        from fixtrail.core import checks  # noqa: F401  (registers the checks)

        connection_created.connect(_sqlite_in_wal_mode)


def _sqlite_in_wal_mode(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Keep a SQLite database in WAL mode, set once rather than per connection
    (lib.sqlite.use_wal says why)."""
    if connection.vendor == "sqlite":
        from fixtrail.lib.sqlite import use_wal

        use_wal(connection.connection, WAL_RETRY_SECONDS)
