"""Ranking suspect commits by the files of a crash's frames."""

from __future__ import annotations

import datetime as dt

import pytest

from fixtrail.releases.ranking import (
    MAX_FRAMES,
    Candidate,
    Frame,
    frame_paths,
    ordered_frames,
    rank_suspects,
    suffix_match,
)

CART = Frame(abs_path="/srv/app/shop/cart.py", filename="shop/cart.py",
             module="shop.cart", lineno=6, in_app=True)  # fmt: skip
CHECKOUT = Frame(abs_path="/srv/app/shop/checkout.py", module="shop.checkout",
                 in_app=True)  # fmt: skip
DJANGO = Frame(abs_path="/venv/django/core/handlers/base.py", in_app=False)
# SDKs send frames outermost first: the crash happened in CART.
FRAMES = [DJANGO, CHECKOUT, CART]
T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("frame", "path", "expected"),
    [
        (CART, "shop/cart.py", 2),
        (CART, "src/shop/cart.py", 2),
        (CART, "srv/app/shop/cart.py", 4),
        (CART, "lib/cart.py", 1),
        (CART, "shop/carts.py", 0),
        (CART, "shop/cart.py/", 2),
        (CART, "", 0),
        (Frame(module="shop.cart"), "src/shop/cart.py", 2),
        (Frame(filename="C:\\app\\shop\\cart.py"), "shop/cart.py", 2),
        (Frame(abs_path="https://cdn.example.com/static/js/app.js"),
         "frontend/static/js/app.js", 3),
        (Frame(abs_path="app:///main.js"), "src/main.js", 1),
        (Frame(module="<frozen runpy>"), "runpy.py", 0),
    ],
)  # fmt: skip
def test_it_matches_frames_and_paths_by_suffix(frame, path, expected):
    assert suffix_match(frame, path) == expected


def test_it_spells_a_python_module_as_a_file():
    assert frame_paths(Frame(module="shop.cart")) == [["shop", "cart.py"]]


def test_it_orders_frames_innermost_and_in_app_first():
    assert ordered_frames(FRAMES) == [CART, CHECKOUT, DJANGO]


def test_it_bounds_the_frames_considered():
    many = [Frame(filename=f"f{i}.py", in_app=True) for i in range(100)]
    assert len(ordered_frames(many)) == MAX_FRAMES


def _keys(candidates, frames=FRAMES, limit=3):
    return [s.key for s in rank_suspects(frames, candidates, limit)]


def test_it_ranks_the_crashing_file_first():
    assert _keys([
        Candidate("checkout", ("shop/checkout.py",)),
        Candidate("cart", ("shop/cart.py",)),
        Candidate("docs", ("README.md",)),
    ]) == ["cart", "checkout"]  # fmt: skip


def test_it_ranks_a_blamed_commit_first():
    assert _keys([
        Candidate("cart", ("shop/cart.py",)),
        Candidate("blamed", ("shop/checkout.py",), blamed=True),
    ]) == ["blamed", "cart"]  # fmt: skip


def test_it_keeps_a_blamed_commit_that_touches_no_frame():
    [suspicion] = rank_suspects(FRAMES, [Candidate("b", ("x.py",), blamed=True)])
    assert (suspicion.key, suspicion.path, suspicion.blamed) == ("b", "", True)


def test_it_prefers_the_longer_path_match():
    assert _keys([
        Candidate("other-cart", ("vendor/cart.py",)),
        Candidate("cart", ("src/shop/cart.py",)),
    ]) == ["cart", "other-cart"]  # fmt: skip


def test_it_prefers_the_first_release_then_the_newest_commit():
    assert _keys([
        Candidate("older-release", ("shop/cart.py",), release_distance=1,
                  authored_at=T + dt.timedelta(days=9)),
        Candidate("old", ("shop/cart.py",), authored_at=T),
        Candidate("new", ("shop/cart.py",), authored_at=T + dt.timedelta(hours=1)),
    ]) == ["new", "old", "older-release"]  # fmt: skip


def test_it_ranks_library_frames_after_app_frames():
    assert _keys([
        Candidate("django", ("django/core/handlers/base.py",)),
        Candidate("checkout", ("shop/checkout.py",)),
    ]) == ["checkout", "django"]  # fmt: skip


def test_it_returns_at_most_limit():
    candidates = [Candidate(str(i), ("shop/cart.py",)) for i in range(10)]
    assert len(rank_suspects(FRAMES, candidates, limit=3)) == 3
    assert rank_suspects(FRAMES, candidates, limit=0) == []


def test_it_finds_nothing_without_frames():
    assert rank_suspects([], [Candidate("cart", ("shop/cart.py",))]) == []


def test_it_explains_the_match():
    [suspicion] = rank_suspects(FRAMES, [Candidate("c", ("src/shop/cart.py",))])
    assert (suspicion.path, suspicion.frame_index, suspicion.matched_components) == (
        "src/shop/cart.py",
        0,
        2,
    )
