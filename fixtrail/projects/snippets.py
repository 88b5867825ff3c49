"""Copy-paste set-up snippets for a DSN, per SDK."""

from __future__ import annotations

from django.conf import settings


def setup_snippets(dsn: str, org_slug: str, project_slug: str) -> list[tuple[str, str]]:
    """Return (title, code) pairs showing how to point each SDK at ``dsn``."""
    return [
        (
            "Python",
            "pip install sentry-sdk\n\n"
            "import sentry_sdk\n\n"
            f'sentry_sdk.init(dsn="{dsn}")',
        ),
        (
            "JavaScript (browser)",
            "npm install @sentry/browser\n\n"
            'import * as Sentry from "@sentry/browser";\n\n'
            f'Sentry.init({{ dsn: "{dsn}" }});',
        ),
        (
            "Node.js",
            "npm install @sentry/node\n\n"
            'const Sentry = require("@sentry/node");\n\n'
            f'Sentry.init({{ dsn: "{dsn}" }});',
        ),
        (
            "sentry-cli",
            f"export SENTRY_URL={settings.BASE_URL}/\n"
            f"export SENTRY_DSN={dsn}\n"
            f"export SENTRY_ORG={org_slug}\n"
            f"export SENTRY_PROJECT={project_slug}\n"
            "export SENTRY_AUTH_TOKEN=<a token from Account → API tokens>\n\n"
            'sentry-cli send-event -m "Hello from sentry-cli"',
        ),
    ]
