from __future__ import annotations

import datetime as dt

from fixtrail.issues.charts import Bucket, bucket_counts, histogram, sparkline

START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_it_buckets_counts_and_drops_rows_outside_the_range():
    rows = [
        (START, 2),
        (START + HOUR * 0.5, 1),
        (START + HOUR * 2, 5),
        (START - HOUR, 9),
        (START + HOUR * 3, 7),
    ]
    assert bucket_counts(rows, START, HOUR, 3) == [3, 0, 5]


def test_it_draws_a_sparkline_with_a_bar_per_busy_bucket():
    svg = str(sparkline([0, 5, 10, 0], "15 events <b>"))
    assert svg.startswith('<svg class="sparkline" viewBox="0 0 96 20"')
    assert 'aria-label="15 events &lt;b&gt;"' in svg
    assert svg.count("<rect ") == 2
    # The tallest bar fills the height; empty buckets draw nothing.
    assert '<rect x="48" y="0" width="23" height="20"></rect>' in svg


def test_it_draws_a_histogram_with_hover_titles_and_labels():
    buckets = [Bucket(START + HOUR * i, i, f"hour {i}", f"{i}h") for i in range(3)]
    svg = str(histogram(buckets, "Events <per> hour"))
    assert svg.count("<g>") == 3
    assert "<title>hour 1: 1 event</title>" in svg
    assert "<title>hour 2: 2 events</title>" in svg
    assert '<text class="axis" x="0" y="71">0h</text>' in svg
    assert ">2h</text>" in svg
    assert ">max 2</text>" in svg
    assert 'aria-label="Events &lt;per&gt; hour"' in svg


def test_it_draws_an_empty_histogram():
    assert ">max 0</text>" in str(histogram([], "nothing"))


def test_it_labels_the_middle_so_time_reads_left_to_right():
    buckets = [Bucket(START + HOUR * i, i, f"hour {i}", f"{i}h") for i in range(5)]
    svg = str(histogram(buckets, "Events per hour"))
    # Oldest left, middle in the middle, newest right.
    assert svg.index(">0h</text>") < svg.index(">4h</text>") < svg.index(">2h</text>")
    assert '<text class="axis mid" x="150" y="71">2h</text>' in svg
