"""Digest's symbolication step: minified JavaScript frames become original
ones through uploaded source maps, obfuscated Java frames through ProGuard
mappings. Runs in digest's pure step (no database): the artifacts an event
needs were looked up beforehand (fixtrail.symbols.lookup) and are read from
storage here, parsed once per process (fixtrail.symbols.cache).

For each stack trace that has at least one frame resolved::

    exception.values[i].stacktrace      the original frames
    exception.values[i].raw_stacktrace  the frames as the SDK sent them

(Sentry's layout). What could not be resolved is listed in the event's
``errors``, one entry per cause, such as
``{"type": "js_no_source", "url": "~/app.min.js", "message": "…"}``, so the
issue page can say why a frame stayed minified.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fixtrail.symbols import storage
from fixtrail.symbols.cache import parsed

# Lines of original source around the resolved line, as Sentry shows.
CONTEXT_LINES = 5
JS_PLATFORMS = frozenset({"javascript", "node"})
JAVA_PLATFORMS = frozenset({"java"})
# Original source lines longer than this are not shown (generated code).
MAX_CONTEXT_LINE_CHARS = 200
# Resolved positions are memoized (the same bug throws from the same
# places); each, with its context lines, is charged this much against the
# cache bound.
POSITION_CHARGE_BYTES = 2048
# Errors recorded per event: one per missing file is plenty.
MAX_ERRORS = 20


_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def normalize_debug_id(value: Any) -> str:
    """Return a debug ID in lowercase hyphenated UUID form, or "".

    Debug IDs may carry an appendix after the UUID (native age); source
    maps and ProGuard use plain UUIDs, so only those are indexed.
    """
    if not isinstance(value, str):
        return ""
    match = _UUID.match(value.strip().lower())
    if match is None:
        return ""
    h = match.group(0).replace("-", "")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class MapRef:
    """A source map to apply, and the minified file it belongs to."""

    map_checksum: str
    map_size: int
    map_url: str
    minified_checksum: str = ""
    minified_size: int = 0


@dataclass
class SymbolLookup:
    """The artifacts one project's events in a batch may need."""

    by_debug_id: dict[str, MapRef] = field(default_factory=dict)
    # (release, dist, frame abs_path) -> map
    by_url: dict[tuple[str, str, str], MapRef] = field(default_factory=dict)
    # ProGuard debug ID -> (checksum, size)
    proguard: dict[str, tuple[str, int]] = field(default_factory=dict)
    # False when the project has no artifacts at all: then only frames
    # whose event names a debug ID are reported as missing their map.
    has_artifacts: bool = True

    def apply(self, data: dict[str, Any]) -> None:
        """Symbolicate the normalized event ``data`` in place."""
        symbolicate(data, self)


def url_candidates(abs_path: str) -> list[str]:
    """Return the artifact URLs that may name the file at ``abs_path``,
    most specific first: the URL itself (without query or fragment), then
    ``~/`` plus its path, then ``~/`` plus shorter and shorter tails of the
    path (a Node server's /srv/app/dist/app.js matches ~/dist/app.js)."""
    parts = urlsplit(abs_path)
    path = parts.path
    full = abs_path.split("#", 1)[0].split("?", 1)[0]
    out = [full]
    if not path.startswith("/"):
        path = "/" + path
    segments = [s for s in path.split("/") if s]
    for start in range(len(segments)):
        candidate = "~/" + "/".join(segments[start:])
        if candidate not in out:
            out.append(candidate)
    return out[:12]


def resolve_url(base: str, relative: str) -> str:
    """Return ``relative`` resolved against the artifact URL ``base``
    (which may start with ``~/``)."""
    if "://" in relative or relative.startswith("~/"):
        return relative
    prefix, path = "", base
    if base.startswith("~/"):
        prefix, path = "~", base[1:]
    elif "://" in base:
        parts = urlsplit(base)
        prefix, path = f"{parts.scheme}://{parts.netloc}", parts.path
    if relative.startswith("/"):
        joined = relative
    else:
        joined = posixpath.join(posixpath.dirname(path) or "/", relative)
    return prefix + posixpath.normpath(joined)


def _display_name(url: str) -> str:
    """Return the path part people read: "src/app.ts" of "~/src/app.ts"."""
    if url.startswith("~/"):
        return url[2:]
    if "://" in url:
        parts = urlsplit(url)
        return parts.path.lstrip("/") or url
    return url


def _stack_holders(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for exc in data.get("exception", {}).get("values", ()):
        if "stacktrace" in exc:
            yield exc
    if "stacktrace" in data:
        yield data
    for thread in data.get("threads", {}).get("values", ()):
        if "stacktrace" in thread:
            yield thread


def _images(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    images = (data.get("debug_meta") or {}).get("images")
    if not isinstance(images, list):
        return []
    return [i for i in images if isinstance(i, dict) and i.get("type") == kind]


def event_debug_ids(data: dict[str, Any]) -> dict[str, str]:
    """Return {code_file: debug_id} of the event's source-map images."""
    out = {}
    for image in _images(data, "sourcemap"):
        code_file = image.get("code_file")
        debug_id = normalize_debug_id(image.get("debug_id"))
        if isinstance(code_file, str) and debug_id:
            out[code_file] = debug_id
    return out


def proguard_ids(data: dict[str, Any]) -> list[str]:
    """Return the debug IDs of the event's ProGuard images."""
    ids = (
        normalize_debug_id(i.get("uuid") or i.get("debug_id"))
        for i in _images(data, "proguard")
    )
    return [i for i in ids if i]


def frame_path(frame: dict[str, Any]) -> str:
    """Return the URL or path of a JS frame's file: the JS SDKs send it as
    ``filename``, some tools as ``abs_path``."""
    path = frame.get("abs_path") or frame.get("filename")
    return path if isinstance(path, str) else ""


def js_frames(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the frames of ``data`` that source maps may resolve."""
    event_platform = data.get("platform")
    for holder in _stack_holders(data):
        for frame in holder["stacktrace"]["frames"]:
            platform = frame.get("platform") or event_platform
            if platform in JS_PLATFORMS and frame_path(frame) and frame.get("lineno"):
                yield frame


# -- source maps -----------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, type_: str, key: str, message: str, **fields: Any) -> None:
        if (type_, key) in self._seen or len(self.items) >= MAX_ERRORS:
            return
        self._seen.add((type_, key))
        self.items.append({"type": type_, "message": message, **fields})


def _load_map(ref: MapRef) -> Any:
    from symbolic.sourcemap import SourceMapView

    return parsed.get(
        "sourcemap",
        ref.map_checksum,
        ref.map_size,
        lambda: SourceMapView.from_json_bytes(storage.read_file(ref.map_checksum)),
    )


def _load_minified(ref: MapRef) -> Any:
    from symbolic.sourcemap import SourceView

    if not ref.minified_checksum:
        return None
    return parsed.get(
        "minified",
        ref.minified_checksum,
        ref.minified_size,
        lambda: SourceView.from_bytes(storage.read_file(ref.minified_checksum)),
    )


def _clip(text: str) -> str:
    if len(text) <= MAX_CONTEXT_LINE_CHARS:
        return text
    return text[: MAX_CONTEXT_LINE_CHARS - 1] + "…"


def _source_lines(ref: MapRef, view: Any, src_id: int) -> list[str]:
    """Return an original source's lines (cached: reading them through
    symbolic one call per line costs a few microseconds each)."""

    def load() -> list[str]:
        source = view.get_source_contents(src_id)
        return source.splitlines() if source else []

    size = ref.map_size // max(view.source_count, 1)
    return parsed.get("lines", f"{ref.map_checksum}:{src_id}", size, load)


def _context(ref: MapRef, view: Any, src_id: int, line: int) -> dict[str, Any]:
    lines = _source_lines(ref, view, src_id)
    if line >= len(lines):
        return {}
    return {
        "pre_context": [_clip(s) for s in lines[max(0, line - CONTEXT_LINES) : line]],
        "context_line": _clip(lines[line]),
        "post_context": [_clip(s) for s in lines[line + 1 : line + 1 + CONTEXT_LINES]],
    }


def _lookup_token(
    ref: MapRef, view: Any, line: int, column: int, function: str | None
) -> Any:
    """Return symbolic's token for a minified position; with the minified
    file at hand, its function name is the original one (symbolic reads
    the scope around the position, which costs a scan of the line)."""
    minified = None
    if function:
        try:
            minified = _load_minified(ref)
        except FileNotFoundError:
            minified = None
    if minified is not None and function:
        return view.lookup(line, column, function, minified)
    return view.lookup(line, column)


def _resolve_position(
    ref: MapRef, line: int, column: int, function: str | None
) -> dict[str, Any] | None:
    """Return the original frame fields of a minified position, or None
    when the map does not cover it. Raises FileNotFoundError or symbolic's
    parse error when the map cannot be read."""
    view = _load_map(ref)
    token = _lookup_token(ref, view, line, column, function)
    if token is None or not token.src:
        return None
    source_url = resolve_url(ref.map_url, token.src)
    fields = {
        "abs_path": source_url,
        "filename": _display_name(source_url),
        "lineno": token.src_line + 1,
        "colno": token.src_col + 1,
        "function": token.function_name or function or "<anonymous>",
        "in_app": "node_modules" not in source_url,
    }
    if token.src_id is not None:
        fields.update(_context(ref, view, token.src_id, token.src_line))
    return fields


# Frame keys the original position replaces (the minified context is gone).
_REPLACED_KEYS = frozenset(
    {"pre_context", "context_line", "post_context", "function", "module"}
)


def _resolve_js_frame(
    frame: dict[str, Any], ref: MapRef, errors: _Errors
) -> dict[str, Any] | None:
    line = frame["lineno"] - 1
    column = max((frame.get("colno") or 1) - 1, 0)
    function = frame.get("function")
    try:
        # The same bug throws from the same places: resolved positions are
        # memoized next to the parsed map.
        fields = parsed.get(
            "position",
            f"{ref.map_checksum}:{line}:{column}:{function}",
            POSITION_CHARGE_BYTES,
            lambda: _resolve_position(ref, line, column, function),
        )
    except FileNotFoundError:
        errors.add(
            "js_no_source",
            ref.map_url,
            f"The source map {ref.map_url} is no longer stored.",
            url=ref.map_url,
        )
        return None
    except Exception as exc:  # symbolic's parse errors; checked at upload
        errors.add(
            "js_invalid_source",
            ref.map_url,
            f"The source map {ref.map_url} does not parse: {exc}",
            url=ref.map_url,
        )
        return None
    if fields is None:
        errors.add(
            "js_invalid_source_position",
            f"{ref.map_url}:{frame['lineno']}:{frame.get('colno')}",
            f"The source map {ref.map_url} does not cover line "
            f"{frame['lineno']}, column {frame.get('colno')}.",
            url=frame_path(frame),
        )
        return None
    out = {k: v for k, v in frame.items() if k not in _REPLACED_KEYS}
    out.update(fields)
    return out


def _symbolicate_js(
    data: dict[str, Any], lookup: SymbolLookup, errors: _Errors
) -> None:
    debug_ids = event_debug_ids(data)
    release = data.get("release", "")
    dist = data.get("dist", "")
    for holder in _stack_holders(data):
        frames = holder["stacktrace"]["frames"]
        resolved_any = False
        new_frames = []
        for frame in frames:
            platform = frame.get("platform") or data.get("platform")
            abs_path = frame_path(frame)
            if platform not in JS_PLATFORMS or not abs_path or not frame.get("lineno"):
                new_frames.append(frame)
                continue
            ref = None
            debug_id = debug_ids.get(abs_path)
            if debug_id:
                ref = lookup.by_debug_id.get(debug_id)
            if ref is None:
                ref = lookup.by_url.get((release, dist, abs_path))
            if ref is None:
                if not debug_id and (
                    frame.get("in_app") is False or not lookup.has_artifacts
                ):
                    # Library frames without maps are normal (node internals).
                    new_frames.append(frame)
                    continue
                if debug_id:
                    errors.add(
                        "js_no_source",
                        debug_id,
                        f"No source map uploaded with debug ID {debug_id} "
                        f"(for {abs_path}).",
                        url=abs_path,
                        debug_id=debug_id,
                    )
                elif release:
                    errors.add(
                        "js_no_source",
                        abs_path,
                        f"No source map for {abs_path} in release {release}"
                        + (f", dist {dist}" if dist else "")
                        + ".",
                        url=abs_path,
                    )
                else:
                    errors.add(
                        "js_no_source",
                        abs_path,
                        f"No source map for {abs_path}: the event has no "
                        "debug ID for it and no release.",
                        url=abs_path,
                    )
                new_frames.append(frame)
                continue
            resolved = _resolve_js_frame(frame, ref, errors)
            if resolved is None:
                new_frames.append(frame)
            else:
                resolved_any = True
                new_frames.append(resolved)
        if resolved_any:
            # Resolved frames are new dicts, so the raw ones stay untouched.
            holder["raw_stacktrace"] = holder["stacktrace"]
            holder["stacktrace"] = {**holder["stacktrace"], "frames": new_frames}


# -- ProGuard -------------------------------------------------------------------


def _load_proguard(checksum: str, size: int) -> Any:
    from symbolic.proguard import ProguardMapper

    def load() -> Any:
        return ProguardMapper.open(str(storage.local_file(checksum)))

    return parsed.get("proguard", checksum, size, load)


def _symbolicate_java(
    data: dict[str, Any], lookup: SymbolLookup, errors: _Errors
) -> None:
    ids = proguard_ids(data)
    if not ids:
        return
    mappers = []
    for debug_id in ids:
        found = lookup.proguard.get(debug_id)
        if found is None:
            errors.add(
                "proguard_missing_mapping",
                debug_id,
                f"No ProGuard mapping uploaded with debug ID {debug_id}.",
                debug_id=debug_id,
            )
            continue
        try:
            mappers.append(_load_proguard(*found))
        except FileNotFoundError:
            errors.add(
                "proguard_missing_mapping",
                debug_id,
                f"The ProGuard mapping {debug_id} is no longer stored.",
                debug_id=debug_id,
            )
    if not mappers:
        return
    for exc in data.get("exception", {}).get("values", ()):
        module, type_ = exc.get("module"), exc.get("type")
        if type_:
            full = f"{module}.{type_}" if module else type_
            for mapper in mappers:
                original = mapper.remap_class(full)
                if original:
                    exc["raw_type"] = type_
                    new_module, _, new_type = original.rpartition(".")
                    exc["type"] = new_type
                    if new_module:
                        exc["module"] = new_module
                    break
    for holder in _stack_holders(data):
        frames = holder["stacktrace"]["frames"]
        new_frames, resolved_any = [], False
        for frame in frames:
            klass, method = frame.get("module"), frame.get("function")
            remapped = None
            if klass and method:
                for mapper in mappers:
                    remapped = mapper.remap_frame(
                        klass, method, frame.get("lineno") or 0
                    )
                    if remapped:
                        break
            if not remapped:
                new_frames.append(frame)
                continue
            resolved_any = True
            # The mapping lists inlined callers innermost first; a trace
            # here reads caller first.
            for java in reversed(remapped):
                out = dict(frame)
                out["module"] = java.class_name
                out["function"] = java.method
                if java.line:
                    out["lineno"] = java.line
                if java.file:
                    out["filename"] = java.file
                new_frames.append(out)
        if resolved_any:
            # Resolved frames are new dicts, so the raw ones stay untouched.
            holder["raw_stacktrace"] = holder["stacktrace"]
            holder["stacktrace"] = {**holder["stacktrace"], "frames": new_frames}


def symbolicate(data: dict[str, Any], lookup: SymbolLookup) -> None:
    """Resolve ``data``'s frames in place and record what was missing in
    ``data["errors"]`` (see module docstring). Never raises on content."""
    errors = _Errors()
    platform = data.get("platform")
    if platform in JAVA_PLATFORMS or _images(data, "proguard"):
        _symbolicate_java(data, lookup, errors)
    else:
        _symbolicate_js(data, lookup, errors)
    if errors.items:
        data["errors"] = errors.items
