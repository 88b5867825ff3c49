"""Fields derived from the clean event: title, culprit, user key, derived
tags and search text."""

from __future__ import annotations

from typing import Any

from fixtrail.digest.normalize.limits import (
    MAX_CULPRIT_CHARS,
    MAX_SEARCH_TEXT_CHARS,
    MAX_TAG_VALUE_CHARS,
    MAX_TITLE_CHARS,
)
from fixtrail.digest.normalize.user import (
    _clean_ip,
)
from fixtrail.digest.normalize.values import (
    _shorten,
)


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line


def _top_frame(frames: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the innermost in-app frame, else the innermost frame."""
    for frame in reversed(frames):
        if frame.get("in_app") is True:
            return frame
    return frames[-1] if frames else None


def frame_label(frame: dict[str, Any]) -> str:
    """Return ``"module in function"`` (or what of it the frame has)."""
    where = frame.get("module") or frame.get("filename") or frame.get("abs_path") or ""
    function = frame.get("function") or ""
    if where and function:
        return f"{where} in {function}"
    return where or function


def _main_frames(
    data: dict[str, Any], main: dict[str, Any] | None
) -> list[dict[str, Any]]:
    if main is not None and "stacktrace" in main:
        return main["stacktrace"]["frames"]
    if "stacktrace" in data:
        return data["stacktrace"]["frames"]
    for thread in data.get("threads", {}).get("values", ()):
        if thread.get("crashed") and "stacktrace" in thread:
            return thread["stacktrace"]["frames"]
    return []


def _culprit(data: dict[str, Any], main: dict[str, Any] | None) -> str:
    transaction = data.get("transaction")
    if transaction:
        return _shorten(transaction, MAX_CULPRIT_CHARS)
    frame = _top_frame(_main_frames(data, main))
    if frame is not None:
        label = frame_label(frame)
        if label:
            return _shorten(label, MAX_CULPRIT_CHARS)
    return data.get("culprit", "")


def _title(type_: str, value: str, message: str, has_exception: bool) -> str:
    if has_exception:
        line = _first_line(value)
        if type_ and line:
            title = f"{type_}: {line}"
        else:
            title = type_ or line or "<unknown error>"
    elif message:
        title = _first_line(message) or "<unlabeled event>"
    else:
        title = "<unlabeled event>"
    return _shorten(title, MAX_TITLE_CHARS)


def _user_key(user: dict[str, Any] | None) -> str | None:
    if not user:
        return None
    for key, prefix in (("id", "id"), ("email", "email"), ("username", "username")):
        if key in user:
            return f"{prefix}:{user[key]}"
    if "ip_address" in user:
        return f"ip:{user['ip_address']}"
    return None


def _context_label(
    contexts: dict[str, Any], name: str
) -> tuple[str | None, str | None]:
    context = contexts.get(name)
    if type(context) is not dict:
        return None, None
    label = context.get("name")
    if type(label) is not str or not label:
        return None, None
    version = context.get("version")
    if type(version) is str and version:
        return label, f"{label} {version}"
    return label, label


def _derived_tags(
    data: dict[str, Any], main: dict[str, Any] | None, user_key: str | None
) -> list[tuple[str, str]]:
    tags = [(pair[0], pair[1]) for pair in data.get("tags", ())]
    present = {key for key, _ in tags}
    derived: list[tuple[str, str]] = [("level", data["level"])]
    for name in (
        "environment",
        "release",
        "dist",
        "server_name",
        "transaction",
        "logger",
    ):
        if name in data:
            derived.append((name, data[name]))
    mechanism = (main or {}).get("mechanism") or {}
    if "handled" in mechanism:
        derived.append(("handled", "yes" if mechanism["handled"] else "no"))
    if "type" in mechanism:
        derived.append(("mechanism", mechanism["type"]))
    url = data.get("request", {}).get("url")
    if url:
        derived.append(("url", url))
    contexts = data.get("contexts", {})
    for name in ("browser", "os", "runtime"):
        short, full = _context_label(contexts, name)
        if full:
            derived.append((name, full))
            derived.append((f"{name}.name", short))
    device = contexts.get("device")
    if type(device) is dict:
        model = device.get("model") or device.get("family")
        if type(model) is str and model:
            derived.append(("device", model))
    if user_key:
        derived.append(("user", user_key))
    for key, value in derived:
        if key not in present and type(value) is str and value:
            tags.append((key, _shorten(value, MAX_TAG_VALUE_CHARS)))
    return tags


def _search_text(title: str, culprit: str, message: str, data: dict[str, Any]) -> str:
    parts = [title, culprit]
    if message and message != title:
        parts.append(message)
    for exc in data.get("exception", {}).get("values", ()):
        parts.append(f"{exc.get('type', '')}: {exc.get('value', '')}")
    if "transaction" in data:
        parts.append(data["transaction"])
    return _shorten("\n".join(p for p in parts if p), MAX_SEARCH_TEXT_CHARS)


def _remote_addr(request: Any) -> str | None:
    """Return the REMOTE_ADDR the SDK copied from the server's environment."""
    env = request.get("env") if type(request) is dict else None
    remote = env.get("REMOTE_ADDR") if type(env) is dict else None
    return _clean_ip(remote) if type(remote) is str else None


def _infer_ip(sdk: dict[str, Any] | None) -> bool:
    settings = (sdk or {}).get("settings")
    return type(settings) is dict and settings.get("infer_ip") == "auto"
