"""Turn uploaded chunks into stored artifacts, as sentry-cli expects.

sentry-cli cuts a file into chunks, asks the assemble endpoint which of
them the server lacks, uploads those, then polls the same endpoint until
the answer is final. The answers (Sentry's states)::

    {"state": "not_found", "missingChunks": ["3f78..."], "detail": null}
    {"state": "ok", "missingChunks": [], "detail": null}
    {"state": "error", "missingChunks": [], "detail": "checksum mismatch"}

Assembly runs in the request once every chunk is there (files are bounded
by max_artifact_bytes, so it is short): join, check the whole sha1, open and
check the content, then store the files and create the Upload and its
Artifact rows in one transaction. Any check that fails records an Upload in
the error state with the reason, so the poll that follows gets it, and
creates no Artifact: nothing is half-stored.

Bundle format (a zip written by sentry-cli through symbolic's
SourceBundleWriter): ``manifest.json`` lists the files::

    {"files": {"files/_/_/main.js": {"type": "minified_source",
        "url": "~/main.js", "headers": {"debug-id": "…", "sourcemap": "main.js.map"}}},
     "attributes": {"debug_id": "…", "org": "acme", "release": "1.0"}}

Source: sentry-cli src/utils/source_bundle.rs and
src/api/data_types/chunking/ at getsentry/sentry-cli@fb79c59a.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from fixtrail.accounts.models import Organization
from fixtrail.projects.models import Project
from fixtrail.symbols import storage
from fixtrail.symbols.models import Artifact, Upload
from fixtrail.symbols.symbolicate import normalize_debug_id

# An error answer is repeated to polls for this long: sentry-cli polls for
# at most 5 minutes (DEFAULT_MAX_WAIT in its src/constants.rs).
ERROR_ANSWER_TTL = dt.timedelta(minutes=10)
# Files in one bundle: sentry-cli bundles a build's output, which is at most
# a few thousand files even for large single-page applications.
MAX_BUNDLE_FILES = 10_000

_ARTIFACT_KINDS = {
    "minified_source": Artifact.Kind.MINIFIED_SOURCE,
    "source_map": Artifact.Kind.SOURCE_MAP,
    "source": Artifact.Kind.SOURCE,
}
# A ProGuard class line: "com.example.Main -> a.b:".
_PROGUARD_CLASS = re.compile(rb"^\S+ -> \S+:\s*$", re.MULTILINE)


class AssembleError(ValueError):
    """The upload cannot become artifacts; the message says why."""


@dataclass
class Answer:
    """One file's assemble state, in Sentry's words."""

    state: str
    missing_chunks: list[str] = field(default_factory=list)
    detail: str | None = None
    upload: Upload | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the answer as sentry-cli reads it."""
        return {
            "state": self.state,
            "missingChunks": self.missing_chunks,
            "detail": self.detail,
        }


def max_artifact_bytes() -> int:
    """Return the largest file (assembled upload) accepted, in bytes."""
    return settings.FIXTRAIL_MAX_ARTIFACT_BYTES


def _join(checksum: str, chunks: Sequence[str]) -> bytes:
    limit = max_artifact_bytes()
    parts, size = [], 0
    for data in storage.read_chunks(chunks):
        size += len(data)
        if size > limit:
            raise AssembleError(f"File too large: the limit is {limit} bytes.")
        parts.append(data)
    joined = b"".join(parts)
    if storage.sha1_hex(joined) != checksum:
        raise AssembleError("Checksum mismatch: the chunks do not make this file.")
    return joined


def _existing(organization: Organization, kind: str, checksum: str) -> Answer | None:
    upload = Upload.objects.filter(
        organization=organization, kind=kind, checksum=checksum
    ).first()
    if upload is None:
        return None
    if upload.state == Upload.State.ERROR and (
        upload.created_at < timezone.now() - ERROR_ANSWER_TTL
    ):
        # Long past sentry-cli's polling: a new run of the same upload
        # (say, once the missing project exists) is assembled afresh.
        upload.delete()
        return None
    return Answer(upload.state, detail=upload.detail or None, upload=upload)


def _pending(chunks: Sequence[str]) -> Answer | None:
    """Return the not_found answer when chunks are missing (or malformed)."""
    bad = [c for c in chunks if not storage.is_checksum(c)]
    if bad:
        return Answer(Upload.State.ERROR, detail=f"Invalid chunk checksum: {bad[0]!r}")
    missing = storage.missing_chunks(chunks)
    if missing:
        return Answer("not_found", missing_chunks=missing)
    return None


def _record_error(
    organization: Organization, kind: str, checksum: str, detail: str, name: str = ""
) -> Answer:
    try:
        upload, _ = Upload.objects.get_or_create(
            organization=organization,
            kind=kind,
            checksum=checksum,
            defaults={
                "state": Upload.State.ERROR,
                "detail": detail[:500],
                "name": name,
            },
        )
    except IntegrityError:  # a concurrent poll recorded it first
        upload = Upload.objects.get(
            organization=organization, kind=kind, checksum=checksum
        )
    return Answer(upload.state, detail=upload.detail or None, upload=upload)


# -- artifact bundles -------------------------------------------------------------


@dataclass
class _BundleFile:
    kind: str
    url: str
    debug_id: str
    headers: dict[str, str]
    data: bytes


def _header_map(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in raw.items() if isinstance(v, str)}


def check_source_map(data: bytes, url: str) -> None:
    """Raise AssembleError when ``data`` is not a source map symbolic reads."""
    from symbolic.sourcemap import SourceMapView

    try:
        SourceMapView.from_json_bytes(data)
    except Exception as exc:  # symbolic raises its own error family
        raise AssembleError(f"Source map {url} does not parse: {exc}") from None


def read_bundle(data: bytes) -> tuple[dict[str, Any], list[_BundleFile]]:
    """Return a bundle's attributes and files; AssembleError when the zip
    is not an artifact bundle or one of its source maps does not parse."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = orjson.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, orjson.JSONDecodeError, OSError):
        raise AssembleError(
            "Not an artifact bundle: expected a zip with a manifest.json."
        ) from None
    entries = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(entries, dict):
        raise AssembleError("Not an artifact bundle: the manifest lists no files.")
    if len(entries) > MAX_BUNDLE_FILES:
        raise AssembleError(f"Too many files in the bundle (over {MAX_BUNDLE_FILES}).")
    names = set(archive.namelist())
    files = []
    for path, info in entries.items():
        info = info if isinstance(info, dict) else {}
        member = path if path in names else f"files/{path}"
        if member not in names:
            raise AssembleError(f"The bundle lists {path} but does not contain it.")
        url = str(info.get("url") or path)[:500]
        kind = _ARTIFACT_KINDS.get(info.get("type"), Artifact.Kind.OTHER)
        headers = _header_map(info.get("headers"))
        content = archive.read(member)
        if kind == Artifact.Kind.SOURCE_MAP:
            check_source_map(content, url)
        raw_id = headers.get("debug-id") or headers.get("debug_id")
        debug_id = normalize_debug_id(raw_id)
        files.append(_BundleFile(kind, url, debug_id, headers, content))
    attributes = manifest.get("attributes")
    return attributes if isinstance(attributes, dict) else {}, files


def _bundle_projects(organization: Organization, slugs: Sequence[str]) -> list[Project]:
    if not slugs:
        raise AssembleError("Name at least one project for the bundle.")
    projects = list(Project.objects.filter(organization=organization, slug__in=slugs))
    found = {p.slug for p in projects}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise AssembleError(f"Unknown project: {unknown[0]}")
    return projects


def assemble_bundle(
    organization: Organization,
    checksum: str,
    chunks: Sequence[str],
    project_slugs: Sequence[str],
    release: str = "",
    dist: str = "",
) -> Answer:
    """Assemble an artifact bundle from its chunks (see module docstring).

    The bundle's files are indexed in each named project by debug ID and,
    when ``release`` is given (or the manifest names one), by release +
    dist + URL.
    """
    kind = Upload.Kind.BUNDLE
    if not storage.is_checksum(checksum):
        return Answer(Upload.State.ERROR, detail="Invalid checksum.")
    done = _existing(organization, kind, checksum)
    if done is not None:
        return done
    pending = _pending(chunks)
    if pending is not None:
        return pending
    try:
        projects = _bundle_projects(organization, project_slugs)
        data = _join(checksum, chunks)
        attributes, files = read_bundle(data)
    except AssembleError as exc:
        return _record_error(organization, kind, checksum, str(exc))
    release = release or str(attributes.get("release") or "")
    dist = dist or str(attributes.get("dist") or "")
    stored = [(f, storage.save_file(f.data)) for f in files]
    upload = Upload(
        organization=organization,
        kind=kind,
        checksum=checksum,
        state=Upload.State.OK,
        name=f"Bundle {normalize_debug_id(attributes.get('debug_id')) or checksum}",
        debug_id=normalize_debug_id(attributes.get("debug_id")),
        release=release[:250],
        dist=dist[:64],
        size=len(data),
    )
    try:
        with transaction.atomic():
            upload.save()
            Artifact.objects.bulk_create(
                Artifact(
                    project=project,
                    upload=upload,
                    kind=f.kind,
                    url=f.url,
                    debug_id=f.debug_id,
                    release=upload.release,
                    dist=upload.dist,
                    checksum=file_checksum,
                    size=len(f.data),
                    headers=f.headers,
                )
                for project in projects
                for f, file_checksum in stored
            )
    except IntegrityError:  # a concurrent call assembled it first
        return _existing(organization, kind, checksum) or Answer("assembling")
    return Answer(Upload.State.OK, upload=upload)


# -- debug files (ProGuard) -----------------------------------------------------


def proguard_uuid(data: bytes) -> str:
    """Return the debug ID of a ProGuard mapping, as symbolic computes it;
    AssembleError when the file is not a ProGuard mapping."""
    from symbolic.proguard import ProguardMapper

    if not _PROGUARD_CLASS.search(data[:1_000_000]):
        raise AssembleError("Not a ProGuard mapping: no class mapping lines.")
    # symbolic reads mappings from a path; a temporary file keeps a refused
    # upload out of storage.
    with tempfile.NamedTemporaryFile(suffix=".txt") as handle:
        handle.write(data)
        handle.flush()
        return str(ProguardMapper.open(handle.name).uuid)


def assemble_dif(
    project: Project, checksum: str, name: str, debug_id: str, chunks: Sequence[str]
) -> Answer:
    """Assemble one debug information file (only ProGuard mappings are
    applied by digest; others are refused with a clear detail)."""
    organization = project.organization
    kind = Upload.Kind.DIF
    if not storage.is_checksum(checksum):
        return Answer(Upload.State.ERROR, detail="Invalid checksum.")
    done = _existing(organization, kind, checksum)
    if done is not None:
        return done
    pending = _pending(chunks)
    if pending is not None:
        return pending
    try:
        data = _join(checksum, chunks)
        uuid = proguard_uuid(data)
    except AssembleError as exc:
        return _record_error(organization, kind, checksum, str(exc), name[:250])
    file_checksum = storage.save_file(data)
    upload = Upload(
        organization=organization,
        kind=kind,
        checksum=checksum,
        state=Upload.State.OK,
        name=name[:250] or "proguard.txt",
        debug_id=normalize_debug_id(debug_id) or uuid,
        size=len(data),
    )
    try:
        with transaction.atomic():
            upload.save()
            Artifact.objects.create(
                project=project,
                upload=upload,
                kind=Artifact.Kind.PROGUARD,
                url=upload.name,
                debug_id=uuid,
                checksum=file_checksum,
                size=len(data),
            )
    except IntegrityError:
        return _existing(organization, kind, checksum) or Answer("assembling")
    return Answer(Upload.State.OK, upload=upload)


def dif_payload(upload: Upload) -> dict[str, Any]:
    """Return the ``dif`` object of an assemble answer (sentry-cli prints
    its id, object name and CPU name)."""
    return {
        "id": str(upload.pk),
        "uuid": upload.debug_id,
        "debugId": upload.debug_id,
        "objectName": upload.name,
        "cpuName": "any",
        "sha1": upload.checksum,
        "size": upload.size,
        "dateCreated": upload.created_at.isoformat(),
        "symbolType": "proguard",
        "data": {"features": ["mapping"]},
    }


# -- release files (the older, one-file-per-request flow) --------------------


def store_release_file(
    project: Project,
    release: str,
    dist: str,
    name: str,
    data: bytes,
    headers: dict[str, str],
) -> Artifact:
    """Store one release file under its URL ``name``; AssembleError when it
    is too large, is a source map that does not parse, or the name is
    already taken in this release and dist."""
    limit = max_artifact_bytes()
    if len(data) > limit:
        raise AssembleError(f"File too large: the limit is {limit} bytes.")
    if not name:
        raise AssembleError("A release file needs a name (its URL).")
    is_map = name.endswith(".map")
    if is_map:
        check_source_map(data, name)
    taken = Artifact.objects.filter(
        project=project, release=release, dist=dist, url=name
    ).exists()
    if taken:
        raise AssembleError(f"A file named {name} already exists in this release.")
    checksum = storage.save_file(data)
    with transaction.atomic():
        upload, _ = Upload.objects.get_or_create(
            organization=project.organization,
            kind=Upload.Kind.RELEASE_FILE,
            checksum=storage.sha1_hex(
                f"{project.pk}\n{release}\n{dist}\n{name}\n{checksum}".encode()
            ),
            defaults={
                "state": Upload.State.OK,
                "name": name[:250],
                "release": release[:250],
                "dist": dist[:64],
                "size": len(data),
            },
        )
        return Artifact.objects.create(
            project=project,
            upload=upload,
            kind=Artifact.Kind.SOURCE_MAP if is_map else Artifact.Kind.MINIFIED_SOURCE,
            url=name[:500],
            debug_id=normalize_debug_id(headers.get("debug-id")),
            release=release[:250],
            dist=dist[:64],
            checksum=checksum,
            size=len(data),
            headers={k.lower(): v for k, v in headers.items()},
        )
