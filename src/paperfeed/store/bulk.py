"""Many rows at once on PostgreSQL with COPY, in the caller's transaction.

A statement per row costs a round of parsing, binding and planning on the server and of
adaptation in psycopg; COPY streams the rows and PostgreSQL parses them in one go. Inserts that
may meet stored keys, and updates, go through a staging table: COPY into it, then one
``INSERT … SELECT … ON CONFLICT`` or ``UPDATE … FROM``. Values go through the columns' types as
SQLAlchemy would bind them, so the rows stored are the ones ``executemany`` would store.
Stored rows are matched to staged ones by ``= ANY(ARRAY(SELECT … FROM stage))``, which walks
the key's index for the staged keys alone: with a join the planner may hash the whole table,
a cost per batch that grows with the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table

Row = dict[str, Any]


def copy_rows(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Append ``rows`` (dicts with the same keys, columns of ``table``) to ``table``."""
    if rows:
        _copy(conn, _quote(conn, table.name), table, list(rows[0]), rows)


def ensure_keys(conn: Connection, table: Table, key: str, rows: Sequence[Row]) -> dict[Any, int]:
    """Insert the ``rows`` whose unique ``key`` is not stored yet; return ``{key: id}`` for all.
    A row a concurrent writer stores first is kept (``ON CONFLICT DO NOTHING``); stored keys
    are skipped before the insert, which would otherwise draw an id for each of them."""
    if not rows:
        return {}
    columns = list(rows[0])
    stage = _stage(conn, table, columns, rows)
    target, column = _quote(conn, table.name), _quote(conn, key)
    names = ", ".join(_quote(conn, name) for name in columns)
    stored = f"SELECT {column}, id FROM {target} WHERE {_staged(target, column, stage)}"
    conn.exec_driver_sql(
        f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage}"
        f" WHERE {column} NOT IN (SELECT {column} FROM ({stored}) AS stored)"
        f" ORDER BY {column} ON CONFLICT ({column}) DO NOTHING"
    )
    found = conn.exec_driver_sql(stored)
    return {key: row_id for key, row_id in found}


def update_rows(conn: Connection, table: Table, rows: Sequence[Row], key: str = "id") -> None:
    """Set the other columns of ``rows`` (dicts with the same keys) on the rows with their
    ``key``."""
    if not rows:
        return
    columns = list(rows[0])
    stage = _stage(conn, table, columns, rows)
    target = _quote(conn, table.name)
    assignments = ", ".join(
        f"{_quote(conn, name)} = {stage}.{_quote(conn, name)}" for name in columns if name != key
    )
    column = _quote(conn, key)
    conn.exec_driver_sql(
        f"UPDATE {target} SET {assignments} FROM {stage}"
        f" WHERE {target}.{column} = {stage}.{column} AND {_staged(target, column, stage)}"
    )


def _stage(conn: Connection, table: Table, columns: list[str], rows: Sequence[Row]) -> str:
    """A temporary table with ``table``'s ``columns`` (types, no constraints) holding ``rows``,
    dropped at commit."""
    stage = _quote(conn, f"stage_{table.name}")
    names = ", ".join(_quote(conn, name) for name in columns)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{stage}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS"
        f" SELECT {names} FROM {_quote(conn, table.name)} WITH NO DATA"
    )
    _copy(conn, stage, table, columns, rows)
    return stage


def _copy(
    conn: Connection, target: str, table: Table, columns: list[str], rows: Sequence[Row]
) -> None:
    dialect = conn.dialect
    processors = [
        (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns
    ]
    names = ", ".join(_quote(conn, name) for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [process(row[name]) if process else row[name] for name, process in processors]
            )


def _staged(target: str, column: str, stage: str) -> str:
    """The rows of ``target`` whose ``column`` is among the staged ones, found by its index."""
    return f"{target}.{column} = ANY(ARRAY(SELECT {column} FROM {stage}))"


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)
