"""The sign-on round trip the tests drive: press a login page button, let
the provider (a stand-in on a local port) answer its authorization
request, and come back to Fixtrail's callback."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from urllib.parse import urlsplit


def sign_on(
    client, start_path: str, provider_url: str, *, edit: Callable[[str], str] = str
):
    """Return Fixtrail's answer to the provider's redirect back; ``edit``
    may change that redirect's query (to forge its state, say)."""
    start = client.post(start_path)
    assert start.status_code == 302, start.content
    authorize = urlsplit(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == provider_url
    conn = http.client.HTTPConnection(authorize.hostname, authorize.port)
    conn.request("GET", f"{authorize.path}?{authorize.query}")
    answer = conn.getresponse()
    assert answer.status == 302, answer.read()
    back = urlsplit(answer.getheader("Location"))
    conn.close()
    return client.get(f"{back.path}?{edit(back.query)}")
