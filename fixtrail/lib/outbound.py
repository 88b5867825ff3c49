"""The one HTTP client for calls to outside services (trackers, webhooks,
chat, git hosts).

    response = request("POST", "https://gitlab.example.com/api/v4/…",
                       headers={"PRIVATE-TOKEN": token}, json=body)

Every URL, and every redirect target, is checked before it is called: only
http(s), and no host that resolves into a denied network (link-local and
cloud-metadata addresses by default; settings.OUTBOUND_DENY_NETWORKS). A
self-hosted GitLab on the same host or LAN is normal, so loopback and
private ranges are allowed unless the operator denies them.

Failures become OutboundError with a message fit for a page; ``permanent``
says whether retrying can help.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import httpx

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Seconds: connect, then each read. Trackers answer in well under a second;
# a stuck one must not hold a job runner for long.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MAX_REDIRECTS = 3
# Link-local (which holds the cloud metadata service 169.254.169.254) and
# AWS's IPv6 metadata address.
DEFAULT_DENY = ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")


class OutboundError(Exception):
    """A call to an outside service failed."""

    def __init__(self, message: str, *, permanent: bool = False, status: int = 0):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status


class BlockedURL(OutboundError):
    """The URL's scheme or address is not allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


def parse_networks(text: str) -> list[IPNetwork]:
    """Parse a comma-separated list of networks; ``loopback`` and
    ``private`` stand for those ranges. Raises ValueError on a bad entry."""
    named = {
        "loopback": ["127.0.0.0/8", "::1/128"],
        "private": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
    }
    networks: list[IPNetwork] = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            for cidr in named.get(part, [part]):
                networks.append(ipaddress.ip_network(cidr, strict=False))
    return networks


def _denied_networks() -> Sequence[IPNetwork]:
    from django.conf import settings

    return settings.OUTBOUND_DENY_NETWORKS


def check_url(url: str, deny: Sequence[IPNetwork] | None = None) -> None:
    """Raise BlockedURL unless ``url`` is http(s) and its host resolves only
    outside the denied networks."""
    deny = _denied_networks() if deny is None else deny
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL(f"only http(s) URLs are allowed, not {url[:100]!r}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443)
    except socket.gaierror:
        raise OutboundError(f"cannot resolve host {parts.hostname!r}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if any(address in network for network in deny):
            raise BlockedURL(
                f"{parts.hostname} resolves to {address}, a denied network "
                "(FIXTRAIL_OUTBOUND_DENY)"
            )


# Headers that carry a service's credentials, dropped on a redirect to
# another origin (GitLab's token header, GitHub's and Jira's Authorization).
CREDENTIAL_HEADERS = frozenset({"authorization", "private-token", "cookie"})


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _without_credentials(headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    return {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json: object = None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    deny: Sequence[IPNetwork] | None = None,
) -> httpx.Response:
    """Send one request, following up to MAX_REDIRECTS checked redirects.

    Returns the final response whatever its status; raises OutboundError
    when no answer came (timeout, refused, blocked address). Credentials
    (auth, credential headers) are not sent on to another origin.
    """
    # Imported here: settings load this module, and every process that
    # never calls out (ingest, most of the web) would hold httpx's ~10 MB.
    import httpx

    with httpx.Client(
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        headers={"User-Agent": "Fixtrail"},
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, deny)
            try:
                response = client.request(
                    method,
                    url,
                    headers=headers,
                    json=json,
                    content=content,
                    params=params,
                    auth=auth,
                )
            except httpx.TimeoutException:
                raise OutboundError(
                    f"{urlsplit(url).netloc} did not answer in time"
                ) from None
            except httpx.HTTPError as exc:
                raise OutboundError(
                    f"cannot reach {urlsplit(url).netloc}: {exc}"
                ) from None
            if not response.is_redirect:
                return response
            target = urljoin(url, response.headers["location"])
            if _origin(target) != _origin(url):
                # Credentials are for the host they were configured for.
                headers = _without_credentials(headers)
                auth = None
            url, params = target, None
        raise OutboundError(f"more than {MAX_REDIRECTS} redirects", permanent=True)
