"""Inbound filters: events a project chose not to keep.

Each filter has a name, which is what digest counts filtered events under
(a short ``[a-z0-9_]`` reason, as the outcome counters require):

- ``localhost``: the end user's IP is a loopback address (127.0.0.0/8,
  ``::1``), or the request URL's host is ``localhost``, ``*.localhost`` or a
  loopback address;
- ``browser_extensions``: a frame's file comes from a browser extension
  (``chrome-extension://``, ``moz-extension://``, ``safari-extension://``,
  ``safari-web-extension://``, ``ms-browser-extension://``) or a browser
  internal (``chrome://``, ``resource://``), or the error is one of the
  messages that well-known extensions and injected toolbars cause;
- ``web_crawlers``: the request's User-Agent is a search-engine, SEO, AI or
  uptime bot;
- ``error_messages``: ``Type: value`` of any exception, or the log message,
  matches one of the project's glob patterns (one per line, see
  :mod:`fixtrail.lib.globs`);
- ``releases``: the release matches one of the project's glob patterns.

All pure: build a :class:`FilterSettings` per project (``build_filters``)
and ask :func:`match_inbound_filters` for each normalized event.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fixtrail.digest.normalize import NormalizedEvent
from fixtrail.digest.scrub import keys_from_text
from fixtrail.lib.globs import compile_glob

LOCALHOST = "localhost"
BROWSER_EXTENSIONS = "browser_extensions"
WEB_CRAWLERS = "web_crawlers"
ERROR_MESSAGES = "error_messages"
RELEASES = "releases"

EXTENSION_URL_PREFIXES = (
    "chrome-extension://",
    "moz-extension://",
    "safari-extension://",
    "safari-web-extension://",
    "ms-browser-extension://",
    "chrome://",
    "resource://",
)
# Errors thrown by popular extensions, toolbars and injected ad scripts into
# the pages they run in; found verbatim in their exception messages.
EXTENSION_MESSAGES = (
    "top.GLOBALS",
    "originalCreateNotification",
    "canvas.contentDocument",
    "MyApp_RemoveAllHighlights",
    "tt.epicplay.com",
    "Can't find variable: ZiteReader",
    "jigsaw is not defined",
    "ComboSearch is not defined",
    "loading.retry.widdit.com",
    "atomicFindClose",
    "fb_xd_fragment",
    "bmi_SafeAddOnload",
    "EBCallBackMessageReceived",
    "conduitPage",
    "__gCrWeb",
)
_CRAWLER = re.compile(
    r"googlebot|adsbot-google|mediapartners-google|google-inspectiontool"
    r"|bingbot|bingpreview|slurp|duckduckbot|baiduspider|yandex\w*bot|sogou"
    r"|exabot|facebot|facebookexternalhit|ia_archiver|twitterbot|linkedinbot"
    r"|applebot|ahrefsbot|semrushbot|mj12bot|petalbot|dotbot|bytespider"
    r"|gptbot|ccbot|claudebot|amazonbot|pingdom|uptimerobot|statuscake"
    r"|\b(?:bot|crawler|spider)\b|crawl",
    re.IGNORECASE,
)
_LOCAL_HOSTS = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """A project's inbound-filter switches and patterns."""

    localhost: bool = False
    browser_extensions: bool = False
    web_crawlers: bool = False
    error_messages: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        """Return True when at least one filter is on."""
        return bool(
            self.localhost
            or self.browser_extensions
            or self.web_crawlers
            or self.error_messages
            or self.releases
        )


def build_filters(project: Any) -> FilterSettings:
    """Return the filter settings of a project (any object with its fields).

    Reads ``filter_localhost``, ``filter_browser_extensions``,
    ``filter_web_crawlers`` (bools) and ``filter_error_messages``,
    ``filter_releases`` (glob patterns, one per line, ``#`` comments).
    """
    return FilterSettings(
        localhost=bool(project.filter_localhost),
        browser_extensions=bool(project.filter_browser_extensions),
        web_crawlers=bool(project.filter_web_crawlers),
        error_messages=keys_from_text(project.filter_error_messages or ""),
        releases=keys_from_text(project.filter_releases or ""),
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def is_from_localhost(event: NormalizedEvent) -> bool:
    """Return True when the user's IP or the request's host is local."""
    if event.user_ip is not None and _is_loopback(event.user_ip):
        return True
    url = event.data.get("request", {}).get("url")
    if not url:
        return False
    host = _url_host(url)
    if host is None:
        return False
    return host in _LOCAL_HOSTS or host.endswith(".localhost") or _is_loopback(host)


def _frames(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for exc in data.get("exception", {}).get("values", ()):
        yield from exc.get("stacktrace", {}).get("frames", ())
    yield from data.get("stacktrace", {}).get("frames", ())
    for thread in data.get("threads", {}).get("values", ()):
        yield from thread.get("stacktrace", {}).get("frames", ())


def _error_texts(event: NormalizedEvent) -> list[str]:
    texts = [
        f"{exc.get('type', '')}: {exc.get('value', '')}"
        for exc in event.data.get("exception", {}).get("values", ())
    ]
    if event.message:
        texts.append(event.message)
    return texts


def is_from_browser_extension(event: NormalizedEvent) -> bool:
    """Return True when a frame or the error message points at an extension."""
    for frame in _frames(event.data):
        for key in ("abs_path", "filename"):
            path = frame.get(key)
            if path and path.startswith(EXTENSION_URL_PREFIXES):
                return True
    for text in _error_texts(event):
        if any(marker in text for marker in EXTENSION_MESSAGES):
            return True
    return False


def user_agent(data: dict[str, Any]) -> str | None:
    """Return the request's User-Agent header, if the event has one."""
    for name, value in data.get("request", {}).get("headers", ()):
        if name.lower() == "user-agent":
            return value
    return None


def is_from_web_crawler(event: NormalizedEvent) -> bool:
    """Return True when the request's User-Agent is a known bot."""
    agent = user_agent(event.data)
    return agent is not None and _CRAWLER.search(agent) is not None


def _matches_any(patterns: tuple[str, ...], texts: list[str]) -> bool:
    for pattern in patterns:
        regex = compile_glob(pattern)
        if any(regex.fullmatch(text) for text in texts):
            return True
    return False


def match_inbound_filters(
    event: NormalizedEvent, settings: FilterSettings
) -> str | None:
    """Return the name of the first filter that drops ``event``, or None.

    Filters are tried in the order localhost, browser extensions, web
    crawlers, error messages, releases.
    """
    if settings.localhost and is_from_localhost(event):
        return LOCALHOST
    if settings.browser_extensions and is_from_browser_extension(event):
        return BROWSER_EXTENSIONS
    if settings.web_crawlers and is_from_web_crawler(event):
        return WEB_CRAWLERS
    if settings.error_messages and _matches_any(
        settings.error_messages, _error_texts(event)
    ):
        return ERROR_MESSAGES
    if (
        settings.releases
        and event.release
        and _matches_any(settings.releases, [event.release])
    ):
        return RELEASES
    return None
