"""GitLab issues over the REST API v4.

    POST {base}/api/v4/projects/group%2Fapp/issues   PRIVATE-TOKEN: <token>
    {"title": "...", "description": "...", "labels": "bug,prod"}
    → 201 {"iid": 12, "web_url": ".../-/issues/12", "state": "opened", ...}

Notes go to ``/projects/:id/issues/:iid/notes``; closing and reopening is
``PUT /projects/:id/issues/:iid`` with ``state_event`` "close"/"reopen".
See https://docs.gitlab.com/api/issues/ and https://docs.gitlab.com/api/notes/.
"""

from __future__ import annotations

from urllib.parse import quote

from fixtrail.integrations.base import (
    MAX_BODY_CHARS,
    MAX_TITLE_CHARS,
    Ticket,
    TrackerError,
    call,
    parse_time,
)

NAME = "GitLab"


class Client:
    """Calls for one connected GitLab project."""

    def __init__(self, integration: object) -> None:
        self.base = integration.base_url.rstrip("/")
        self.root = self.base + "/api/v4"
        self.token = integration.token
        self.target = integration.target
        self.project = f"{self.root}/projects/{quote(integration.target, safe='')}"

    def _call(self, method: str, url: str, what: str, **kwargs: object) -> object:
        return call(
            NAME,
            method,
            url,
            what=what,
            headers={"PRIVATE-TOKEN": self.token},
            **kwargs,
        )

    def check(self) -> str:
        """Check the token and the project; return what was found."""
        user = self._call("GET", f"{self.root}/user", "the token's user")
        project = self._call("GET", self.project, f"project {self.target}")
        if isinstance(project, dict) and project.get("issues_enabled") is False:
            raise TrackerError(
                f"GitLab project {self.target} has issues turned off", permanent=True
            )
        return f"signed in as {user.get('username', '?')}, project {self.target}"

    def web_url(self, external_id: str) -> str:
        """The issue's page, built without a call."""
        return f"{self.base}/{self.target}/-/issues/{external_id}"

    def _user_ids(self, username: str) -> list[int]:
        users = self._call(
            "GET",
            f"{self.root}/users",
            f"user {username}",
            params={"username": username},
        )
        if not users:
            raise TrackerError(f"GitLab has no user {username!r}", permanent=True)
        return [users[0]["id"]]

    def create(self, title: str, body: str, labels: list[str], assignee: str) -> Ticket:
        """File an issue in the project and return it."""
        fields: dict = {
            "title": title[:MAX_TITLE_CHARS],
            "description": body[:MAX_BODY_CHARS],
        }
        if labels:
            fields["labels"] = ",".join(labels)
        if assignee:
            fields["assignee_ids"] = self._user_ids(assignee)
        issue = self._call(
            "POST", f"{self.project}/issues", f"project {self.target}", json=fields
        )
        return _ticket(issue)

    def find(self, marker: str) -> Ticket | None:
        """Return the issue whose description holds ``marker``, if any
        (GitLab searches descriptions in its database, without lag)."""
        found = self._call(
            "GET",
            f"{self.project}/issues",
            f"project {self.target}",
            params={"search": marker, "in": "description", "per_page": "5"},
        )
        for issue in found if isinstance(found, list) else []:
            if marker in str(issue.get("description") or ""):
                return _ticket(issue)
        return None

    def get(self, external_id: str) -> Ticket:
        """Return the issue with iid ``external_id``."""
        issue = self._call(
            "GET", f"{self.project}/issues/{external_id}", f"issue #{external_id}"
        )
        return _ticket(issue)

    def comment(self, external_id: str, text: str) -> None:
        """Add a note to the issue."""
        self._call(
            "POST",
            f"{self.project}/issues/{external_id}/notes",
            f"issue #{external_id}",
            json={"body": text[:MAX_BODY_CHARS]},
        )

    def set_closed(self, external_id: str, closed: bool) -> Ticket:
        """Close or reopen the issue and return it."""
        issue = self._call(
            "PUT",
            f"{self.project}/issues/{external_id}",
            f"issue #{external_id}",
            json={"state_event": "close" if closed else "reopen"},
        )
        return _ticket(issue)


def _ticket(issue: object) -> Ticket:
    if not isinstance(issue, dict) or "iid" not in issue:
        raise TrackerError("GitLab answered without an issue")
    return Ticket(
        external_id=str(issue["iid"]),
        url=str(issue.get("web_url") or ""),
        state="closed" if issue.get("state") == "closed" else "open",
        updated_at=parse_time(issue.get("updated_at")),
        title=str(issue.get("title") or ""),
    )
