"""Find, before digest's pure step, the artifacts a batch's events need.

digest's pure step runs where there is no database (a forked helper), so
this runs first, with the batch's decoded items: for each project that has
artifacts at all (one query), it reads the events' debug IDs, releases and
frame URLs, finds the matching source maps and ProGuard mappings (a few
queries per batch, whatever its size), and hands each project's
:class:`~fixtrail.symbols.symbolicate.SymbolLookup` to normalization
through the project's options. It also marks the artifacts it found as
used, which retention reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from django.db.models import Q
from django.utils import timezone

from fixtrail.ingest import items
from fixtrail.symbols import storage
from fixtrail.symbols.models import Artifact
from fixtrail.symbols.symbolicate import (
    MapRef,
    SymbolLookup,
    event_debug_ids,
    frame_path,
    js_frames,
    proguard_ids,
    resolve_url,
    url_candidates,
)

# last_used_at is refreshed at most this often per artifact: retention
# counts days, and a write per batch would be wasted.
USED_REFRESH = dt.timedelta(hours=6)
# Bytes read from the end of a minified file to find its sourceMappingURL.
SOURCE_MAPPING_TAIL_BYTES = 4096


@dataclasses.dataclass
class _Wanted:
    debug_ids: set[str] = dataclasses.field(default_factory=set)
    # (release, dist) -> abs_paths
    paths: dict[tuple[str, str], set[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(set)
    )
    proguard: set[str] = dataclasses.field(default_factory=set)


def _scan(payload: bytes, wanted: _Wanted) -> None:
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return  # digest records the bad item itself
    if not isinstance(data, dict):
        return
    try:
        wanted.proguard.update(proguard_ids(data))
        debug_ids = event_debug_ids(data)
        wanted.debug_ids.update(debug_ids.values())
        release = data.get("release") if isinstance(data.get("release"), str) else ""
        dist = data.get("dist") if isinstance(data.get("dist"), str) else ""
        for frame in _raw_js_frames(data):
            abs_path = frame_path(frame)
            if abs_path and abs_path not in debug_ids and release:
                wanted.paths[(release.strip(), dist.strip())].add(abs_path)
    except (AttributeError, TypeError):
        return  # malformed shapes: normalization reports them


def _well_formed(holders: Any) -> list[dict[str, Any]]:
    """Return copies of the stack-trace holders whose frames are a list of
    objects (payloads are not normalized yet here)."""
    out = []
    for holder in holders if isinstance(holders, list) else []:
        stack = holder.get("stacktrace") if isinstance(holder, dict) else None
        frames = stack.get("frames") if isinstance(stack, dict) else None
        if isinstance(frames, list):
            kept = [f for f in frames if isinstance(f, dict)]
            out.append({"stacktrace": {"frames": kept}})
    return out


def _raw_js_frames(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the JS frames of a payload as sent: exceptions, the top-level
    stack trace and threads, in their well-formed shapes only."""
    shaped: dict[str, Any] = {"platform": data.get("platform")}
    for key in ("exception", "threads"):
        container = data.get(key)
        values = container.get("values") if isinstance(container, dict) else container
        shaped[key] = {"values": _well_formed(values)}
    top = _well_formed([data])
    if top:
        shaped["stacktrace"] = top[0]["stacktrace"]
    return js_frames(shaped)


def _map_url_of(minified: Artifact) -> str | None:
    name = minified.headers.get("sourcemap") or minified.headers.get("x-sourcemap")
    if not name:
        try:
            tail = storage.read_tail(
                minified.checksum, SOURCE_MAPPING_TAIL_BYTES
            ).decode("utf-8", "replace")
        except OSError:
            return None
        marker = tail.rfind("sourceMappingURL=")
        if marker < 0:
            return None
        name = tail[marker + len("sourceMappingURL=") :].split()[0]
        if name.startswith("data:"):
            return None
    return resolve_url(minified.url, name)


def _lookup_urls(project_id: int, wanted: _Wanted, used: set[int]) -> dict:
    by_url: dict[tuple[str, str, str], MapRef] = {}
    for (release, dist), paths in wanted.paths.items():
        candidates = {p: url_candidates(p) for p in paths}
        names = {c for cs in candidates.values() for c in cs}
        rows = Artifact.objects.filter(
            project_id=project_id, release=release, dist=dist, url__in=names
        )
        by_name: dict[tuple[str, str], Artifact] = {}
        for row in rows:
            by_name.setdefault((row.kind, row.url), row)
        minified_hits: dict[str, Artifact] = {}
        map_names: dict[str, str] = {}
        for path, cs in candidates.items():
            for candidate in cs:
                hit = by_name.get((Artifact.Kind.MINIFIED_SOURCE, candidate))
                if hit is not None:
                    minified_hits[path] = hit
                    map_url = _map_url_of(hit)
                    if map_url:
                        map_names[path] = map_url
                    break
            if path not in map_names:
                for candidate in cs:
                    if (Artifact.Kind.SOURCE_MAP, candidate + ".map") in by_name:
                        map_names[path] = candidate + ".map"
                        break
        maps = {
            row.url: row
            for row in Artifact.objects.filter(
                project_id=project_id,
                release=release,
                dist=dist,
                kind=Artifact.Kind.SOURCE_MAP,
                url__in=set(map_names.values()),
            )
        }
        for path, map_url in map_names.items():
            source_map = maps.get(map_url)
            if source_map is None:
                continue
            minified = minified_hits.get(path)
            used.add(source_map.pk)
            by_url[(release, dist, path)] = MapRef(
                source_map.checksum,
                source_map.size,
                source_map.url,
                minified.checksum if minified else "",
                minified.size if minified else 0,
            )
    return by_url


def _lookup(project_id: int, wanted: _Wanted, used: set[int]) -> SymbolLookup:
    lookup = SymbolLookup()
    ids = wanted.debug_ids | wanted.proguard
    if ids:
        rows = Artifact.objects.filter(project_id=project_id, debug_id__in=ids)
        maps: dict[str, Artifact] = {}
        minified: dict[str, Artifact] = {}
        for row in rows.order_by("-pk"):
            if row.kind == Artifact.Kind.SOURCE_MAP:
                maps.setdefault(row.debug_id, row)
            elif row.kind == Artifact.Kind.MINIFIED_SOURCE:
                minified.setdefault(row.debug_id, row)
            elif row.kind == Artifact.Kind.PROGUARD:
                lookup.proguard.setdefault(row.debug_id, (row.checksum, row.size))
                used.add(row.pk)
        for debug_id, row in maps.items():
            used.add(row.pk)
            small = minified.get(debug_id)
            lookup.by_debug_id[debug_id] = MapRef(
                row.checksum,
                row.size,
                row.url,
                small.checksum if small else "",
                small.size if small else 0,
            )
    lookup.by_url = _lookup_urls(project_id, wanted, used)
    return lookup


def attach_symbols(
    decoded: Sequence[tuple[str, dict[str, Any], bytes]], configs: dict[int, Any]
) -> None:
    """Give each project config of the batch that has artifacts the
    SymbolLookup its events need (``configs`` maps project id to
    fixtrail.digest.config.ProjectConfig, changed in place)."""
    if not configs:
        return
    with_artifacts = set(
        Artifact.objects.filter(project_id__in=list(configs))
        .values_list("project_id", flat=True)
        .distinct()
    )
    # Projects without artifacts still learn which events expected one.
    for project_id in set(configs) - with_artifacts:
        config = configs[project_id]
        empty = SymbolLookup(has_artifacts=False)
        config.options = dataclasses.replace(config.options, symbols=empty)
    if not with_artifacts:
        return
    wanted: dict[int, _Wanted] = defaultdict(_Wanted)
    for _, header, payload in decoded:
        project_id = header.get("project_id")
        if header.get("type") == "event" and project_id in with_artifacts:
            try:
                payload = items.item_payload(header, payload)
            except items.MalformedItem:
                continue  # prepare records it as the item's failure
            _scan(payload, wanted[project_id])
    used: set[int] = set()
    for project_id, want in wanted.items():
        config = configs[project_id]
        lookup = _lookup(project_id, want, used)
        config.options = dataclasses.replace(config.options, symbols=lookup)
    if used:
        now = timezone.now()
        Artifact.objects.filter(pk__in=used).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - USED_REFRESH)
        ).update(last_used_at=now)
