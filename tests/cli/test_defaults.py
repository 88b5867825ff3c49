"""Defaults the command line picks for the machine it runs on."""

from __future__ import annotations

import pytest

from fixtrail.cli import build_parser, run_web_workers


@pytest.mark.parametrize(
    ("cores", "workers"), [(None, 1), (1, 1), (2, 1), (3, 2), (8, 4), (64, 4)]
)
def test_run_leaves_a_core_to_digest(cores, workers):
    assert run_web_workers(cores) == workers


def test_web_alone_keeps_two_workers():
    assert build_parser().parse_args(["web"]).workers == 2
