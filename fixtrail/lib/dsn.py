"""Sentry DSNs (``scheme://public_key[:secret]@host[:port][/path]/project_id``):
where an SDK-compatible server takes envelopes, and with which key."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


class DSNError(ValueError):
    """Text that is not a usable DSN; the message says what is wrong."""


@dataclass(frozen=True)
class DSN:
    """The parts of a DSN that sending to it needs."""

    envelope_url: str
    public_key: str
    project_id: int

    @property
    def display(self) -> str:
        """The server and project without the key: safe to show."""
        return self.envelope_url.removesuffix("/envelope/")


def parse_dsn(dsn: str) -> DSN:
    """Return the parts of ``dsn``; raise DSNError naming what is wrong."""
    text = (dsn or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise DSNError(f"not a DSN: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DSNError("a DSN starts with http:// or https:// and names a host")
    if not parts.username:
        raise DSNError("the DSN has no public key (the part before @)")
    path, _, project_id = parts.path.rstrip("/").rpartition("/")
    if not project_id.isdigit():
        raise DSNError("the DSN must end with the project id, a number")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{port}" if port else "")
    return DSN(
        envelope_url=f"{parts.scheme}://{netloc}{path}/api/{project_id}/envelope/",
        public_key=parts.username,
        project_id=int(project_id),
    )
