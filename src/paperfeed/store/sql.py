"""Statement helpers the store's modules share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Insert, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite

IN_CHUNK = 5_000  # bound parameters per IN (...) list, well under SQLite's limit


def insert_new(conn: Connection, table: Table, *key: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` on the unique ``key`` (its columns): a concurrent
    writer's row wins, without an error; the result's ``rowcount`` says whether this one was
    written."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
    if dialect is None:
        raise RuntimeError(f"paperfeed supports SQLite and PostgreSQL, not {conn.dialect.name}")
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(key))


def inserted(conn: Connection, table: Table, row: dict[str, Any], *key: str) -> bool:
    """Insert ``row`` unless a row with its ``key`` exists (:func:`insert_new`): whether this
    one was written. Told by ``RETURNING``, not the row count, which psycopg leaves at -1 for
    an ``ON CONFLICT DO NOTHING`` here."""
    statement = insert_new(conn, table, *key).values(row).returning(table.c[key[0]])
    return conn.execute(statement).first() is not None


def chunks(values: list) -> Iterable[list]:
    """``values`` in lists short enough for one ``IN (...)``."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def among(
    conn: Connection, column: ColumnElement[Any], values: Sequence[Any]
) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select the rows whose ``column`` is in ``values``: on
    PostgreSQL one ``= ANY(array)`` (one statement text, which psycopg prepares once, instead of
    thousands of parameters to expand), on SQLite one ``IN (...)`` per :func:`chunks`."""
    if conn.dialect.name == "postgresql":
        if values:
            yield column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return
    for chunk in chunks(list(values)):
        yield column.in_(chunk)
