"""Jira Cloud issues over the REST API v3.

    POST {site}/rest/api/3/issue   Authorization: Basic <email:api token>
    {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"},
                "summary": "...", "description": <Atlassian document>}}
    → 201 {"id": "10001", "key": "OPS-12", "self": ".../issue/10001"}

Comments go to ``/rest/api/3/issue/{key}/comment``; closing and reopening
run a transition (``GET`` then ``POST /rest/api/3/issue/{key}/transitions``)
into a status of category "done" or back out of it. Version 3 takes rich
text as an Atlassian Document (ADF), built here from the markdown body.
See https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/.
"""

from __future__ import annotations

import re

from fixtrail.integrations.base import (
    MAX_BODY_CHARS,
    MAX_TITLE_CHARS,
    Ticket,
    TrackerError,
    call,
    parse_time,
)

NAME = "Jira"
_URL = re.compile(r"https?://\S+")
# Newest issues read when looking for one an earlier try filed.
FIND_WINDOW = 30


class Client:
    """Calls for one connected Jira project."""

    def __init__(self, integration: object) -> None:
        self.site = integration.base_url.rstrip("/")
        self.root = f"{self.site}/rest/api/3"
        self.auth = (integration.email, integration.token)
        self.target = integration.target
        self.issue_type = integration.issue_type or "Bug"

    def _call(self, method: str, url: str, what: str, **kwargs: object) -> object:
        return call(
            NAME,
            method,
            url,
            what=what,
            auth=self.auth,
            headers={"Accept": "application/json"},
            **kwargs,
        )

    def check(self) -> str:
        """Check the credentials, the project and its issue type."""
        user = self._call("GET", f"{self.root}/myself", "the account")
        project = self._call(
            "GET", f"{self.root}/project/{self.target}", f"project {self.target}"
        )
        types = [t.get("name") for t in project.get("issueTypes") or []]
        if types and self.issue_type not in types:
            raise TrackerError(
                f"Jira project {self.target} has no issue type "
                f"{self.issue_type!r}; it has {', '.join(map(str, types))}",
                permanent=True,
            )
        who = user.get("emailAddress") or user.get("displayName") or "?"
        return f"signed in as {who}, project {self.target}"

    def create(self, title: str, body: str, labels: list[str], assignee: str) -> Ticket:
        """File an issue in the project and return it (state "open")."""
        fields: dict = {
            "project": {"key": self.target},
            "issuetype": {"name": self.issue_type},
            "summary": " ".join(title.split())[:MAX_TITLE_CHARS],
            "description": document(body[:MAX_BODY_CHARS]),
        }
        if labels:
            # Jira labels cannot hold spaces.
            fields["labels"] = [label.replace(" ", "-") for label in labels]
        if assignee:
            fields["assignee"] = {"accountId": assignee}
        created = self._call(
            "POST",
            f"{self.root}/issue",
            f"project {self.target}",
            json={"fields": fields},
        )
        if not isinstance(created, dict) or not created.get("key"):
            raise TrackerError("Jira answered without an issue key")
        return Ticket(
            external_id=created["key"],
            url=self.web_url(created["key"]),
            state="open",
            updated_at=None,
            title=fields["summary"],
        )

    def web_url(self, external_id: str) -> str:
        """The issue's page, built without a call."""
        return f"{self.site}/browse/{external_id}"

    def find(self, marker: str) -> Ticket | None:
        """Return a recent issue of the project whose description holds
        ``marker``, if any (JQL by creation date, not the text index,
        which lags)."""
        found = self._call(
            "GET",
            f"{self.root}/search/jql",
            f"project {self.target}",
            params={
                "jql": f'project = "{self.target}" ORDER BY created DESC',
                "fields": "status,updated,summary,description",
                "maxResults": str(FIND_WINDOW),
            },
        )
        for issue in (found or {}).get("issues") or []:
            fields = issue.get("fields") or {}
            if marker in document_text(fields.get("description")):
                key = str(issue.get("key"))
                return Ticket(
                    external_id=key,
                    url=self.web_url(key),
                    state=status_state(fields.get("status")),
                    updated_at=parse_time(fields.get("updated")),
                    title=str(fields.get("summary") or ""),
                )
        return None

    def get(self, external_id: str) -> Ticket:
        """Return the issue with key ``external_id``."""
        issue = self._call(
            "GET",
            f"{self.root}/issue/{external_id}",
            f"issue {external_id}",
            params={"fields": "status,updated,summary"},
        )
        fields = issue.get("fields") or {}
        return Ticket(
            external_id=str(issue.get("key") or external_id),
            url=self.web_url(str(issue.get("key") or external_id)),
            state=status_state(fields.get("status")),
            updated_at=parse_time(fields.get("updated")),
            title=str(fields.get("summary") or ""),
        )

    def comment(self, external_id: str, text: str) -> None:
        """Comment on the issue."""
        self._call(
            "POST",
            f"{self.root}/issue/{external_id}/comment",
            f"issue {external_id}",
            json={"body": document(text[:MAX_BODY_CHARS])},
        )

    def set_closed(self, external_id: str, closed: bool) -> Ticket:
        """Move the issue into a done status (or out of one) and return it."""
        url = f"{self.root}/issue/{external_id}/transitions"
        listing = self._call("GET", url, f"issue {external_id}")
        transitions = listing.get("transitions") or []
        chosen = _pick_transition(transitions, closed)
        if chosen is None:
            goal = "done" if closed else "open"
            raise TrackerError(
                f"Jira offers no transition to a {goal} status for {external_id}",
                permanent=True,
            )
        self._call(
            "POST", url, f"issue {external_id}", json={"transition": {"id": chosen}}
        )
        return self.get(external_id)


def status_state(status: object) -> str:
    """Map a Jira status to "open" or "closed" by its category."""
    category = (status or {}).get("statusCategory") if isinstance(status, dict) else {}
    return "closed" if (category or {}).get("key") == "done" else "open"


def _pick_transition(transitions: list, closed: bool) -> str | None:
    def category(t: dict) -> str:
        return str(((t.get("to") or {}).get("statusCategory") or {}).get("key", ""))

    # Reopening prefers "To Do" over "In Progress".
    wanted = ["done"] if closed else ["new", "indeterminate"]
    for goal in wanted:
        for transition in transitions:
            if isinstance(transition, dict) and category(transition) == goal:
                return str(transition.get("id"))
    return None


def document(markdown: str) -> dict:
    """Return ``markdown`` as an Atlassian Document: fenced code blocks
    become code blocks, other blocks paragraphs, URLs links."""
    content: list[dict] = []
    lines = markdown.splitlines()
    i = 0
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            content.append({"type": "paragraph", "content": _inline(paragraph)})
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            code = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                code.append(lines[i])
                i += 1
            block: dict = {"type": "codeBlock"}
            if code:
                block["content"] = [{"type": "text", "text": "\n".join(code)}]
            content.append(block)
        elif line.strip():
            paragraph.append(line)
        else:
            flush()
        i += 1
    flush()
    return {"type": "doc", "version": 1, "content": content}


def _inline(lines: list[str]) -> list[dict]:
    nodes: list[dict] = []
    for n, line in enumerate(lines):
        if n:
            nodes.append({"type": "hardBreak"})
        start = 0
        for match in _URL.finditer(line):
            if match.start() > start:
                nodes.append({"type": "text", "text": line[start : match.start()]})
            url = match.group(0).rstrip(").,")
            nodes.append(
                {
                    "type": "text",
                    "text": url,
                    "marks": [{"type": "link", "attrs": {"href": url}}],
                }
            )
            start = match.start() + len(url)
        if start < len(line):
            nodes.append({"type": "text", "text": line[start:]})
    return nodes


def document_text(doc: object) -> str:
    """Return the text of an Atlassian Document, lines joined by newlines."""
    out: list[str] = []

    def walk(node: object) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "text":
            out.append(str(node.get("text", "")))
        elif node.get("type") == "hardBreak":
            out.append("\n")
        for child in node.get("content") or []:
            walk(child)
        if node.get("type") in ("paragraph", "codeBlock"):
            out.append("\n")

    walk(doc)
    return "".join(out)
