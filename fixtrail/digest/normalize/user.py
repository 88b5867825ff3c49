"""The user interface: who was affected, and their IP address where allowed."""

from __future__ import annotations

import ipaddress
from typing import Any

from fixtrail.digest.normalize.limits import (
    MAX_USER_FIELD_CHARS,
    SMALL_LIMITS,
)
from fixtrail.digest.normalize.model import (
    _State,
)
from fixtrail.digest.normalize.values import (
    _json_type,
    _object_bag,
    _text,
)

_USER_TEXT = ("id", "email", "username", "ip_address", "name", "segment")


def _clean_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _user(
    value: Any, client_ip: str | None, infer_ip: bool, state: _State
) -> tuple[dict[str, Any] | None, str | None]:
    """Return the clean user and the user's IP address (even if not stored)."""
    if value is not None and type(value) is not dict:
        state.notes.append(
            f"user: expected an object, got {_json_type(value)}; dropped"
        )
        value = None
    value = value or {}
    out: dict[str, Any] = {}
    for key in _USER_TEXT:
        text = _text(value.get(key), MAX_USER_FIELD_CHARS, f"user.{key}", state)
        if text is not None and text.strip():
            out[key] = text.strip()
    ip = out.pop("ip_address", None)
    if ip == "{{auto}}" or (ip is None and infer_ip):
        ip = client_ip
    if ip is not None:
        clean = _clean_ip(ip)
        if clean is None:
            state.notes.append("user.ip_address: not an IP address; dropped")
        ip = clean
    if ip is not None and not state.drop_ips:
        out["ip_address"] = ip
    scrubber = state.scrubber
    geo = _object_bag(value.get("geo"), "user.geo", SMALL_LIMITS, None, state)
    if geo and not state.drop_ips:
        out["geo"] = geo
    data = value.get("data")
    extra = {
        k: v
        for k, v in value.items()
        if k not in _USER_TEXT and k not in ("geo", "data")
    }
    if extra:
        data = {**data, **extra} if type(data) is dict else extra
    data = _object_bag(data, "user.data", SMALL_LIMITS, scrubber, state)
    if data:
        out["data"] = data
    return out or None, ip
