from __future__ import annotations

import re

import pytest

from fixtrail.ingest.attachments import (
    MAX_FILENAME_LENGTH,
    attachment_path,
    remove_attachments,
    safe_filename,
    write_attachment,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.log", "app.log"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\crash.dmp", "crash.dmp"),
        ("..", "attachment"),
        (".hidden", "hidden"),
        ("résumé final.txt", "r_sum_final.txt"),
        ("", "attachment"),
        (None, "attachment"),
        (5, "attachment"),
        ("a" * 300, "a" * MAX_FILENAME_LENGTH),
        ("nul\0byte", "nul_byte"),
    ],
)
def test_it_makes_safe_file_names(name, expected):
    assert safe_filename(name) == expected


def test_it_builds_paths_per_project_and_event():
    path = attachment_path(7, "a" * 32, 2, "../x.log")
    assert re.fullmatch(rf"7/{'a' * 32}/2-[0-9a-f]{{16}}-x\.log", path)
    # Every upload gets a file of its own, even with the same event id.
    assert attachment_path(7, "a" * 32, 2, "../x.log") != path


def test_it_writes_and_overwrites_files(tmp_path):
    path = write_attachment(tmp_path, "1/abc/0-a.txt", b"first")
    assert path == tmp_path / "attachments" / "1" / "abc" / "0-a.txt"
    write_attachment(tmp_path, "1/abc/0-a.txt", b"second")
    assert path.read_bytes() == b"second"
    # No temporary file is left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == ["0-a.txt"]


def test_it_removes_written_files_and_ignores_missing_ones(tmp_path):
    path = write_attachment(tmp_path, "1/abc/0-a.txt", b"x")
    remove_attachments([path, tmp_path / "missing"])
    assert path.exists() is False
