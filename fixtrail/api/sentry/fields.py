"""Discover's ``field`` and ``sort`` parameters: columns and functions.

A request names what each row holds, as Sentry's Discover does::

    field=title&field=project&field=count()&field=count_unique(user)
    &sort=-count()

Plain names are columns of an event; ``name(argument)`` is a function over
the events of a row. When any function is asked for, the rows are groups
of events sharing the plain columns; otherwise each row is one event.

Each column names its ``source``: the stored value it is read from, which
the query builder (fixtrail.api.sentry.discover) turns into SQL. Columns
such as ``issue`` (``BACKEND-1A``) and ``project`` (a slug) are read as
ids and shown by name afterwards, so grouping by them stays on integers.
Pure: no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# More columns than this is not a table anyone reads.
MAX_FIELDS = 20


class FieldError(ValueError):
    """A field or sort the API cannot serve; the message names it."""


@dataclass(frozen=True)
class Column:
    """A plain column: ``name`` as written, read from ``source``."""

    name: str
    source: str
    type: str

    @property
    def is_function(self) -> bool:
        return False


@dataclass(frozen=True)
class Function:
    """A function over a row's events: ``count_unique(user)`` has
    ``function`` "count_unique" and ``argument`` the source "user"."""

    name: str
    function: str
    argument: str | None
    type: str

    @property
    def is_function(self) -> bool:
        return True


Field = Column | Function

# Written name -> (source, Discover type). Sources are the names
# fixtrail.api.sentry.discover knows how to read.
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("event_id", "string"),
    "title": ("title", "string"),
    "message": ("title", "string"),
    "issue": ("issue", "string"),
    "issue.id": ("issue", "integer"),
    "project": ("project", "string"),
    "project.name": ("project", "string"),
    "project.id": ("project_id", "integer"),
    "release": ("release", "string"),
    "environment": ("environment", "string"),
    "level": ("level", "string"),
    "user": ("user", "string"),
    "user.display": ("user_display", "string"),
    "timestamp": ("timestamp", "date"),
    "culprit": ("culprit", "string"),
    "platform": ("platform", "string"),
    "event.type": ("event_type", "string"),
}

# Columns count_unique() can count: the ones stored on every event row.
COUNTABLE = {
    "user": "user",
    "user.display": "user",
    "release": "release",
    "environment": "environment",
    "issue": "issue",
    "issue.id": "issue",
    "project": "project",
    "project.id": "project",
    "level": "level",
    "title": "title",
}

# Functions known to Sentry that need data Fixtrail does not keep
# (transactions, spans, measurements): named in the error.
TRANSACTION_FUNCTIONS = {
    "failure_rate",
    "failure_count",
    "apdex",
    "user_misery",
    "count_miserable",
    "p50",
    "p75",
    "p95",
    "p99",
    "p100",
    "percentile",
    "avg",
    "sum",
    "min",
    "max",
    "any",
    "tpm",
    "tps",
    "spm",
}

SUPPORTED_FUNCTIONS = (
    "count()",
    "count_unique(column)",
    "last_seen()",
    "first_seen()",
    "epm()",
    "eps()",
)

_FUNCTION = re.compile(r"([a-z_][a-z0-9_]*)\((.*)\)")


def parse_field(text: str) -> Field:
    """Return the column or function ``text`` names; raise FieldError."""
    text = text.strip()
    match = _FUNCTION.fullmatch(text)
    if match is None:
        if text in COLUMNS:
            source, kind = COLUMNS[text]
            return Column(text, source, kind)
        raise FieldError(
            f'Unknown field "{text}". Columns are: {", ".join(COLUMNS)}; '
            f"functions are: {', '.join(SUPPORTED_FUNCTIONS)}."
        )
    function, argument = match.group(1), match.group(2).strip()
    if function in ("count", "last_seen", "first_seen", "epm", "eps"):
        # count(id) and count() mean the same; Sentry's UI writes both.
        if argument not in ("", "id") or (argument and function != "count"):
            raise FieldError(f'"{function}()" takes no argument, in "{text}".')
        kind = "date" if function in ("last_seen", "first_seen") else "integer"
        if function in ("epm", "eps"):
            kind = "rate"
        return Function(text, function, None, kind)
    if function == "count_unique":
        if argument not in COUNTABLE:
            raise FieldError(
                f'count_unique() cannot count "{argument}"; it counts one of: '
                f"{', '.join(COUNTABLE)}."
            )
        return Function(text, function, COUNTABLE[argument], "integer")
    if (function == "min" or function == "max") and argument == "timestamp":
        # min(timestamp) is first_seen(), max(timestamp) last_seen().
        name = "first_seen" if function == "min" else "last_seen"
        return Function(text, name, None, "date")
    if function in TRANSACTION_FUNCTIONS:
        raise FieldError(
            f'"{text}" is not supported: Fixtrail stores error events, not '
            f"transactions. Use one of: {', '.join(SUPPORTED_FUNCTIONS)}."
        )
    raise FieldError(
        f'Unknown function "{text}". Use one of: {", ".join(SUPPORTED_FUNCTIONS)}.'
    )


def parse_fields(texts: list[str]) -> list[Field]:
    """Return the fields of a request, in order, without repeats.

    Raises FieldError for none, too many, or any unknown one.
    """
    if not texts:
        raise FieldError("No columns selected: add at least one field.")
    if len(texts) > MAX_FIELDS:
        raise FieldError(f"Too many fields: at most {MAX_FIELDS}.")
    fields: dict[str, Field] = {}
    for text in texts:
        field = parse_field(text)
        fields.setdefault(field.name, field)
    return list(fields.values())


def parse_sort(text: str, fields: list[Field]) -> tuple[Field, bool] | None:
    """Return the selected field ``text`` sorts by and whether it is
    descending (a leading ``-``); None for no sort.

    Raises FieldError when the field is not one of ``fields``, as Sentry
    requires: a row can only be ordered by what it shows.
    """
    text = text.strip()
    if not text:
        return None
    descending = text.startswith("-")
    name = parse_field(text.lstrip("-")).name
    for field in fields:
        if field.name == name:
            return field, descending
    raise FieldError(f'Cannot sort by "{name}": it is not one of the fields.')
