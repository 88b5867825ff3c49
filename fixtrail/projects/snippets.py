"""Copy-paste set-up snippets for a DSN, per SDK.

Each snippet keeps the install command apart from the code, so the page
can show them as two blocks, each with its own copy button::

    Snippet(platform="python", title="Python",
            install="pip install sentry-sdk",
            code='import sentry_sdk\\n\\nsentry_sdk.init(dsn="http://…")')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from fixtrail.projects.models import Project


@dataclass(frozen=True)
class Snippet:
    """How to point one SDK at a DSN."""

    platform: str
    title: str
    install: str
    code: str


def _all_snippets(dsn: str) -> list[Snippet]:
    return [
        Snippet(
            "python",
            "Python",
            "pip install sentry-sdk",
            f'import sentry_sdk\n\nsentry_sdk.init(dsn="{dsn}")',
        ),
        Snippet(
            "javascript",
            "JavaScript (browser)",
            "npm install @sentry/browser",
            'import * as Sentry from "@sentry/browser";\n\n'
            f'Sentry.init({{ dsn: "{dsn}" }});',
        ),
        Snippet(
            "node",
            "Node.js",
            "npm install @sentry/node",
            'const Sentry = require("@sentry/node");\n\n'
            f'Sentry.init({{ dsn: "{dsn}" }});',
        ),
        Snippet(
            "java",
            "Java",
            "implementation 'io.sentry:sentry:8.+'   // Gradle",
            "import io.sentry.Sentry;\n\n"
            f'Sentry.init(options -> options.setDsn("{dsn}"));',
        ),
        Snippet(
            "csharp",
            "C# / .NET",
            "dotnet add package Sentry",
            f'using var sentry = SentrySdk.Init(o => o.Dsn = "{dsn}");',
        ),
        Snippet(
            "go",
            "Go",
            "go get github.com/getsentry/sentry-go",
            'import "github.com/getsentry/sentry-go"\n\n'
            f'sentry.Init(sentry.ClientOptions{{Dsn: "{dsn}"}})',
        ),
        Snippet(
            "php",
            "PHP",
            "composer require sentry/sentry",
            f"\\Sentry\\init(['dsn' => '{dsn}']);",
        ),
        Snippet(
            "ruby",
            "Ruby",
            "gem install sentry-ruby",
            f"Sentry.init do |config|\n  config.dsn = '{dsn}'\nend",
        ),
    ]


def setup_snippets(dsn: str, platform: str = "") -> list[Snippet]:
    """Return the snippets for ``dsn``, the one of ``platform`` first."""
    snippets = _all_snippets(dsn)
    return sorted(snippets, key=lambda snippet: snippet.platform != platform)


def send_event_command(dsn: str, org_slug: str, project_slug: str) -> str:
    """Return the shell lines that send a test event with sentry-cli."""
    return (
        f"export SENTRY_URL={settings.BASE_URL}/\n"
        f"export SENTRY_DSN={dsn}\n"
        f"export SENTRY_ORG={org_slug}\n"
        f"export SENTRY_PROJECT={project_slug}\n"
        'sentry-cli send-event -m "Hello from sentry-cli"'
    )


def setup_context(project: Project) -> dict:
    """Return what the set-up partial (projects/_setup.html) shows for
    ``project``: its first DSN key, the snippets with the project's
    platform first, and the sentry-cli lines. One query (the key)."""
    key = project.primary_key()
    if key is None:
        return {"dsn_key": None, "snippets": [], "send_event": ""}
    return {
        "dsn_key": key,
        "snippets": setup_snippets(key.dsn, project.platform),
        "send_event": send_event_command(
            key.dsn, project.organization.slug, project.slug
        ),
    }
