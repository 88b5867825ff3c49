"""Turning two-factor on and signing in with a code, clicked through in
Chromium."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.accounts.test_pages_browser import page  # noqa: F401  (fixture)
from tests.builders import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, url: str) -> None:  # noqa: F811
    page.goto(f"{url}/login/")
    page.fill("input[name=email]", "alice@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")


def test_it_enrols_an_authenticator_and_signs_in_with_a_code(
    page,  # noqa: F811
    live_server,
    settings,
):
    settings.BASE_URL = live_server.url
    make_user("alice@example.org")
    _sign_in(page, live_server.url)
    page.wait_for_url(re.compile(r"/$"))

    page.click("text=Security")
    page.click("text=Turn on two-factor authentication")
    assert page.locator(".qr svg").count() == 1
    totp = pyotp.TOTP(page.text_content("#totp-secret"))
    page.fill("input[name=code]", totp.now())
    page.click("main button[type=submit]")
    codes = page.locator("#recovery-codes li").all_text_contents()
    assert len(codes) == 10

    page.click("text=Log out")
    page.wait_for_url(re.compile(r"/login/$"))
    _sign_in(page, live_server.url)
    page.wait_for_url(re.compile(r"/login/code/$"))
    # The next step's code: the one used to enrol cannot be used again.
    page.fill("input[name=code]", totp.at(time.time() + totp.interval))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))

    page.goto(f"{live_server.url}/account/security/")
    assert "On. 10 recovery codes left." in page.text_content("#two-factor-status")
    assert "(this browser)" in page.text_content("#sessions")
