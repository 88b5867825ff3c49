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


def test_it_stores_attachments_under_their_key(isolated_data):
    key = write_attachment("1/abc/0-a.txt", b"first")
    assert key == "attachments/1/abc/0-a.txt"
    assert (isolated_data / key).read_bytes() == b"first"


def test_it_removes_written_attachments_and_ignores_missing_ones(isolated_data):
    key = write_attachment("1/abc/0-a.txt", b"x")
    remove_attachments([key, "attachments/missing"])
    assert not (isolated_data / key).exists()
