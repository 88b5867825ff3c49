"""Shared by the normalization tests: the fixed server clock and frame and
exception builders."""

from __future__ import annotations

from fixtrail.digest.normalize import normalize_event

# 2025-01-02T03:04:05Z, the server clock in every test.
RECEIVED_AT = 1735787045.0
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def normalize(data, **kwargs):
    """Normalize ``data`` as received at RECEIVED_AT."""
    return normalize_event(data, received_at=RECEIVED_AT, **kwargs)


def make_frame(**overrides):
    """Return an in-app Python frame, with ``overrides``."""
    frame = {
        "module": "shop.pricing",
        "function": "price",
        "filename": "shop/pricing.py",
        "lineno": 12,
        "context_line": "    return total / count",
        "in_app": True,
    }
    frame.update(overrides)
    return frame


def make_exception(**overrides):
    """Return a ZeroDivisionError with one frame, with ``overrides``."""
    exc = {
        "type": "ZeroDivisionError",
        "value": "division by zero",
        "stacktrace": {"frames": [make_frame()]},
    }
    exc.update(overrides)
    return exc
