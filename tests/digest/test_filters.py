from __future__ import annotations

from types import SimpleNamespace

import pytest

from fixtrail.digest.filters import (
    FilterSettings,
    build_filters,
    match_inbound_filters,
    user_agent,
)
from fixtrail.digest.normalize import NormalizeOptions, normalize_event

RECEIVED_AT = 1735787045.0
ALL_ON = FilterSettings(
    localhost=True,
    browser_extensions=True,
    web_crawlers=True,
    error_messages=("*ResizeObserver loop*", "ChunkLoadError: *"),
    releases=("*-dev", "app@0.*"),
)


def normalize(data, **options):
    return normalize_event(
        data, received_at=RECEIVED_AT, options=NormalizeOptions(**options)
    )


def error(**extra):
    data = {"exception": [{"type": "TypeError", "value": "x is undefined"}]}
    data.update(extra)
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (error(), None),
        (error(user={"ip_address": "127.0.0.1"}), "localhost"),
        (error(user={"ip_address": "127.3.4.5"}), "localhost"),
        (error(user={"ip_address": "::1"}), "localhost"),
        (error(user={"ip_address": "203.0.113.7"}), None),
        (error(request={"url": "http://localhost:8000/cart"}), "localhost"),
        (error(request={"url": "http://app.localhost/cart"}), "localhost"),
        (error(request={"url": "http://127.0.0.1/cart"}), "localhost"),
        (error(request={"url": "http://[::1]:3000/"}), "localhost"),
        (error(request={"url": "https://localhost.example.com/"}), None),
        (error(request={"env": {"REMOTE_ADDR": "127.0.0.1"}}), "localhost"),
        (
            error(
                exception=[
                    {
                        "type": "Error",
                        "stacktrace": {
                            "frames": [
                                {
                                    "function": "a",
                                    "abs_path": "https://example.com/app.js",
                                },
                                {
                                    "function": "b",
                                    "abs_path": "chrome-extension://abcdefgh/content.js",
                                },
                            ]
                        },
                    }
                ]
            ),
            "browser_extensions",
        ),
        (
            error(
                exception=[
                    {
                        "type": "Error",
                        "stacktrace": {
                            "frames": [{"filename": "moz-extension://x/y.js"}]
                        },
                    }
                ]
            ),
            "browser_extensions",
        ),
        (
            error(
                exception=[
                    {
                        "type": "Error",
                        "stacktrace": {
                            "frames": [{"filename": "safari-web-extension://x/y.js"}]
                        },
                    }
                ]
            ),
            "browser_extensions",
        ),
        (
            error(
                exception=[
                    {
                        "type": "ReferenceError",
                        "value": "Can't find variable: ZiteReader",
                    }
                ]
            ),
            "browser_extensions",
        ),
        (
            error(message="top.GLOBALS is undefined", exception=None),
            "browser_extensions",
        ),
        (
            error(
                request={
                    "headers": {
                        "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
                    }
                }
            ),
            "web_crawlers",
        ),
        (
            error(
                request={
                    "headers": [["user-agent", "Mozilla/5.0 (compatible; bingbot/2.0)"]]
                }
            ),
            "web_crawlers",
        ),
        (
            error(
                request={
                    "headers": {
                        "User-Agent": "Mozilla/5.0 AppleWebKit/537.36 "
                        "(KHTML, like Gecko; compatible; GPTBot/1.2)"
                    }
                }
            ),
            "web_crawlers",
        ),
        (error(request={"headers": {"User-Agent": "UptimeRobot/2.0"}}), "web_crawlers"),
        (
            error(
                request={
                    "headers": {
                        "User-Agent": "Mozilla/5.0 (Linux; Android 10; Cubot P40) "
                        "Chrome/120.0 Mobile"
                    }
                }
            ),
            None,
        ),
        (
            error(
                request={
                    "headers": {
                        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"
                    }
                }
            ),
            None,
        ),
        (
            error(
                exception=[
                    {"type": "Error", "value": "ResizeObserver loop limit exceeded"}
                ]
            ),
            "error_messages",
        ),
        (
            error(
                exception=[
                    {"type": "ChunkLoadError", "value": "Loading chunk 158 failed."}
                ]
            ),
            "error_messages",
        ),
        (error(exception=[{"type": "Error", "value": "chunkloaderror: nope"}]), None),
        (
            error(
                exception=None,
                message="ResizeObserver loop completed with undelivered notifications.",
            ),
            "error_messages",
        ),
        (error(release="shop-dev"), "releases"),
        (error(release="app@0.9.1"), "releases"),
        (error(release="app@1.0.0"), None),
    ],
)
def test_it_matches_inbound_filters(data, expected):
    assert match_inbound_filters(normalize(data), ALL_ON) == expected


def test_it_matches_nothing_when_all_filters_are_off():
    event = normalize(error(user={"ip_address": "127.0.0.1"}, release="shop-dev"))

    assert match_inbound_filters(event, FilterSettings()) is None
    assert FilterSettings().enabled is False
    assert ALL_ON.enabled is True


def test_it_tries_the_filters_in_order():
    event = normalize(
        error(
            user={"ip_address": "127.0.0.1"},
            release="shop-dev",
            request={"headers": {"User-Agent": "Googlebot"}},
        )
    )

    assert match_inbound_filters(event, ALL_ON) == "localhost"
    assert (
        match_inbound_filters(event, FilterSettings(web_crawlers=True, releases=("*",)))
        == "web_crawlers"
    )


def test_it_sees_the_localhost_ip_even_when_ips_are_not_stored():
    event = normalize(error(user={"ip_address": "127.0.0.1"}), scrub_ip_addresses=True)

    assert "user" not in event.data
    assert match_inbound_filters(event, FilterSettings(localhost=True)) == "localhost"


def test_it_sees_the_auto_filled_client_ip():
    event = normalize_event(
        error(user={"ip_address": "{{auto}}"}),
        received_at=RECEIVED_AT,
        client_ip="127.0.0.1",
    )

    assert match_inbound_filters(event, FilterSettings(localhost=True)) == "localhost"


def test_it_builds_settings_from_a_project():
    project = SimpleNamespace(
        filter_localhost=True,
        filter_browser_extensions=False,
        filter_web_crawlers=True,
        filter_error_messages="*timeout*\n# noisy\n\nScript error.\n",
        filter_releases="",
    )

    assert build_filters(project) == FilterSettings(
        localhost=True,
        browser_extensions=False,
        web_crawlers=True,
        error_messages=("*timeout*", "Script error."),
        releases=(),
    )


def test_it_reads_the_user_agent_whatever_its_case():
    data = normalize(error(request={"headers": {"USER-AGENT": "x"}})).data

    assert user_agent(data) == "x"
    assert user_agent({}) is None
