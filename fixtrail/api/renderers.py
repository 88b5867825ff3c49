"""The JSON renderer of both web APIs.

orjson writes the answers: a page of 100 issues is a few hundred
kilobytes of JSON, and orjson does that several times faster than the
standard library, with the same output for the plain types the
serializers build.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest
from ninja.renderers import BaseRenderer


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        # Serializers build str/int/bool/None/list/dict only; anything else
        # (a datetime, a pydantic model dumped by ninja) still encodes.
        # Times end in "Z", as Sentry's and the serializers' own do.
        return orjson.dumps(
            data, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
        )
