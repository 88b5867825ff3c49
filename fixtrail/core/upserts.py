"""Bulk writes that Django's ORM cannot express, or not fast enough:
counters that add up, timestamps that only move outwards, inserts that
report which rows were new, and one-statement updates of many rows.

For HourlyCount rows keyed on (issue, hour), ``upsert_add`` writes, on
SQLite (3.35+, for RETURNING)::

    INSERT INTO "issues_hourlycount" ("issue_id", "hour", "count")
    VALUES (?, ?, ?), (?, ?, ?)
    ON CONFLICT ("issue_id", "hour") DO UPDATE SET
        "count" = "issues_hourlycount"."count" + EXCLUDED."count"

and on PostgreSQL it first loads the rows into a temporary staging table
with a binary COPY, then runs the same statement with ``SELECT ... FROM``
the staging table in place of VALUES (see _stage). Thousands of bind
parameters, or arrays of them, cost the driver more CPU in Python than the
server spends on the rows; COPY's binary encoding runs in C.

Rows are written in key order, so two processes upserting overlapping rows
take row locks in the same order and cannot deadlock each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import (
    BinaryField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    ForeignKey,
    IntegerField,
    Model,
    TextField,
)

# Bind parameters per statement on SQLite, which allows 32,766 since 3.32;
# staying well below keeps statements quick to parse.
MAX_PARAMS_PER_STATEMENT = 10_000

# Fields whose Python values (int, str, bool, bytes, None) are their
# database values.
_PLAIN_FIELDS = (
    ForeignKey,
    IntegerField,
    CharField,
    TextField,
    BooleanField,
    BinaryField,
)

# PostgreSQL binary COPY type of each Django field type written here.
_COPY_TYPES = {
    "AutoField": "int4",
    "BigAutoField": "int8",
    "BigIntegerField": "int8",
    "PositiveBigIntegerField": "int8",
    "IntegerField": "int4",
    "PositiveIntegerField": "int4",
    "SmallIntegerField": "int2",
    "PositiveSmallIntegerField": "int2",
    "CharField": "text",
    "TextField": "text",
    "SlugField": "text",
    "DateTimeField": "timestamptz",
    "DateField": "date",
    "BooleanField": "bool",
    "BinaryField": "bytea",
}


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _chunks(rows: Sequence[Any], columns: int) -> Iterator[Sequence[Any]]:
    size = max(1, MAX_PARAMS_PER_STATEMENT // max(1, columns))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _converter(field: Field) -> Callable[[Any], Any] | None:
    """Return a function turning a Python value into the database value,
    as ``field.get_db_prep_save`` would, or None when the value already is
    the database value (ints, strings, bools, bytes, and datetimes for
    PostgreSQL).

    Django's own preparation costs microseconds per value, which adds up to
    a large share of a batch; the fast paths produce the same values (the
    same text for SQLite datetimes, so MIN/MAX compare them correctly
    against rows Django wrote).
    """
    sqlite = connection.vendor == "sqlite"
    if isinstance(field, DateTimeField):
        if not sqlite:
            return None
        # A batch repeats the same few datetime objects thousands of times
        # (an event's time in each of its tag rows). They are remembered by
        # identity: hashing an aware datetime costs as much as formatting
        # it, and the rows being prepared keep every one alive meanwhile.
        texts: dict[int, str] = {}

        def text(v: dt.datetime | None) -> str | None:
            if v is None:
                return None
            found = texts.get(id(v))
            if found is None:
                if v.tzinfo is dt.UTC:
                    found = v.isoformat(" ")[:-6]  # without "+00:00"
                else:
                    found = str(v.astimezone(dt.UTC).replace(tzinfo=None))
                texts[id(v)] = found
            return found

        return text
    if isinstance(field, DateField):
        return (lambda v: None if v is None else str(v)) if sqlite else None
    if isinstance(field, _PLAIN_FIELDS):
        return None
    return lambda v: field.get_db_prep_save(v, connection)


def _fields(model: type[Model], names: Sequence[str]) -> list[Field]:
    return [
        model._meta.pk if name == "pk" else model._meta.get_field(name)
        for name in names
    ]


def _prepared(
    model: type[Model], names: Sequence[str], rows: Sequence[dict]
) -> tuple[list[str], list[list[Any]]]:
    """Return the column names and the rows as lists of database values."""
    fields = _fields(model, names)
    converting = [
        (index, convert)
        for index, convert in enumerate(_converter(field) for field in fields)
        if convert is not None
    ]
    # itemgetter gives a tuple, or a bare value for one name.
    values_of = itemgetter(*names)
    one = len(names) == 1
    prepared = []
    for row in rows:
        values = [values_of(row)] if one else list(values_of(row))
        for index, convert in converting:
            values[index] = convert(values[index])
        prepared.append(values)
    return [field.column for field in fields], prepared


def _copy_type(field: Field) -> str:
    if isinstance(field, ForeignKey):
        return _copy_type(field.target_field)
    return _COPY_TYPES[field.get_internal_type()]


def _stage(
    cursor: Any, model: type[Model], names: Sequence[str], prepared: list[list[Any]]
) -> str:
    """Load rows into a temporary table on PostgreSQL; return its name.

    The table lives as long as the connection and is emptied first (and by
    every commit), so one per model and column set serves every batch.
    """
    fields = _fields(model, names)
    types = [_copy_type(field) for field in fields]
    columns = [field.column for field in fields]
    digest = hashlib.md5(",".join(columns).encode(), usedforsecurity=False)
    stage = _quote(f"stage_{model._meta.db_table}_{digest.hexdigest()[:8]}")
    definition = ", ".join(
        f"{_quote(c)} {t}" for c, t in zip(columns, types, strict=True)
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({definition}) "
        "ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"TRUNCATE {stage}")
    column_list = ", ".join(_quote(c) for c in columns)
    with cursor.copy(
        f"COPY {stage} ({column_list}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(types)
        for row in prepared:
            copy.write_row(row)
    return stage


def _sources(
    cursor: Any,
    model: type[Model],
    names: Sequence[str],
    prepared: list[list[Any]],
    order_by: Sequence[str],
) -> Iterator[tuple[str, list[Any]]]:
    """Yield ``(sql, params)`` row sources for ``prepared`` rows, in
    ``order_by`` column order (none when empty): a staging table on
    PostgreSQL, VALUES lists chunked under the parameter limit on SQLite
    (the rows are sorted)."""
    if _is_postgresql():
        stage = _stage(cursor, model, names, prepared)
        columns = ", ".join(_quote(f.column) for f in _fields(model, names))
        order = ", ".join(_quote(c) for c in order_by)
        yield (
            f"SELECT {columns} FROM {stage}" + (f" ORDER BY {order}" if order else ""),
            [],
        )
        return
    placeholders = _params(len(names))
    for chunk in _chunks(prepared, len(names)):
        yield (
            f"VALUES {', '.join([placeholders] * len(chunk))}",
            [value for row in chunk for value in row],
        )


def _insert_into(model: type[Model], columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO {_quote(model._meta.db_table)} "
        f"({', '.join(_quote(c) for c in columns)}) "
    )


def _sorted(rows: Sequence[dict], key: Sequence[str]) -> list[dict]:
    # For one name itemgetter gives the bare value, which sorts alike.
    return sorted(rows, key=itemgetter(*key))


def _driver_sqlite() -> bool:
    """Whether SQLite statements go to sqlite3's own cursor: yes, unless
    something watches Django's cursors (execute wrappers, query logging in
    DEBUG or a test's query capture), which must then see them too."""
    return (
        connection.vendor == "sqlite"
        and not connection.execute_wrappers
        and not connection.queries_logged
    )


@contextmanager
def _cursor() -> Iterator[Any]:
    """Yield a driver cursor on Django's connection, inside whatever
    transaction is open: psycopg's for COPY; sqlite3's, because Django's
    wrapper rewrites every statement's placeholders and wraps each call,
    a tenth of digest's time on SQLite. Errors reach callers as Django's
    (``wrap_database_errors``), as they would through Django's cursor."""
    if _is_postgresql():
        with connection.cursor() as cursor, connection.wrap_database_errors:
            yield cursor.cursor
        return
    if not _driver_sqlite():
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def _params(count: int) -> str:
    """Return a row of ``count`` placeholders for the cursor _cursor gives."""
    mark = "?" if _driver_sqlite() else "%s"
    return "(" + ", ".join([mark] * count) + ")"


def insert_rows(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of field name to value, all with the same
    fields); returns nothing, not even the new primary keys.

    Faster than ``bulk_create`` for wide batches: values skip Django's
    per-field preparation (see _converter), and PostgreSQL receives them
    through binary COPY, its bulk-load path.
    """
    if not rows:
        return
    names = list(rows[0].keys())
    columns, prepared = _prepared(model, names, rows)
    with _cursor() as cursor:
        if _is_postgresql():
            types = [_copy_type(field) for field in _fields(model, names)]
            column_list = ", ".join(_quote(c) for c in columns)
            table = _quote(model._meta.db_table)
            sql = f"COPY {table} ({column_list}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(sql) as copy:
                copy.set_types(types)
                for row in prepared:
                    copy.write_row(row)
            return
        for source, params in _sources(cursor, model, names, prepared, ()):
            cursor.execute(_insert_into(model, columns) + source, params)


def upsert_add(
    model: type[Model],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    add: Sequence[str] = (),
    greatest: Sequence[str] = (),
    least: Sequence[str] = (),
) -> None:
    """Insert ``rows`` into ``model``'s table, merging with existing rows.

    Every row must give a value for every column that has no database
    default (all rows the same fields), and no two rows the same ``key``
    (a unique constraint's fields). On a conflict with a stored row: fields
    in ``add`` are added to the stored value, ``greatest`` keep the larger
    and ``least`` the smaller of the two; other fields keep their stored
    value. Field names, not column names.
    """
    if not rows:
        return
    names = list(rows[0].keys())
    columns, prepared = _prepared(model, names, _sorted(rows, key))
    table = _quote(model._meta.db_table)
    maximum = "GREATEST" if _is_postgresql() else "MAX"
    minimum = "LEAST" if _is_postgresql() else "MIN"
    updates = []
    for name in add:
        column = _quote(model._meta.get_field(name).column)
        updates.append(f"{column} = {table}.{column} + EXCLUDED.{column}")
    for function, group in ((maximum, greatest), (minimum, least)):
        for name in group:
            column = _quote(model._meta.get_field(name).column)
            updates.append(
                f"{column} = {function}({table}.{column}, EXCLUDED.{column})"
            )
    key_columns = [model._meta.get_field(n).column for n in key]
    conflict = ", ".join(_quote(c) for c in key_columns)
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    with _cursor() as cursor:
        for source, params in _sources(cursor, model, names, prepared, key_columns):
            cursor.execute(
                _insert_into(model, columns)
                + source
                + f" ON CONFLICT ({conflict}) {action}",
                params,
            )


def insert_new(
    model: type[Model],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
) -> set[tuple]:
    """Insert the ``rows`` whose ``key`` is not stored yet; return the keys
    (tuples of database values, in ``key`` order) of the rows inserted.

    A row that conflicts, with a stored row or with one committed meanwhile
    by another process, is left out of the result: exactly one caller ever
    sees a given key as new, which is what makes redelivery harmless.
    """
    if not rows:
        return set()
    names = list(rows[0].keys())
    columns, prepared = _prepared(model, names, _sorted(rows, key))
    key_columns = [model._meta.get_field(n).column for n in key]
    conflict = ", ".join(_quote(c) for c in key_columns)
    inserted: set[tuple] = set()
    with _cursor() as cursor:
        for source, params in _sources(cursor, model, names, prepared, key_columns):
            cursor.execute(
                _insert_into(model, columns)
                + source
                + f" ON CONFLICT ({conflict}) DO NOTHING RETURNING {conflict}",
                params,
            )
            inserted.update(tuple(row) for row in cursor.fetchall())
    return inserted


def existing_keys(
    model: type[Model], keys: Sequence[tuple], *, key: Sequence[str]
) -> set[tuple]:
    """Return those of ``keys`` (tuples of values of the ``key`` fields, a
    unique constraint's) that are stored, as tuples of database values.

    One probe of the constraint's index per key. The ORM's
    ``filter(a__in=..., b__in=...)`` would probe every combination of the
    two lists: a batch's 200 issues and 200 users made 40,000.
    """
    if not keys:
        return set()
    rows = [dict(zip(key, values, strict=True)) for values in keys]
    columns, prepared = _prepared(model, key, rows)
    table = _quote(model._meta.db_table)
    # The source's columns: a staging table's own names, or VALUES' numbers.
    if _is_postgresql():
        names = [_quote(c) for c in columns]
    else:
        names = [f"column{n + 1}" for n in range(len(columns))]
    selected = ", ".join(f"{table}.{_quote(c)}" for c in columns)
    matched = " AND ".join(
        f"{table}.{_quote(c)} = v.{name}"
        for c, name in zip(columns, names, strict=True)
    )
    found: set[tuple] = set()
    with _cursor() as cursor:
        # A lookup: the order of the rows it joins does not matter.
        for source, params in _sources(cursor, model, key, prepared, ()):
            cursor.execute(
                f"SELECT {selected} FROM ({source}) AS v JOIN {table} ON {matched}",
                params,
            )
            found.update(tuple(row) for row in cursor.fetchall())
    return found


def update_rows(
    model: type[Model], rows: Sequence[dict[str, Any]], fields: Sequence[str]
) -> None:
    """Set ``fields`` of existing rows, each row's own values, in one
    statement (per chunk, on SQLite)::

        UPDATE "issues_issue" SET "times_seen" = v.column2, ...
        FROM (VALUES (%s, %s, ...), ...) AS v WHERE "issues_issue"."id" = v.column1

    Every row gives ``"pk"`` and each of ``fields``; rows are written in
    primary-key order, the order in which everything else locks them.
    """
    if not rows:
        return
    meta = model._meta
    names = ["pk", *fields]
    columns, prepared = _prepared(model, names, _sorted(rows, ["pk"]))
    table = _quote(meta.db_table)
    with _cursor() as cursor:
        if _is_postgresql():
            stage = _stage(cursor, model, names, prepared)
            assignments = ", ".join(f"{_quote(c)} = v.{_quote(c)}" for c in columns[1:])
            pk = _quote(columns[0])
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM {stage} AS v "
                f"WHERE {table}.{pk} = v.{pk}"
            )
            return
        aliases = [f"column{n + 1}" for n in range(len(columns))]
        assignments = ", ".join(
            f"{_quote(c)} = v.{alias}"
            for c, alias in zip(columns[1:], aliases[1:], strict=True)
        )
        row_sql = _params(len(columns))
        for chunk in _chunks(prepared, len(columns)):
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v "
                f"WHERE {table}.{_quote(columns[0])} = v.{aliases[0]}",
                [value for row in chunk for value in row],
            )
