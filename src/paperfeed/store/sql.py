"""Statement helpers the store's modules share."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Insert, Table
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


def chunks(values: list) -> Iterable[list]:
    """``values`` in lists short enough for one ``IN (...)``."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]
