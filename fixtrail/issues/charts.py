"""Charts drawn on the server as inline SVG: list sparklines and the issue
page's event histograms.

Bars are plain <rect> elements coloured by classes in issues.css (the
Content-Security-Policy forbids style attributes); each bar of a histogram
carries a <title>, which browsers show on hover, so no script is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

SPARKLINE_WIDTH = 96  # px, fits the list's sparkline column
SPARKLINE_HEIGHT = 20  # px, one text line
# The histogram's viewBox, about the size it is shown at in the issue
# page's sidebar, so its text needs no distorting scale.
CHART_WIDTH = 300  # px
CHART_HEIGHT = 60  # px, bars only
CHART_LABEL_HEIGHT = 13  # px below the bars for the first/last labels
# A bar for a bucket with a few events must still be visible next to a
# bucket with thousands.
MIN_BAR_HEIGHT = 1.5


@dataclass(frozen=True)
class Bucket:
    """One bar: its start, its count, the label shown on hover and the
    short one shown under the first and last bars."""

    start: datetime
    count: int
    label: str
    axis: str = ""


def bucket_counts(
    rows: Iterable[tuple[datetime, int]], start: datetime, step: timedelta, buckets: int
) -> list[int]:
    """Return ``buckets`` totals of ``rows`` (moment, count), the first one
    covering [start, start + step); rows outside the range are ignored."""
    totals = [0] * buckets
    for moment, count in rows:
        index = int((moment - start) // step)
        if 0 <= index < buckets:
            totals[index] += count
    return totals


def sparkline(counts: list[int], label: str) -> SafeString:
    """Return a small bar chart of ``counts`` (oldest first) as SVG."""
    peak = max(counts, default=0)
    width = SPARKLINE_WIDTH / max(len(counts), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}"></rect>',
        (
            (
                _num(i * width),
                _num(SPARKLINE_HEIGHT - height),
                _num(max(width - 1, 0.5)),
                _num(height),
            )
            for i, count in enumerate(counts)
            if (height := _bar_height(count, peak, SPARKLINE_HEIGHT))
        ),
    )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-label="{}"><title>{}</title>'
        '<line class="base" x1="0" y1="{}" x2="{}" y2="{}"></line>{}</svg>',
        SPARKLINE_WIDTH,
        SPARKLINE_HEIGHT,
        SPARKLINE_WIDTH,
        SPARKLINE_HEIGHT,
        label,
        label,
        SPARKLINE_HEIGHT - 0.5,
        SPARKLINE_WIDTH,
        SPARKLINE_HEIGHT - 0.5,
        bars,
    )


def histogram(buckets: list[Bucket], title: str) -> SafeString:
    """Return a bar chart of ``buckets`` (oldest first) with hover titles,
    the peak value and the first and last bucket labels."""
    peak = max((b.count for b in buckets), default=0)
    width = CHART_WIDTH / max(len(buckets), 1)
    bars = format_html_join(
        "",
        '<g><rect class="hit" x="{}" y="0" width="{}" height="{}"></rect>'
        '<rect x="{}" y="{}" width="{}" height="{}"></rect>'
        "<title>{}: {} event{}</title></g>",
        (
            (
                _num(i * width),
                _num(width),
                CHART_HEIGHT,
                _num(i * width + 0.5),
                _num(CHART_HEIGHT - height),
                _num(max(width - 1.5, 0.5)),
                _num(height),
                bucket.label,
                bucket.count,
                "" if bucket.count == 1 else "s",
            )
            for i, bucket in enumerate(buckets)
            for height in [_bar_height(bucket.count, peak, CHART_HEIGHT)]
        ),
    )
    first = buckets[0].axis if buckets else ""
    last = buckets[-1].axis if buckets else ""
    # A third label under the middle bar: with only the two ends, a reader
    # cannot tell which way time runs.
    middle = buckets[len(buckets) // 2].axis if len(buckets) > 2 else ""
    total = CHART_HEIGHT + CHART_LABEL_HEIGHT
    return format_html(
        '<svg class="histogram" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}"><title>{}</title>'
        '<line class="base" x1="0" y1="{}" x2="{}" y2="{}"></line>{}'
        '<text class="axis" x="0" y="{}">{}</text>'
        '<text class="axis end" x="{}" y="{}">{}</text>'
        '<text class="axis mid" x="{}" y="{}">{}</text>'
        '<text class="axis peak" x="2" y="9">max {}</text></svg>',
        CHART_WIDTH,
        total,
        title,
        title,
        CHART_HEIGHT,
        CHART_WIDTH,
        CHART_HEIGHT,
        bars,
        total - 2,
        first,
        CHART_WIDTH,
        total - 2,
        last,
        _num((len(buckets) // 2 + 0.5) * width),
        total - 2,
        middle,
        peak,
    )


def _bar_height(count: int, peak: int, full: float) -> float:
    if count <= 0 or peak <= 0:
        return 0.0
    return max(full * count / peak, MIN_BAR_HEIGHT)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")
