"""The request interface: URL, method, query, headers, cookies and body, scrubbed."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fixtrail.digest.normalize.limits import (
    DATABAG_LIMITS,
    MAX_HEADER_VALUE_CHARS,
    MAX_HEADERS,
    MAX_KEY_CHARS,
    MAX_QUERY_PAIRS,
    MAX_REQUEST_BODY_CHARS,
    MAX_URL_CHARS,
    SMALL_LIMITS,
)
from fixtrail.digest.normalize.message import (
    _param_text,
)
from fixtrail.digest.normalize.model import (
    _State,
)
from fixtrail.digest.normalize.values import (
    _any_bag,
    _json_type,
    _object_bag,
    _shorten,
    _text,
)
from fixtrail.digest.scrub import (
    FILTERED,
    IP_ADDRESS_ENV_KEYS,
    IP_ADDRESS_HEADERS,
)


def _pairs_from(value: Any, path: str, state: _State) -> list[tuple[str, Any]]:
    if type(value) is dict:
        return [(k, v) for k, v in value.items()]
    if type(value) is list:
        pairs = []
        for item in value:
            if type(item) in (list, tuple) and len(item) == 2 and type(item[0]) is str:
                pairs.append((item[0], item[1]))
            else:
                state.notes.append(
                    f"{path}: dropped an item that was not a [name, value] pair"
                )
        return pairs
    if value is not None:
        state.notes.append(
            f"{path}: expected an object or array, got {_json_type(value)}"
        )
    return []


def _clean_pairs(
    pairs: list[tuple[str, Any]],
    path: str,
    limit: int,
    value_chars: int,
    state: _State,
    drop_names: frozenset[str] = frozenset(),
) -> list[list[str]]:
    """Return ``[[name, value], ...]`` bounded, scrubbed and with text values.

    A value that is a list (``{"Accept": ["a", "b"]}``) gives one pair per
    item.
    """
    scrubber = state.scrubber
    out: list[list[str]] = []
    filtered = dropped = 0
    for name, value in pairs:
        if type(name) is not str or not name:
            continue
        if drop_names and name.lower() in drop_names:
            dropped += 1
            continue
        values = value if type(value) is list else [value]
        for item in values:
            if item is None:
                continue
            text = item if type(item) is str else _param_text(item)
            text = _shorten(text, value_chars)
            if scrubber is not None:
                if scrubber.is_sensitive_key(name):
                    if text:
                        filtered += 1
                        text = FILTERED
                else:
                    text = scrubber.scrub_text(text)
            out.append([_shorten(name, MAX_KEY_CHARS), text])
    if len(out) > limit:
        state.notes.append(f"{path}: kept the first {limit} of {len(out)} items")
        out = out[:limit]
    if filtered:
        state.notes.append(f"{path}: {filtered} values filtered")
    if dropped:
        state.notes.append(f"{path}: {dropped} IP address headers dropped")
    return out


def _query_pairs(value: Any, path: str, state: _State) -> list[tuple[str, Any]]:
    if type(value) is str:
        text = value[1:] if value.startswith("?") else value
        return parse_qsl(text[:MAX_URL_CHARS], keep_blank_values=True)[
            : MAX_QUERY_PAIRS + 1
        ]
    return _pairs_from(value, path, state)


def _cookie_pairs(value: Any, state: _State) -> list[tuple[str, Any]]:
    if type(value) is str:
        pairs = []
        for part in value.split(";"):
            name, _, cookie = part.strip().partition("=")
            if name:
                pairs.append((name, cookie))
        return pairs
    return _pairs_from(value, "request.cookies", state)


def _request(value: Any, state: _State) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        state.notes.append(
            f"request: expected an object, got {_json_type(value)}; dropped"
        )
        return None
    out: dict[str, Any] = {}
    scrubber = state.scrubber
    query = value.get("query_string")
    url = _text(value.get("url"), MAX_URL_CHARS, "request.url", state)
    if url:
        url, _, fragment = url.partition("#")
        url, has_query, url_query = url.partition("?")
        if has_query and not query:
            query = url_query
        if fragment and not value.get("fragment"):
            out["fragment"] = fragment
        out["url"] = url
    method = _text(value.get("method"), 32, "request.method", state)
    if method:
        out["method"] = method.upper()
    if query:
        pairs = _clean_pairs(
            _query_pairs(query, "request.query_string", state),
            "request.query_string",
            MAX_QUERY_PAIRS,
            MAX_URL_CHARS,
            state,
        )
        if pairs:
            out["query_string"] = pairs
    headers = _clean_pairs(
        _pairs_from(value.get("headers"), "request.headers", state),
        "request.headers",
        MAX_HEADERS,
        MAX_HEADER_VALUE_CHARS,
        state,
        IP_ADDRESS_HEADERS if state.drop_ips else frozenset(),
    )
    if headers:
        out["headers"] = headers
    cookies = value.get("cookies")
    if cookies:
        if scrubber is not None and scrubber.is_sensitive_key("cookies"):
            out["cookies"] = FILTERED
            state.notes.append("request.cookies: filtered")
        else:
            pairs = _clean_pairs(
                _cookie_pairs(cookies, state),
                "request.cookies",
                MAX_HEADERS,
                MAX_HEADER_VALUE_CHARS,
                state,
            )
            if pairs:
                out["cookies"] = pairs
    data = value.get("data")
    if data is not None and data != "":
        limits = DATABAG_LIMITS._replace(max_chars=MAX_REQUEST_BODY_CHARS)
        out["data"] = _any_bag(data, "request.data", limits, scrubber, state)
    env = _object_bag(value.get("env"), "request.env", SMALL_LIMITS, scrubber, state)
    if env and state.drop_ips:
        env = {k: v for k, v in env.items() if k not in IP_ADDRESS_ENV_KEYS} or None
    if env:
        out["env"] = env
    for key in ("fragment", "inferred_content_type"):
        text = _text(value.get(key), MAX_URL_CHARS, f"request.{key}", state)
        if text:
            out[key] = text
    return out or None
