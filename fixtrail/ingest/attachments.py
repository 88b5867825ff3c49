"""Keep envelope attachments in the blob store, for digest to link.

An attachment is stored under the key (fixtrail.storage)::

    attachments/<project_id>/<event_id>/<n>-<random>-<safe name>

where ``n`` is the item's position in its envelope (two attachments may
share a name), ``random`` makes each upload a new file, and the safe name
keeps only ``A-Z a-z 0-9 . _ -`` of what the SDK sent. The queue message
carries the key relative to ``attachments/``. A reader never sees half a
blob; an envelope sent again writes new blobs, and digest keeps the first.

In the default file store, durability matches the SQLite queue's default
(``synchronous=NORMAL``): the file survives the ingest process being
killed, not a power cut.
"""

from __future__ import annotations

import re
import secrets

from fixtrail.storage import blob_store

ATTACHMENTS_PREFIX = "attachments/"

# Long enough to keep real names recognisable ("minidump.dmp",
# "view-hierarchy.json"), short enough for every filesystem's 255-byte limit.
MAX_FILENAME_LENGTH = 100

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: object) -> str:
    """Return a name safe to create in a directory: no separators, no leading
    dots, at most MAX_FILENAME_LENGTH characters, ``attachment`` if empty."""
    text = name if isinstance(name, str) else ""
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).lstrip(".")[:MAX_FILENAME_LENGTH]
    return text or "attachment"


def attachment_path(
    project_id: int, event_id: str, index: int, filename: object
) -> str:
    """Return a new path for an attachment, relative to the attachments
    directory.

    A random part makes every upload a file of its own: anyone holding the
    public DSN key could otherwise resend an event id and replace the files
    of an event already stored.
    """
    unique = secrets.token_hex(8)
    return f"{project_id}/{event_id}/{index}-{unique}-{safe_filename(filename)}"


def attachment_slot(relative_path: str) -> str:
    """Return the path without its random part: the same for every upload
    of the same attachment of the same event, so digest keeps the first."""
    head, _, name = relative_path.rpartition("/")
    return f"{head}/{_RANDOM_PART.sub('-', name, count=1)}"


_RANDOM_PART = re.compile(r"-[0-9a-f]{16}-")


def write_attachment(relative_path: str, payload: bytes) -> str:
    """Store ``payload`` as the attachment at ``relative_path``; return its
    storage key."""
    key = ATTACHMENTS_PREFIX + relative_path
    blob_store().put(key, payload)
    return key


def remove_attachments(keys: list[str]) -> None:
    """Delete blobs written for a request that was then refused."""
    store = blob_store()
    for key in keys:
        store.delete(key)
