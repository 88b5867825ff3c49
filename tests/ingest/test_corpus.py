"""Every real SDK event of the shared corpus is accepted, by /store/ and in an
envelope, and lands in the queue byte for byte."""

from __future__ import annotations

import gzip

import pytest

from fixtrail.ingest.envelope import normalize_event_id
from tests.conftest import CORPUS_DIR, CORPUS_FILES
from tests.ingest.conftest import auth_header, envelope, queued_of_type


def _event_id_in(payload: bytes) -> str | None:
    import orjson

    return normalize_event_id(orjson.loads(payload).get("event_id"))


CORPUS = pytest.mark.parametrize(
    "path", CORPUS_FILES, ids=lambda path: str(path.relative_to(CORPUS_DIR))
)


@CORPUS
def test_it_accepts_every_corpus_event_through_store(
    corpus_dir, wsgi_sdk, project_key, path
):
    payload = path.read_bytes()
    answer = wsgi_sdk.request(
        "POST",
        f"/api/{project_key.project_id}/store/",
        gzip.compress(payload),
        {**auth_header(project_key.public_key), "Content-Encoding": "gzip"},
    )
    assert answer.status == 200, answer.body
    [(header, queued_payload)] = queued_of_type("event")
    assert queued_payload == payload
    assert answer.json() == {"id": header["event_id"]}
    expected_id = _event_id_in(payload)
    if expected_id is not None:
        assert header["event_id"] == expected_id


@CORPUS
def test_it_accepts_every_corpus_event_in_an_envelope(
    corpus_dir, wsgi_sdk, project_key, path
):
    payload = path.read_bytes()
    body = envelope([({"type": "event"}, payload)], {"sent_at": "2024-05-01T10:00:00Z"})
    answer = wsgi_sdk.request(
        "POST",
        f"/api/{project_key.project_id}/envelope/",
        body,
        auth_header(project_key.public_key),
    )
    assert answer.status == 200, answer.body
    [(header, queued_payload)] = queued_of_type("event")
    assert queued_payload == payload
    assert answer.json() == {"id": header["event_id"]}
