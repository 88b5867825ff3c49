"""GitHub issues over the REST API.

    POST {api}/repos/acme/app/issues   Authorization: Bearer <token>
    {"title": "...", "body": "...", "labels": ["bug"], "assignees": ["dana"]}
    → 201 {"number": 7, "html_url": ".../issues/7", "state": "open", ...}

Comments go to ``/repos/{owner}/{repo}/issues/{n}/comments``; closing and
reopening is ``PATCH /repos/{owner}/{repo}/issues/{n}`` with ``state``.
See https://docs.github.com/en/rest/issues/issues (API version 2022-11-28).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fixtrail.integrations.base import (
    MAX_BODY_CHARS,
    MAX_TITLE_CHARS,
    Ticket,
    TrackerError,
    call,
    parse_time,
)

NAME = "GitHub"
API_VERSION = "2022-11-28"
# Newest issues read when looking for one an earlier try filed: a retry
# comes within the hour, when few others were filed.
FIND_WINDOW = 30


class Client:
    """Calls for one connected GitHub repository."""

    def __init__(self, integration: object) -> None:
        self.root = integration.base_url.rstrip("/")
        self.token = integration.token
        self.target = integration.target
        self.repo = f"{self.root}/repos/{integration.target}"

    def _call(self, method: str, url: str, what: str, **kwargs: object) -> object:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        return call(NAME, method, url, what=what, headers=headers, **kwargs)

    def check(self) -> str:
        """Check the token and the repository; return what was found."""
        user = self._call("GET", f"{self.root}/user", "the token's user")
        repo = self._call("GET", self.repo, f"repository {self.target}")
        if isinstance(repo, dict) and repo.get("has_issues") is False:
            raise TrackerError(
                f"GitHub repository {self.target} has issues turned off",
                permanent=True,
            )
        permissions = repo.get("permissions") if isinstance(repo, dict) else None
        if isinstance(permissions, dict) and not (
            permissions.get("triage") or permissions.get("push")
        ):
            raise TrackerError(
                f"the token can read {self.target} but cannot close its issues "
                "(it needs triage or write access)",
                permanent=True,
            )
        return f"signed in as {user.get('login', '?')}, repository {self.target}"

    def web_url(self, external_id: str) -> str:
        """The issue's page, built without a call: the API root without its
        "api." host prefix or "/api/v3" path (GitHub Enterprise Server)."""
        parts = urlsplit(self.root)
        host = parts.netloc.removeprefix("api.")
        path = parts.path.removesuffix("/api/v3")
        return f"{parts.scheme}://{host}{path}/{self.target}/issues/{external_id}"

    def create(self, title: str, body: str, labels: list[str], assignee: str) -> Ticket:
        """File an issue in the repository and return it."""
        fields: dict = {"title": title[:MAX_TITLE_CHARS], "body": body[:MAX_BODY_CHARS]}
        if labels:
            fields["labels"] = labels
        if assignee:
            fields["assignees"] = [assignee]
        issue = self._call(
            "POST", f"{self.repo}/issues", f"repository {self.target}", json=fields
        )
        return _ticket(issue)

    def find(self, marker: str) -> Ticket | None:
        """Return a recent issue whose body holds ``marker``, if any.

        Reads the newest issues rather than the search API, whose index
        lags behind by up to minutes.
        """
        found = self._call(
            "GET",
            f"{self.repo}/issues",
            f"repository {self.target}",
            params={
                "state": "all",
                "sort": "created",
                "direction": "desc",
                "per_page": str(FIND_WINDOW),
            },
        )
        for issue in found if isinstance(found, list) else []:
            if marker in str(issue.get("body") or ""):
                return _ticket(issue)
        return None

    def get(self, external_id: str) -> Ticket:
        """Return issue number ``external_id``."""
        issue = self._call(
            "GET", f"{self.repo}/issues/{external_id}", f"issue #{external_id}"
        )
        return _ticket(issue)

    def comment(self, external_id: str, text: str) -> None:
        """Comment on the issue."""
        self._call(
            "POST",
            f"{self.repo}/issues/{external_id}/comments",
            f"issue #{external_id}",
            json={"body": text[:MAX_BODY_CHARS]},
        )

    def set_closed(self, external_id: str, closed: bool) -> Ticket:
        """Close (as completed) or reopen the issue and return it."""
        fields = (
            {"state": "closed", "state_reason": "completed"}
            if closed
            else {"state": "open"}
        )
        issue = self._call(
            "PATCH",
            f"{self.repo}/issues/{external_id}",
            f"issue #{external_id}",
            json=fields,
        )
        return _ticket(issue)


def _ticket(issue: object) -> Ticket:
    if not isinstance(issue, dict) or "number" not in issue:
        raise TrackerError("GitHub answered without an issue")
    return Ticket(
        external_id=str(issue["number"]),
        url=str(issue.get("html_url") or ""),
        state="closed" if issue.get("state") == "closed" else "open",
        updated_at=parse_time(issue.get("updated_at")),
        title=str(issue.get("title") or ""),
    )
