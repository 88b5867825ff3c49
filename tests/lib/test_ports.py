from __future__ import annotations

import socket

import pytest

from fixtrail.lib.ports import PortInUse, base_url, claim_port
from tests.servers import free_port


def _listener(host: str, port: int, *, reuseport: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen()
    return sock


def test_it_claims_a_free_port(tmp_path):
    port = free_port()
    claim = claim_port("127.0.0.1", port, lock_dir=tmp_path)
    claim.release()
    # Released: the next server may claim it again.
    claim_port("127.0.0.1", port, lock_dir=tmp_path).release()


@pytest.mark.parametrize("reuseport", [False, True])
def test_it_refuses_a_port_another_server_listens_on(tmp_path, reuseport):
    port = free_port()
    refused = pytest.raises(
        PortInUse,
        match=rf"^127\.0\.0\.1:{port} is already in use by another server; "
        r"stop it, or choose another port with --port$",
    )
    with _listener("127.0.0.1", port, reuseport=reuseport), refused:
        claim_port("127.0.0.1", port, lock_dir=tmp_path)


def test_it_refuses_a_port_held_on_every_interface(tmp_path):
    port = free_port()
    refused = pytest.raises(PortInUse, match=rf"^127\.0\.0\.1:{port} is already")
    with _listener("0.0.0.0", port, reuseport=True), refused:  # noqa: S104
        claim_port("127.0.0.1", port, lock_dir=tmp_path)


def test_it_refuses_a_port_another_fixtrail_is_claiming(tmp_path):
    port = free_port()
    claim = claim_port("127.0.0.1", port, lock_dir=tmp_path)
    try:
        # Nothing listens yet: only the lock tells the two servers apart.
        with pytest.raises(
            PortInUse,
            match=rf"^127\.0\.0\.1:{port} is already in use by another Fixtrail",
        ):
            claim_port("127.0.0.1", port, lock_dir=tmp_path)
    finally:
        claim.release()


def test_it_explains_an_address_it_cannot_bind(tmp_path):
    # 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
    with pytest.raises(PortInUse, match=r"^cannot listen on 192\.0\.2\.1:\d+: "):
        claim_port("192.0.2.1", free_port(), lock_dir=tmp_path)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8001, "http://127.0.0.1:8001"),
        ("0.0.0.0", 8001, "http://127.0.0.1:8001"),  # noqa: S104
        ("::", 9000, "http://127.0.0.1:9000"),
        ("::1", 8001, "http://[::1]:8001"),
        ("errors.local", 80, "http://errors.local:80"),
    ],
)
def test_it_builds_the_base_url_of_a_port(host, port, expected):
    assert base_url(host, port) == expected
