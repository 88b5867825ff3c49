"""Discover's ``query``: the issue search syntax, applied to events.

The same parser reads the query as on the issue list
(fixtrail.issues.search), and each term goes where its value is stored:

- on the event row: ``release:``, ``environment:``, ``level:``, ``id:``,
  ``user:`` (``id:42`` as the SDK user's key), ``title:``/``message:``
  (substring) and free text (title, event id, user);
- on the event's issue, through a subquery: the issue terms (``is:``,
  ``assigned:``, ``firstRelease:``, ``age:``, ``lastSeen:``,
  ``timesSeen:``), ``issue:BACKEND-1A``, ``issue.id:``, ``project:``
  (slug), ``event.type:error|default``.

Tags other than these and ``user.email:`` live inside the stored event, so
they are refused with a message that names them, rather than answered
slowly or wrongly. A query with no event-row term can be answered from the
hourly counts of issues. Builds Q objects only; runs no query.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass, field

from django.db.models import Q

from fixtrail.issues.search import Term

# Kinds parse_query gives that describe the issue, not the event.
ISSUE_KINDS = {"is", "assigned", "first_release", "age", "last_seen", "times_seen"}
EVENT_COLUMN_KINDS = {"release": "release", "environment": "environment"}

_SHORT_ID = re.compile(r"([-A-Za-z0-9_]{1,50})-([0-9A-Za-z]{1,12})")
_EVENT_ID = re.compile(r"[0-9a-f]{32}")


class QueryError(ValueError):
    """A term Discover cannot apply to events; the message names it."""


@dataclass
class EventQuery:
    """A query split by where each condition is checked.

    ``event_filter`` applies to Event rows, ``issue_filter`` and
    ``issue_terms`` (for fixtrail.issues.search.filter_issues) to the
    issue of each event.
    """

    event_filter: Q = field(default_factory=Q)
    issue_filter: Q = field(default_factory=Q)
    issue_terms: list[Term] = field(default_factory=list)

    @property
    def on_events(self) -> bool:
        """True when some condition needs the event rows themselves."""
        return bool(self.event_filter)

    @property
    def on_issues(self) -> bool:
        return bool(self.issue_filter) or bool(self.issue_terms)


def translate(terms: list[Term]) -> EventQuery:
    """Return ``terms`` (from parse_query) as an EventQuery.

    Raises QueryError for terms that cannot apply to single events.
    """
    out = EventQuery()
    for term in terms:
        if term.kind in ISSUE_KINDS:
            out.issue_terms.append(term)
            continue
        on_issue, condition = _condition(term)
        if term.negated:
            condition = ~condition
        if on_issue:
            out.issue_filter &= condition
        else:
            out.event_filter &= condition
    return out


def _any(conditions: list[Q]) -> Q:
    return functools.reduce(operator.or_, conditions)


def _condition(term: Term) -> tuple[bool, Q]:
    """Return (applies to the issue, condition) for one term."""
    values: tuple[str, ...] = term.value
    if term.kind in EVENT_COLUMN_KINDS:
        return False, Q(**{f"{EVENT_COLUMN_KINDS[term.kind]}__in": values})
    if term.kind == "level":
        return False, Q(level__in=[value.lower() for value in values])
    if term.kind == "text":
        return False, _any(
            [
                Q(title__icontains=value)
                | Q(event_id__startswith=value.lower().replace("-", ""))
                | Q(user_identity__icontains=value)
                for value in values
            ]
        )
    if term.kind == "tag":
        return _tag_condition(term.name.lower(), values)
    raise QueryError(
        f"Events cannot be searched by {_written(term)}: it describes users of "
        f"issues, not single events. Search the issue list for it."
    )


def _tag_condition(name: str, values: tuple[str, ...]) -> tuple[bool, Q]:
    if name in ("title", "message"):
        return False, _any([Q(title__icontains=value) for value in values])
    if name == "id":
        ids = [value.lower().replace("-", "") for value in values]
        bad = [value for value in ids if not _EVENT_ID.fullmatch(value)]
        if bad:
            raise QueryError(f'"id:{bad[0]}" is not an event id (32 hex digits).')
        return False, Q(event_id__in=ids)
    if name == "user":
        return False, Q(user_identity__in=values)
    if name == "issue":
        return True, _any([_short_id_condition(value) for value in values])
    if name == "issue.id":
        if not all(value.isdigit() and len(value) <= 18 for value in values):
            raise QueryError('"issue.id:" takes issue ids (numbers).')
        return True, Q(pk__in=[int(value) for value in values])
    if name in ("project", "project.name"):
        return True, Q(project__slug__in=values)
    if name == "event.type":
        wanted = {value.lower() for value in values}
        if not wanted <= {"error", "default", "transaction"}:
            raise QueryError('"event.type:" takes error, default or transaction.')
        conditions = []
        if "error" in wanted:
            conditions.append(~Q(type=""))
        if "default" in wanted:
            conditions.append(Q(type=""))
        # Transactions are never stored: a condition nothing meets.
        return True, _any(conditions) if conditions else Q(pk__in=[])
    raise QueryError(
        f'Events cannot be searched by the tag "{name}": event tags are kept '
        f"inside each stored event. Use release:, environment:, level:, "
        f"user:, issue:, project:, event.type:, is: and free text, or search "
        f"the issue list by tag."
    )


def _short_id_condition(value: str) -> Q:
    match = _SHORT_ID.fullmatch(value)
    if match is None:
        raise QueryError(f'"issue:{value}" is not a short id like BACKEND-1A.')
    prefix, number = match.groups()
    return Q(project__slug__iexact=prefix, short_id=int(number, 36))


def _written(term: Term) -> str:
    names = {"user_email": "user.email"}
    return f'"{names.get(term.kind, term.kind)}:"'
