"""Uploads from sentry-cli: chunked upload, assemble, and release files.

The chunk-upload options tell sentry-cli how to cut and send files; it then
asks an assemble endpoint which chunks are missing, sends them, and polls
that endpoint until the state is final (see fixtrail.symbols.assemble).
Paths and shapes follow sentry-cli's src/api/mod.rs and
src/api/data_types/chunking/ at getsentry/sentry-cli@fb79c59a.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Schema

from fixtrail.accounts.models import Organization, Role, User
from fixtrail.api.access import membership_for, parse_id, project_for
from fixtrail.api.auth import TokenAuth, authenticate_token, scope_granted
from fixtrail.api.errors import BadRequest, MissingScope
from fixtrail.api.pagination import page_rows
from fixtrail.releases.models import Release
from fixtrail.symbols import storage
from fixtrail.symbols.assemble import (
    AssembleError,
    assemble_bundle,
    assemble_dif,
    dif_payload,
    max_artifact_bytes,
    store_release_file,
)
from fixtrail.symbols.models import Artifact, Upload
from fixtrail.symbols.retention import delete_artifact

router = Router(tags=["artifacts"])

# What Sentry advertises (sentry/api/endpoints/chunk.py): 8 MiB chunks, 64
# per request, 32 MiB per request, 8 requests at a time.
CHUNKS_PER_REQUEST = 64
MAX_REQUEST_BYTES = 32 * 1024 * 1024
CONCURRENCY = 8
# The kinds of upload sentry-cli may send here.
ACCEPTS = ["debug_files", "release_files", "artifact_bundles", "proguard", "sources"]

# Sentry lets tokens with any of these upload release artifacts.
RELEASE_SCOPES = ("project:releases", "project:write", "org:read")


class ReleaseTokenAuth(TokenAuth):
    """A token with any scope that may upload release artifacts."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(request, token)
        if not any(scope_granted(api_token.scopes, s) for s in RELEASE_SCOPES):
            raise MissingScope(RELEASE_SCOPES[0])
        return api_token


RELEASE_AUTH = [ReleaseTokenAuth("")]


def _organization(
    user: User, org_slug: str, minimum: str = Role.MEMBER
) -> Organization:
    return membership_for(user, org_slug, minimum).organization


# -- chunks ---------------------------------------------------------------------------


@router.get("/organizations/{org_slug}/chunk-upload/", auth=RELEASE_AUTH)
def chunk_options(request: HttpRequest, org_slug: str) -> dict:
    """Tell sentry-cli how to send chunks."""
    _organization(request.user, org_slug, Role.VIEWER)
    return {
        "url": request.build_absolute_uri(request.path),
        "chunkSize": storage.MAX_CHUNK_BYTES,
        "chunksPerRequest": CHUNKS_PER_REQUEST,
        "maxFileSize": max_artifact_bytes(),
        "maxRequestSize": MAX_REQUEST_BYTES,
        "concurrency": CONCURRENCY,
        "hashAlgorithm": "sha1",
        "compression": ["gzip"],
        "accept": ACCEPTS,
    }


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, storage.MAX_CHUNK_BYTES + 1)
    except zlib.error:
        raise BadRequest("A chunk is not valid gzip.") from None
    if len(out) > storage.MAX_CHUNK_BYTES or inflater.unconsumed_tail:
        raise BadRequest(f"A chunk is larger than {storage.MAX_CHUNK_BYTES} bytes.")
    return out


@router.post("/organizations/{org_slug}/chunk-upload/", auth=RELEASE_AUTH)
def upload_chunks(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Store chunks sent as multipart files named by their sha1 (``file``,
    or ``file_gzip`` when gzip-compressed); each is checked first."""
    _organization(request.user, org_slug)
    received = [(f, False) for f in request.FILES.getlist("file")]
    received += [(f, True) for f in request.FILES.getlist("file_gzip")]
    if len(received) > CHUNKS_PER_REQUEST:
        raise BadRequest(f"At most {CHUNKS_PER_REQUEST} chunks per request.")
    chunks = []
    for upload, compressed in received:
        data = upload.read(MAX_REQUEST_BYTES + 1)
        chunks.append((upload.name or "", _gunzip(data) if compressed else data))
    for name, data in chunks:
        try:
            storage.save_chunk(name, data)
        except storage.StorageError as exc:
            raise BadRequest(str(exc)) from None
    return HttpResponse(status=200)


# -- assemble -------------------------------------------------------------------------


class BundleAssemble(Schema):
    checksum: str
    chunks: list[str] = []
    projects: list[str] = []
    version: str | None = None
    dist: str | None = None


@router.post("/organizations/{org_slug}/artifactbundle/assemble/", auth=RELEASE_AUTH)
def assemble_artifact_bundle(
    request: HttpRequest, org_slug: str, body: BundleAssemble
) -> dict:
    """Assemble an artifact bundle; answer its state."""
    organization = _organization(request.user, org_slug)
    answer = assemble_bundle(
        organization,
        body.checksum,
        body.chunks,
        body.projects,
        body.version or "",
        body.dist or "",
    )
    return answer.to_json()


DIF_ASSEMBLE = "/projects/{org_slug}/{project_slug}/files/difs/assemble/"


@router.post(DIF_ASSEMBLE, auth=RELEASE_AUTH)
def assemble_difs(request: HttpRequest, org_slug: str, project_slug: str) -> dict:
    """Assemble debug files, keyed by checksum: ``{checksum: {name,
    debug_id, chunks}}``; answer each one's state."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    try:
        files = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise BadRequest("The body must be a JSON object.") from None
    if not isinstance(files, dict):
        raise BadRequest("The body must be a JSON object.")
    answers = {}
    for checksum, spec in list(files.items())[:CHUNKS_PER_REQUEST]:
        spec = spec if isinstance(spec, dict) else {}
        chunks = [c for c in spec.get("chunks") or [] if isinstance(c, str)]
        answer = assemble_dif(
            project,
            str(checksum),
            str(spec.get("name") or ""),
            str(spec.get("debug_id") or ""),
            chunks,
        )
        payload = answer.to_json()
        ok = answer.upload is not None and answer.state == Upload.State.OK
        payload["dif"] = dif_payload(answer.upload) if ok else None
        answers[checksum] = payload
    return answers


# -- release files --------------------------------------------------------------------

PROJECT_FILES = "/projects/{org_slug}/{project_slug}/releases/{version}/files/"
ORG_FILES = "/organizations/{org_slug}/releases/{version}/files/"


def _release(organization: Organization, version: str) -> Release:
    release = Release.objects.filter(organization=organization, version=version).first()
    if release is None:
        raise Http404("No such release")
    return release


def file_payload(artifact: Artifact) -> dict:
    """Return a release file in Sentry's shape."""
    return {
        "id": str(artifact.pk),
        "name": artifact.url,
        "dist": artifact.dist or None,
        "headers": {k.title(): v for k, v in artifact.headers.items()},
        "size": artifact.size,
        "sha1": artifact.checksum,
        "dateCreated": artifact.created_at.isoformat().replace("+00:00", "Z"),
    }


def _list_files(request: HttpRequest, response: HttpResponse, rows) -> list[dict]:
    rows = rows.exclude(kind=Artifact.Kind.PROGUARD).order_by("url", "pk")
    return [file_payload(a) for a in page_rows(request, response, rows)]


@router.get(PROJECT_FILES, auth=RELEASE_AUTH)
def project_release_files(
    request: HttpRequest,
    response: HttpResponse,
    org_slug: str,
    project_slug: str,
    version: str,
) -> list[dict]:
    """List a release's files in one project."""
    project, _ = project_for(request.user, org_slug, project_slug)
    _release(project.organization, version)
    rows = Artifact.objects.filter(project=project, release=version)
    return _list_files(request, response, rows)


@router.get(ORG_FILES, auth=RELEASE_AUTH)
def org_release_files(
    request: HttpRequest, response: HttpResponse, org_slug: str, version: str
) -> list[dict]:
    """List a release's files in every project of the organization."""
    organization = _organization(request.user, org_slug, Role.VIEWER)
    _release(organization, version)
    rows = Artifact.objects.filter(project__organization=organization, release=version)
    return _list_files(request, response, rows)


@router.post(PROJECT_FILES, auth=RELEASE_AUTH)
def upload_release_file(
    request: HttpRequest, org_slug: str, project_slug: str, version: str
) -> HttpResponse:
    """Store one release file (multipart: ``file``, ``name``, ``dist``,
    ``header`` lines such as ``Sourcemap: main.js.map``)."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    _release(project.organization, version)
    upload = request.FILES.get("file")
    if upload is None:
        raise BadRequest("Send the file as the multipart field 'file'.")
    headers = {}
    for line in request.POST.getlist("header"):
        key, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("A header must read 'Name: value'.")
        headers[key.strip().lower()] = value.strip()
    name = request.POST.get("name") or upload.name or ""
    texts = [name, request.POST.get("dist", ""), *headers, *headers.values()]
    if any("\x00" in text for text in texts):
        raise BadRequest("Text cannot contain NUL characters.")
    try:
        artifact = store_release_file(
            project,
            version,
            request.POST.get("dist", ""),
            name,
            upload.read(),
            headers,
        )
    except AssembleError as exc:
        status = 409 if "already exists" in str(exc) else 400
        return _json({"detail": str(exc)}, status)
    return _json(file_payload(artifact), 201)


def _json(payload: dict, status: int) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(payload), status=status, content_type="application/json"
    )


def _file_of(rows, file_id: str) -> Artifact:
    artifact = rows.filter(pk=parse_id(file_id)).first()
    if artifact is None:
        raise Http404("No such file")
    return artifact


@router.get(PROJECT_FILES + "{file_id}/", auth=RELEASE_AUTH)
def project_release_file(
    request: HttpRequest, org_slug: str, project_slug: str, version: str, file_id: str
) -> dict:
    """Return one release file's details."""
    project, _ = project_for(request.user, org_slug, project_slug)
    _release(project.organization, version)
    rows = Artifact.objects.filter(project=project, release=version)
    return file_payload(_file_of(rows, file_id))


@router.delete(PROJECT_FILES + "{file_id}/", auth=RELEASE_AUTH)
def delete_project_release_file(
    request: HttpRequest, org_slug: str, project_slug: str, version: str, file_id: str
) -> HttpResponse:
    """Delete one release file."""
    project, _ = project_for(request.user, org_slug, project_slug, Role.MEMBER)
    _release(project.organization, version)
    rows = Artifact.objects.filter(project=project, release=version)
    delete_artifact(_file_of(rows, file_id))
    return HttpResponse(status=204)


@router.delete(ORG_FILES + "{file_id}/", auth=RELEASE_AUTH)
def delete_org_release_file(
    request: HttpRequest, org_slug: str, version: str, file_id: str
) -> HttpResponse:
    """Delete one release file found through the organization."""
    organization = _organization(request.user, org_slug)
    _release(organization, version)
    rows = Artifact.objects.filter(project__organization=organization, release=version)
    delete_artifact(_file_of(rows, file_id))
    return HttpResponse(status=204)
