"""Send one alert message through one channel: e-mail, a signed webhook, or
a chat service through apprise. Nothing else in the code knows how.

Each ``send_*`` raises ChannelError with a message for the rule's page;
``permanent`` says whether retrying can help. Callers run them in jobs,
never in a web request or the digest transaction.

Webhook signature: ``X-Fixtrail-Signature: sha256=<hex>``, the HMAC-SHA256
of the exact body bytes with the hook's secret. A receiver checks it with::

    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    hmac.compare_digest(header.removeprefix("sha256="), expected)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from fixtrail.alerts import messages
from fixtrail.lib import outbound

SIGNATURE_HEADER = "X-Fixtrail-Signature"
# Answers that mean the receiver will never take this message; anything
# else that is not 2xx (5xx, 408, 429) is worth another try.
PERMANENT_STATUSES = frozenset(range(400, 500)) - {408, 425, 429}
# apprise schemes whose host the user chooses (self-hosted services and the
# generic JSON/XML/form posts); their host is checked against the
# operator's denied networks like any webhook. The other services post to
# their vendor's fixed API host.
SELF_HOSTED_APPRISE = {
    "json": "http",
    "jsons": "https",
    "xml": "http",
    "xmls": "https",
    "form": "http",
    "forms": "https",
    "mmost": "http",
    "mmosts": "https",
    "ntfy": "http",
    "ntfys": "https",
    "gotify": "http",
    "gotifys": "https",
    "apprise": "http",
    "apprises": "https",
}
# Longest receiver answer kept in an error message.
MAX_ANSWER_CHARS = 300

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def sign(body: bytes, secret: str) -> str:
    """Return the X-Fixtrail-Signature value of ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Return (subject, text, html) of ``alerts/emails/<template>-*``."""
    subject = render_to_string(f"alerts/emails/{template}-subject.txt", context)
    text = render_to_string(f"alerts/emails/{template}-body.txt", context)
    html = render_to_string(f"alerts/emails/{template}-body.html", context)
    return " ".join(subject.split()), text, html


def send_email(to: str, template: str, context: dict[str, Any]) -> None:
    """Send one e-mail (text and HTML parts) through Django's mail backend."""
    subject, text, html = render_email(template, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (OSError, ValueError) as exc:
        # smtplib's errors are OSError subclasses; a refused recipient is
        # SMTPRecipientsRefused, which retrying will not fix.
        import smtplib

        permanent = isinstance(exc, smtplib.SMTPRecipientsRefused)
        raise ChannelError(f"e-mail to {to}: {exc}", permanent=permanent) from None


def send_webhook(url: str, secret: str, context: dict[str, Any]) -> int:
    """POST the alert's JSON to ``url``, signed; return the HTTP status."""
    body = orjson.dumps(messages.webhook_body(context))
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
    try:
        response = outbound.request("POST", url, headers=headers, content=body)
    except outbound.OutboundError as exc:
        raise ChannelError(exc.message, permanent=exc.permanent) from None
    if response.is_success:
        return response.status_code
    answer = response.text[:MAX_ANSWER_CHARS]
    raise ChannelError(
        f"{urlsplit(url).netloc} answered {response.status_code}: {answer}",
        permanent=response.status_code in PERMANENT_STATUSES,
    )


def check_apprise_url(url: str) -> None:
    """Raise ChannelError when a self-hosted apprise target's host is in a
    denied network (FIXTRAIL_OUTBOUND_DENY)."""
    parts = urlsplit(url)
    scheme = SELF_HOSTED_APPRISE.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        return
    port = f":{parts.port}" if parts.port else ""
    try:
        outbound.check_url(f"{scheme}://{parts.hostname}{port}/")
    except outbound.OutboundError as exc:
        raise ChannelError(exc.message, permanent=exc.permanent) from None


def send_apprise(url: str, context: dict[str, Any]) -> None:
    """Send the alert to one apprise URL (Slack, Teams, Discord, Mattermost,
    Google Chat, ntfy, …)."""
    import apprise

    check_apprise_url(url)
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise ChannelError("apprise does not understand this URL", permanent=True)
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
        ok = notifier.notify(
            body=messages.chat_text(context),
            title=messages.chat_title(context),
            body_format=apprise.NotifyFormat.MARKDOWN,
        )
        problems = log.getvalue().strip()
    if not ok:
        last = problems.splitlines()[-1] if problems else "no details"
        raise ChannelError(f"the chat service refused the message: {last}"[:500])
