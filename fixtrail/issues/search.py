"""The issue search syntax, its queryset filter, sorts and cursor pages.

A query is a list of space-separated terms, all of which must match::

    is:unresolved !level:info release:"2.0 beta" browser:Chrome timeout

- ``key:value`` with a known key (table below) or any other key, which
  searches tags (``browser:Chrome``; ``tags[is]:x`` reaches a tag whose name
  is a known key);
- ``"quoted values"`` keep spaces and colons; ``key:[a, b]`` matches either;
- ``!`` in front of a term negates it;
- comparisons ``>``, ``>=``, ``<``, ``<=`` for ``timesSeen``, and relative
  times (``-24h``: within the last 24 hours, ``+7d``: longer ago) or dates
  (``>2024-05-01``) for ``age`` (first seen) and ``lastSeen``;
- anything else is free text, matched against title, culprit and message.

A word ending in ``:`` with an unknown key (``TypeError:`` pasted from a
message) is free text too, so error messages can be pasted as they are.

``parse_query`` is pure; ``filter_issues``, ``sort_issues`` and
``page_issues`` import Django only when called.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fixtrail.releases import search_terms

if TYPE_CHECKING:
    from django.db.models import Q, QuerySet

# A query longer than a screen of text is a mistake or an attack; both
# bounds keep the generated SQL small.
MAX_QUERY_CHARS = 1000
MAX_TERMS = 30
MAX_LIST_VALUES = 20
# TagValue.key is a 32-character column.
MAX_TAG_NAME_CHARS = 32

IS_VALUES = (
    "unresolved",
    "resolved",
    "ignored",
    "assigned",
    "unassigned",
    "linked",
    "unlinked",
    "regressed",
    "new",
    "escalating",
    "bookmarked",
    "for_review",
    "reviewed",
)
LEVELS = ("debug", "info", "warning", "error", "fatal")
SORTS = ("date", "new", "freq", "user", "priority", "inbox")

# Written key (lower-cased) -> the kind of term it makes.
KEYS = {
    "is": "is",
    "assigned": "assigned",
    "owner": "owner",
    "release": "release",
    "firstrelease": "first_release",
    "environment": "environment",
    "level": "level",
    "age": "age",
    "lastseen": "last_seen",
    "timesseen": "times_seen",
    "user.email": "user_email",
    "commit": "commit",
    "mr": "merge_request",
}
# Keys whose value is a comparison or a time, never a list.
NUMBER_KINDS = {"times_seen"}
TIME_KINDS = {"age", "last_seen"}
TIME_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_TAG_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_EXPLICIT_TAG = re.compile(r"tags\[([^\]]*)\]")
_COMPARISON = re.compile(r"(>=|<=|>|<|=)?(.*)", re.DOTALL)
_RELATIVE = re.compile(r"([-+])(\d{1,6})([mhdw])")


class SearchError(ValueError):
    """A query that cannot be understood; ``message`` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Term:
    """One condition of a query.

    ``kind`` is one of the values of ``KEYS``, ``"tag"`` (``name`` is the tag
    name) or ``"text"``. ``value`` is a tuple of strings (alternatives) for
    string kinds, an int for ``times_seen``, and for time kinds a timedelta
    (``op`` "-" within that long ago, "+" longer ago) or an aware datetime
    (``op`` a comparison). ``op`` is "=" otherwise.
    """

    kind: str
    value: Any
    op: str = "="
    negated: bool = False
    name: str = ""


@dataclass(frozen=True)
class _Token:
    negated: bool
    key: str | None
    value: str | tuple[str, ...]
    quoted: bool
    raw: str


def parse_query(text: str) -> list[Term]:
    """Return the terms of the search ``text``; raise SearchError if it is bad.

    An empty or blank query gives no terms (everything matches).
    """
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(
            f"The query is too long: at most {MAX_QUERY_CHARS} characters."
        )
    terms = [_term(token) for token in _tokenize(text)]
    if len(terms) > MAX_TERMS:
        raise SearchError(f"The query has too many terms: at most {MAX_TERMS}.")
    return terms


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negated = text[i] == "!"
        if negated:
            i += 1
            if i == n or text[i].isspace():
                raise SearchError('A lone "!" negates nothing.')
        if text[i] == '"':
            phrase, i = _quoted(text, i, start)
            tokens.append(_Token(negated, None, phrase, True, text[start:i]))
            continue
        key_start = i
        while i < n and not text[i].isspace() and text[i] not in ':"':
            i += 1
        if i < n and text[i] == ":" and i > key_start:
            key = text[key_start:i]
            i += 1
            value, quoted, i = _value(text, i, start)
            tokens.append(_Token(negated, key, value, quoted, text[start:i]))
            continue
        if i < n and text[i] == ":":
            end = _word_end(text, i)
            raise SearchError(f'Missing key before "{text[i:end]}".')
        i = _word_end(text, i)
        tokens.append(_Token(negated, None, text[key_start:i], False, text[start:i]))
    return tokens


def _word_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def _quoted(text: str, i: int, start: int) -> tuple[str, int]:
    """Read a quoted string at ``text[i]`` (a quote); ``\\"`` is a quote."""
    out = []
    i += 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            i += 1
            if i < len(text) and not text[i].isspace():
                end = _word_end(text, i)
                raise SearchError(
                    f"Put a space after the closing quote in: {text[start:end]}"
                )
            return "".join(out), i
        out.append(char)
        i += 1
    raise SearchError(f"A quote is not closed in: {text[start:]}")


def _value(text: str, i: int, start: int) -> tuple[str | tuple[str, ...], bool, int]:
    if i < len(text) and text[i] == '"':
        value, i = _quoted(text, i, start)
        return value, True, i
    if i < len(text) and text[i] == "[":
        close = text.find("]", i)
        if close == -1:
            raise SearchError(f"A bracket is not closed in: {text[start:]}")
        items = tuple(
            item.strip().strip('"') for item in text[i + 1 : close].split(",")
        )
        items = tuple(item for item in items if item)
        end = close + 1
        if end < len(text) and not text[end].isspace():
            raise SearchError(
                f"Put a space after the closing bracket in: "
                f"{text[start : _word_end(text, end)]}"
            )
        if not items:
            raise SearchError(f"The list is empty in: {text[start:end]}")
        return items, False, end
    end = _word_end(text, i)
    return text[i:end], False, end


def _term(token: _Token) -> Term:
    if token.key is None:
        return Term("text", (token.value,), negated=token.negated)
    kind = KEYS.get(token.key.lower())
    name = ""
    explicit = _EXPLICIT_TAG.fullmatch(token.key)
    if explicit:
        kind, name = "tag", explicit.group(1)
        if not _TAG_NAME.fullmatch(name):
            raise SearchError(f'Not a tag name: "{name}".')
    elif kind is None:
        pasted = (
            (token.value == "" and not token.quoted)
            or not _TAG_NAME.fullmatch(token.key)
            or (isinstance(token.value, str) and token.value.startswith("//"))
        )
        if pasted:
            # "TypeError:", "'a:b'" or a URL pasted from a message.
            return Term("text", (token.raw.lstrip("!"),), negated=token.negated)
        kind, name = "tag", token.key
    if name and len(name) > MAX_TAG_NAME_CHARS:
        raise SearchError(
            f'Tag names are at most {MAX_TAG_NAME_CHARS} characters: "{name}".'
        )
    if token.value == "" or token.value == ():
        raise SearchError(f'Missing value after "{token.key}:".')
    if isinstance(token.value, tuple):
        if kind in NUMBER_KINDS or kind in TIME_KINDS:
            raise SearchError(f'"{token.key}:" does not take a list.')
        if len(token.value) > MAX_LIST_VALUES:
            raise SearchError(
                f'"{token.key}:" takes at most {MAX_LIST_VALUES} values in a list.'
            )
        values = token.value
    else:
        values = (token.value,)
    if kind in NUMBER_KINDS:
        op, number = _number(token.key, values[0])
        return Term(kind, number, op=op, negated=token.negated)
    if kind in TIME_KINDS:
        op, when = _time(token.key, values[0])
        return Term(kind, when, op=op, negated=token.negated)
    _check_values(kind, token.key, values)
    return Term(kind, values, negated=token.negated, name=name)


def _check_values(kind: str, key: str, values: tuple[str, ...]) -> None:
    for value in values:
        if kind in ("commit", "merge_request"):
            try:
                (search_terms.check_commit if kind == "commit" else
                 search_terms.parse_merge_request)(value)  # fmt: skip
            except search_terms.TermError as exc:
                raise SearchError(str(exc)) from None
        if kind == "is" and value.lower() not in IS_VALUES:
            raise SearchError(
                f'Unknown value "{value}" for is:. Use one of: {", ".join(IS_VALUES)}.'
            )
        if kind == "level" and value.lower() not in LEVELS:
            raise SearchError(
                f'Unknown level "{value}". Use one of: {", ".join(LEVELS)}.'
            )
        if kind in ("assigned", "owner") and not (
            value.lower() in ("me", "none")
            or (value.startswith("#") and len(value) > 1)
            or "@" in value
        ):
            raise SearchError(
                f'"{key}:" takes me, none, #team or an e-mail address, not "{value}".'
            )


def _number(key: str, text: str) -> tuple[str, int]:
    match = _COMPARISON.fullmatch(text)
    op, digits = match.group(1) or "=", match.group(2)
    if not digits.isdigit() or len(digits) > 18:
        raise SearchError(
            f'"{key}:" needs a number, optionally after >, >=, < or <=, '
            f"as in {key}:>10."
        )
    return op, int(digits)


def _time(key: str, text: str) -> tuple[str, timedelta | datetime]:
    relative = _RELATIVE.fullmatch(text)
    if relative:
        sign, amount, unit = relative.groups()
        return sign, timedelta(**{TIME_UNITS[unit]: int(amount)})
    match = _COMPARISON.fullmatch(text)
    op, rest = match.group(1), match.group(2)
    if op and op != "=":
        try:
            when = datetime.fromisoformat(rest)
        except ValueError:
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return op, when
    raise SearchError(
        f'"{key}:" needs a relative time like -24h or +7d (units m, h, d, w) '
        f"or a date after > or <, like >2024-05-01."
    )


# Queryset side ----------------------------------------------------------


def filter_issues(
    qs: QuerySet, terms: list[Term], *, user: Any, now: datetime
) -> QuerySet:
    """Return ``qs`` narrowed to the issues matching every term.

    ``user`` answers ``assigned:me`` and ``is:bookmarked``; ``now`` anchors
    relative times. Tag, release, environment and user terms are EXISTS
    subqueries, served by the (issue, key, value) and e-mail indexes.
    """
    for term in terms:
        condition = _condition(term, user, now)
        qs = qs.filter(~condition if term.negated else condition)
    return qs


def _condition(term: Term, user: Any, now: datetime) -> Q:
    from django.db.models import Q

    kind = term.kind
    if kind == "is":
        return _any(_is_condition(value.lower(), user) for value in term.value)
    if kind == "assigned":
        return _any(_assigned_condition(value, user) for value in term.value)
    if kind == "owner":
        return _any(_owner_condition(value, user) for value in term.value)
    if kind in ("release", "environment"):
        return _tag_condition(kind, term.value)
    if kind == "tag":
        return _tag_condition(term.name, term.value)
    if kind == "first_release":
        return Q(first_release__in=term.value)
    if kind == "level":
        return Q(level__in=[value.lower() for value in term.value])
    if kind == "times_seen":
        return _compare("times_seen", term.op, term.value)
    if kind in TIME_KINDS:
        field = "first_seen" if kind == "age" else "last_seen"
        if isinstance(term.value, timedelta):
            # -24h: seen after now-24h; +24h: seen before it.
            op = ">=" if term.op == "-" else "<"
            return _compare(field, op, now - term.value)
        return _compare(field, term.op, term.value)
    if kind == "user_email":
        return _user_email_condition(term.value)
    if kind == "commit":
        return _any(search_terms.commit_condition(v) for v in term.value)
    if kind == "merge_request":
        return _any(search_terms.merge_request_condition(v) for v in term.value)
    if kind == "text":
        return _any(
            Q(title__icontains=value)
            | Q(culprit__icontains=value)
            | Q(value__icontains=value)
            for value in term.value
        )
    raise AssertionError(f"parse_query made an unknown kind {kind!r}")


def _any(conditions: Any) -> Q:
    return functools.reduce(operator.or_, conditions)


def _compare(field: str, op: str, value: Any) -> Q:
    from django.db.models import Q

    lookup = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op]
    return Q(**{f"{field}__{lookup}": value})


def _is_condition(value: str, user: Any) -> Q:
    from django.db.models import Exists, OuterRef, Q

    from fixtrail.issues.models import Issue, Substatus

    if value in ("unresolved", "resolved", "ignored"):
        return Q(status=value)
    if value == "assigned":
        return Q(assignee__isnull=False) | Q(assignee_team__isnull=False)
    if value == "unassigned":
        return Q(assignee__isnull=True, assignee_team__isnull=True)
    if value == "regressed":
        return Q(is_regressed=True)
    if value == "new":
        return Q(substatus=Substatus.NEW)
    if value == "escalating":
        return Q(substatus=Substatus.ESCALATING)
    if value == "for_review":
        return ~Q(inbox_reason="")
    if value == "reviewed":
        return Q(inbox_reason="")
    if value == "bookmarked":
        through = Issue.bookmarked_by.through
        return Exists(through.objects.filter(issue=OuterRef("pk"), user=user))
    from fixtrail.integrations.models import ExternalIssueLink

    # Exists, not a join: an issue with two tickets must show up once.
    linked = Exists(ExternalIssueLink.objects.filter(issue=OuterRef("pk")))
    return linked if value == "linked" else ~linked


def _assigned_condition(value: str, user: Any) -> Q:
    from django.db.models import Q

    if value.lower() == "me":
        return Q(assignee=user)
    if value.lower() == "none":
        return Q(assignee__isnull=True, assignee_team__isnull=True)
    if value.startswith("#"):
        return Q(assignee_team__slug=value[1:])
    return Q(assignee__email__iexact=value)


def _owner_condition(value: str, user: Any) -> Q:
    """Issues whose owner by the ownership rules is ``value``: ``me`` is the
    user or any team the user belongs to."""
    from django.db.models import Q

    if value.lower() == "me":
        return Q(owner__user=user) | Q(owner__team__members=user)
    if value.lower() == "none":
        return Q(owner__isnull=True)
    if value.startswith("#"):
        return Q(owner__team__slug=value[1:])
    return Q(owner__user__email__iexact=value)


def _tag_condition(key: str, values: tuple[str, ...]) -> Q:
    from django.db.models import Exists, OuterRef, Q

    from fixtrail.issues.models import TagValue

    tags = TagValue.objects.filter(issue=OuterRef("pk"), key=key, value__in=values)
    return Q(Exists(tags))


def _user_email_condition(values: tuple[str, ...]) -> Q:
    from django.db.models import Q

    from fixtrail.issues.models import IssueUser

    # A rare value: listing the few matching issues through the e-mail index
    # beats probing every issue. Digest keeps e-mails as the SDK sent them,
    # so both that and the lower-case form are looked up.
    emails = {form for value in values for form in (value, value.lower())}
    return Q(pk__in=IssueUser.objects.filter(email__in=emails).values("issue_id"))


# Sorting and cursor pages ------------------------------------------------

# Each sort's columns, most significant first; the id breaks ties so every
# row has a distinct position and cursors never skip or repeat a row.
SORT_FIELDS = {
    "date": ("last_seen",),
    "new": ("first_seen",),
    "freq": ("times_seen",),
    "user": ("user_count",),
    "priority": ("priority", "last_seen"),
    # When the issue (last) entered the review inbox.
    "inbox": ("inbox_at",),
}
# Cursor values of these fields are datetimes (as epoch microseconds).
DATE_FIELDS = {
    "inbox_at",
    "last_seen",
    "first_seen",
    "timestamp",
    "received_at",
    "created_at",
}


def sort_issues(qs: QuerySet, sort: str, ascending: bool = False) -> QuerySet:
    """Return ``qs`` ordered by ``sort`` (one of SORTS), newest/most first
    unless ``ascending``; raise SearchError for an unknown sort."""
    fields = _sort_fields(sort)
    sign = "" if ascending else "-"
    return qs.order_by(*(sign + field for field in fields))


def _sort_fields(sort: str) -> tuple[str, ...]:
    if sort not in SORT_FIELDS:
        raise SearchError(f'Unknown sort "{sort}". Use one of: {", ".join(SORTS)}.')
    return (*SORT_FIELDS[sort], "id")


@dataclass
class Page:
    """One page of a sorted queryset, with the cursors of its neighbours."""

    items: list
    next_cursor: str | None
    prev_cursor: str | None


def page_issues(
    qs: QuerySet, sort: str, ascending: bool, cursor: str | None, limit: int
) -> Page:
    """Return the page of ``qs`` (unsorted) in ``sort`` order after or
    before ``cursor``; see ``keyset_page``."""
    return keyset_page(qs, _sort_fields(sort), ascending, cursor, limit)


def keyset_page(
    qs: QuerySet,
    fields: tuple[str, ...],
    ascending: bool,
    cursor: str | None,
    limit: int,
) -> Page:
    """Return ``limit`` rows of ``qs`` ordered by ``fields`` (the last one
    unique, e.g. "id"), after or before ``cursor``.

    Cursors look like ``n:1717000000000000,42`` (the values of ``fields``
    for the last row shown, datetimes as epoch microseconds; ``p:`` for the
    page before the first row shown). A cursor that does not decode for
    these fields starts at the first page. Keyset pages cost the same at
    any depth, unlike OFFSET.
    """
    position = decode_cursor(cursor, fields)
    backwards = position is not None and position[0]
    forward = ascending != backwards
    sign = "" if forward else "-"
    ordered = qs.order_by(*(sign + field for field in fields))
    if position is not None:
        ordered = ordered.filter(keyset_filter(fields, position[1], forward))
    rows = list(ordered[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        has_prev, has_next = more, True
    else:
        has_prev, has_next = position is not None, more
    return Page(
        items=rows,
        next_cursor=encode_cursor(rows[-1], fields, False)
        if rows and has_next
        else None,
        prev_cursor=encode_cursor(rows[0], fields, True) if rows and has_prev else None,
    )


def encode_cursor(row: Any, fields: tuple[str, ...], backwards: bool) -> str:
    """Return the cursor that continues after (or before) ``row``."""
    values = []
    for name in fields:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = _micros(value)
        values.append(str(int(value)))
    return ("p:" if backwards else "n:") + ",".join(values)


def decode_cursor(
    cursor: str | None, fields: tuple[str, ...]
) -> tuple[bool, list[Any]] | None:
    """Return (backwards, values) for a cursor of ``fields``, or None."""
    if not cursor or cursor[:2] not in ("n:", "p:"):
        return None
    parts = cursor[2:].split(",")
    if len(parts) != len(fields) or not all(
        re.fullmatch(r"-?\d{1,20}", p) for p in parts
    ):
        return None
    values: list[Any] = []
    for name, part in zip(fields, parts, strict=True):
        number = int(part)
        if name in DATE_FIELDS:
            try:
                values.append(
                    datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=number)
                )
            except OverflowError:
                return None
        else:
            values.append(number)
    return cursor.startswith("p:"), values


def _micros(value: datetime) -> int:
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def keyset_filter(fields: tuple[str, ...], values: list[Any], forward: bool) -> Q:
    """Rows strictly after ``values`` in the order of ``fields``, ascending
    when ``forward`` is True, else descending.

    Written as ``a >= x AND (a > x OR (b >= y AND (b > y OR ...)))``: the
    outer bound lets the database walk an index on the fields from the
    cursor on, which a plain OR of the cases would not.
    """
    from django.db.models import Q

    strict, loose = ("gt", "gte") if forward else ("lt", "lte")
    first, value = fields[0], values[0]
    beyond = Q(**{f"{first}__{strict}": value})
    if len(fields) == 1:
        return beyond
    rest = keyset_filter(fields[1:], values[1:], forward)
    return Q(**{f"{first}__{loose}": value}) & (beyond | rest)


# Events of one issue -----------------------------------------------------

# The event list searches the columns copied out of each event; tags and
# users live in the compressed payload and are searched on the issue list.
EVENT_KINDS = {"release", "environment", "level", "text"}


def filter_events(qs: QuerySet, terms: list[Term]) -> QuerySet:
    """Return ``qs`` (events) narrowed to those matching every term.

    Only release:, environment:, level: and free text (matched against the
    title, the event id and the user) apply to single events; other terms
    raise SearchError.
    """
    from django.db.models import Q

    for term in terms:
        if term.kind not in EVENT_KINDS:
            raise SearchError(
                "Events can be searched by release:, environment:, level: "
                "and free text only."
            )
        if term.kind == "text":
            condition = _any(
                Q(title__icontains=value)
                | Q(event_id__startswith=value.lower().replace("-", ""))
                | Q(user_identity__icontains=value)
                for value in term.value
            )
        elif term.kind == "level":
            condition = Q(level__in=[value.lower() for value in term.value])
        else:
            condition = Q(**{f"{term.kind}__in": term.value})
        qs = qs.filter(~condition if term.negated else condition)
    return qs


def quote_term(key: str, value: str) -> str:
    """Return the term that searches tag ``key`` for exactly ``value``, as
    a link from an event's tags to the issue list: ``browser:"Chrome 1"``.

    Tags named like a search key with another meaning go through
    ``tags[...]``; release, environment and level mean the same either way.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    kind = KEYS.get(key.lower())
    plain = kind in (None, "release", "environment", "level") and _TAG_NAME.fullmatch(
        key
    )
    return f'{key if plain else f"tags[{key}]"}:"{escaped}"'
