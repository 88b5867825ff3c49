"""Typed readers for environment variables.

Each reader raises ``ImproperlyConfigured`` naming the variable and the bad
value, so a typo fails at start-up with a readable message instead of a stack
trace at first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off"}


def envstr(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    """Return the variable's value, or ``default`` when unset or empty."""
    return environ.get(name) or default


def envbool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """Return the variable as a boolean; only exact true/false words pass."""
    value = environ.get(name, "")
    if value == "":
        return default
    if value.lower() in TRUE_VALUES:
        return True
    if value.lower() in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of "
        f"{', '.join(sorted(TRUE_VALUES | FALSE_VALUES))}"
    )


def envint(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    """Return the variable as an integer."""
    value = environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def envsecret(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Return a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    if environ.get(name):
        return environ[name]
    path = environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE={path!r}: {exc.strerror}") from None


def _sqlite_path(url: str, data_dir: Path, name: str) -> Path:
    # Everything after "sqlite://" is the path: sqlite:///var/x.db is
    # absolute, sqlite://x.db is relative to the data directory.
    raw = unquote(url[len("sqlite://") :])
    if not raw or raw.endswith("/"):
        raise ImproperlyConfigured(f"{name}={url!r} names no file")
    path = Path(raw)
    return path if path.is_absolute() else data_dir / path


def database_from_url(
    url: str, data_dir: Path, name: str = "FIXTRAIL_DATABASE_URL"
) -> dict:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/db`` into a
    Django ``DATABASES`` entry.

    A relative SQLite path is taken relative to ``data_dir``. SQLite is opened
    in WAL mode with a busy timeout, and writes take the lock up front
    (``BEGIN IMMEDIATE``) so two writers queue instead of failing midway.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = _sqlite_path(url, data_dir, name)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # WAL mode is set once per file (core.apps), not here.
                # 8 MB of page cache a connection: 64 MB cost digest 60 MB
                # more memory under load for the same CPU per event (the
                # kernel's page cache serves the rest; bench/e2e.py).
                "init_command": (
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-8000;"
                ),
            },
        }
    if scheme in ("postgres", "postgresql", "pgsql"):
        if not parts.path.strip("/"):
            raise ImproperlyConfigured(f"{name}={url!r} names no database")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}={url!r} has a bad port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"{name}={url!r}: unsupported scheme {scheme!r}; use sqlite:/// or postgres://"
    )


def queue_url(url: str, data_dir: Path, name: str = "FIXTRAIL_QUEUE_URL") -> str:
    """Check a queue URL and make a relative SQLite path absolute."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return f"sqlite://{_sqlite_path(url, data_dir, name)}"
    if scheme in ("redis", "rediss"):
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name}={url!r} names no host")
        return url
    raise ImproperlyConfigured(
        f"{name}={url!r}: unsupported scheme {scheme!r}; use sqlite:/// or redis://"
    )
