"""Claim a TCP port before handing it to the web server, and the URL it
serves.

granian binds its listening socket with SO_REUSEPORT, so a second granian
on a port another one already holds starts without complaint and the kernel
splits connections between the two at random. This module closes that gap:

    claim = claim_port("127.0.0.1", 8000)   # raises PortInUse if held
    ...spawn granian...
    claim.release()                          # when the server has stopped

1. A probe socket binds host:port *without* SO_REUSEPORT. The kernel then
   refuses the bind while any socket listens there (with or without
   SO_REUSEPORT, on the same address or the wildcard one), whoever owns it.
2. An exclusive lock on a file named after the port, held for the life of
   the server, stops two Fixtrail servers that start at the same moment
   from both passing the probe before either has bound.

base_url("0.0.0.0", 8001)  -> "http://127.0.0.1:8001"
base_url("::1", 8001)      -> "http://[::1]:8001"
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Addresses that mean "every interface": they are bound, never browsed to.
_WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound


class PortInUse(Exception):
    """host:port is held by another server; the message names both."""


@dataclass
class PortClaim:
    """An exclusive claim on a port, held until ``release``."""

    host: str
    port: int
    lock_file: IO[str]

    def release(self) -> None:
        """Drop the claim (closing the lock file releases the lock)."""
        self.lock_file.close()


def _address_family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _probe(host: str, port: int) -> None:
    family = _address_family(host)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR lets the probe ignore connections of a server that
        # stopped a moment ago (TIME_WAIT), yet Linux still refuses it while
        # a socket listens there. SO_REUSEPORT is deliberately left off: with
        # it the kernel would let the probe share granian's port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"{_format(host, port)} is already in use by another server; "
                    "stop it, or choose another port with --port"
                ) from None
            raise PortInUse(
                f"cannot listen on {_format(host, port)}: {exc.strerror}"
            ) from None


def claim_port(host: str, port: int, lock_dir: Path | None = None) -> PortClaim:
    """Return a claim on host:port, or raise PortInUse naming host:port.

    The claim's lock lives in ``lock_dir`` (the system temporary directory
    by default), so it covers every Fixtrail server of this machine.
    Another server may still take the port after this returns unless the
    caller binds it while holding the claim.
    """
    lock_dir = lock_dir or Path(tempfile.gettempdir())
    # One lock per user: the kernel never lets two users share a port
    # through SO_REUSEPORT, so the probe alone covers other users' servers.
    lock_path = lock_dir / f"fixtrail-{os.getuid()}-port-{port}.lock"
    lock_file = os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), "r+")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise PortInUse(
            f"{_format(host, port)} is already in use by another Fixtrail server; "
            "stop it, or choose another port with --port"
        ) from None
    try:
        _probe(host, port)
    except PortInUse:
        lock_file.close()
        raise
    return PortClaim(host, port, lock_file)


def base_url(host: str, port: int) -> str:
    """Return the http URL a browser on this machine uses for host:port."""
    if host in _WILDCARDS:
        host = "127.0.0.1"
    return f"http://{_format(host, port)}"


def _format(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
