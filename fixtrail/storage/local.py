"""Blobs as files under one directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fixtrail.storage import check_key

# Written first, then renamed into place; list() shows them so that cleanup
# can remove ones a killed process left behind.
TEMPORARY_PREFIX = ".part-"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into
    place, so a reader never sees half a file, creating directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class FileStore:
    """Blobs as files under ``root``; writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        """See BlobStore.put."""
        write_atomically(self._file(key), data)

    def get(self, key: str) -> bytes:
        """See BlobStore.get."""
        return self._file(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        """See BlobStore.open."""
        return self._file(key).open("rb")

    def tail(self, key: str, length: int) -> bytes:
        """See BlobStore.tail."""
        with self._file(key).open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, end - length))
            return handle.read()

    def size(self, key: str) -> int | None:
        """See BlobStore.size."""
        try:
            return self._file(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        """See BlobStore.delete."""
        self._file(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[tuple[str, float]]:
        """See BlobStore.list."""
        base = self._file(prefix.rstrip("/"))
        if not base.is_dir():
            return
        for directory, _, names in os.walk(base):
            for name in names:
                path = Path(directory) / name
                try:
                    modified = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                yield path.relative_to(self.root).as_posix(), modified

    def local_path(self, key: str) -> Path:
        """See BlobStore.local_path: the file itself."""
        path = self._file(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path
