from __future__ import annotations

import http.server
import ipaddress
import threading

import pytest

from fixtrail.lib.outbound import (
    BlockedURL,
    OutboundError,
    check_url,
    parse_networks,
    request,
)

METADATA = parse_networks("169.254.0.0/16")


SEEN: list[tuple[str, str | None, str | None]] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        SEEN.append(
            (self.path, self.headers.get("Authorization"), self.headers.get("X-Other"))
        )
        if self.path.startswith("/elsewhere"):
            # The same server under another origin: localhost, not 127.0.0.1.
            port = self.server.server_address[1]
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/end")
        elif self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/")
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/end")
        else:
            self.send_response(200)
        self.end_headers()
        self.wfile.write(self.path.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_it_parses_named_ranges():
    networks = parse_networks("loopback, 10.1.0.0/16")
    assert ipaddress.ip_network("127.0.0.0/8") in networks
    assert ipaddress.ip_network("10.1.0.0/16") in networks
    with pytest.raises(ValueError):
        parse_networks("nonsense")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "http:///nohost"])
def test_it_blocks_other_schemes(url):
    with pytest.raises(BlockedURL, match="only http"):
        check_url(url, METADATA)


def test_it_blocks_a_denied_address():
    with pytest.raises(BlockedURL, match="169.254.169.254, a denied network"):
        check_url("http://169.254.169.254/latest/meta-data/", METADATA)


def test_it_allows_loopback_by_default(server):
    response = request("GET", f"{server}/ok", deny=METADATA)
    assert response.status_code == 200
    assert response.text == "/ok"


def test_it_follows_a_redirect(server):
    response = request("GET", f"{server}/hop", deny=METADATA)
    assert response.text == "/end"


def test_it_keeps_credentials_on_the_same_origin(server):
    SEEN.clear()
    request(
        "GET", f"{server}/hop", headers={"Authorization": "Bearer t"}, deny=METADATA
    )
    assert SEEN == [("/hop", "Bearer t", None), ("/end", "Bearer t", None)]


def test_it_drops_credentials_on_a_redirect_to_another_origin(server):
    SEEN.clear()
    headers = {"Authorization": "Bearer t", "X-Other": "kept"}
    request("GET", f"{server}/elsewhere", headers=headers, deny=METADATA)
    assert SEEN == [("/elsewhere", "Bearer t", "kept"), ("/end", None, "kept")]


def test_it_checks_redirect_targets(server):
    with pytest.raises(BlockedURL):
        request("GET", f"{server}/to-metadata", deny=METADATA)


def test_it_blocks_loopback_when_the_operator_denies_it(server):
    with pytest.raises(BlockedURL):
        request("GET", f"{server}/ok", deny=parse_networks("loopback"))


def test_it_reports_a_refused_connection():
    with pytest.raises(OutboundError, match="cannot reach 127.0.0.1:9"):
        request("GET", "http://127.0.0.1:9/", deny=METADATA)
