"""Writing papers: one batch of records merged into the store in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from paperfeed.records import PaperRecord
from paperfeed.store import bulk
from paperfeed.store.merge import Row, changed, merge, new_row
from paperfeed.store.schema import authors, organisations, paper_authors, papers
from paperfeed.store.sql import among, insert_new
from paperfeed.text import folded_title


@dataclass
class BatchCounts:
    """What one batch did to the store, counted per paper."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0


def write_batch(
    conn: Connection, records: Sequence[PaperRecord], withdrawn: Sequence[str], today: date
) -> BatchCounts:
    """Merge validated ``records`` into the store and mark ``withdrawn`` ids as withdrawn."""
    org_ids = _organisation_ids(conn, records)
    stored = load_rows(conn, {r.arxiv_id for r in records})
    rows: dict[str, Row] = dict(stored)
    for record in records:
        org_id = org_ids.get(record.organisation.handle) if record.organisation else None
        current = rows.get(record.arxiv_id)
        row = merge(current, record, org_id) if current else new_row(record, org_id, today)
        rows[record.arxiv_id] = row | {"title_folded": folded_title(row["title"])}
    fresh = [row for key, row in rows.items() if key not in stored]
    changes = [row for key, row in rows.items() if key in stored and changed(stored[key], row)]
    now = datetime.now(UTC)
    for row in fresh + changes:
        row["changed_at"] = now
    new_ids = _insert_papers(conn, fresh)
    _update_papers(conn, changes)
    recast = {
        r["id"]: r["authors"] for r in changes if r["authors"] != stored[r["arxiv_id"]]["authors"]
    }
    for condition in among(conn, paper_authors.c.paper_id, sorted(recast)):
        conn.execute(delete(paper_authors).where(condition))
    _link_authors(conn, {new_ids[r["arxiv_id"]]: r["authors"] for r in fresh} | recast)
    counts = BatchCounts(len(fresh), len(changes), len(stored) - len(changes))
    counts.withdrawn = _withdraw(conn, withdrawn)
    return counts


def load_rows(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, Row]:
    """Stored papers by arXiv id."""
    found: dict[str, Row] = {}
    for condition in among(conn, papers.c.arxiv_id, sorted(arxiv_ids)):
        for row in conn.execute(select(papers).where(condition)).mappings():
            found[row["arxiv_id"]] = dict(row)
    return found


def _insert_papers(conn: Connection, rows: list[Row]) -> dict[str, int]:
    if not rows:
        return {}
    # one executemany (COPY on PostgreSQL) and one look-up: RETURNING with row order falls
    # back to a statement per row on SQLite
    _insert(conn, papers, rows)
    return _ids_of(conn, papers, "arxiv_id", {row["arxiv_id"] for row in rows})


def _update_papers(conn: Connection, rows: list[Row]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        bulk.update_rows(
            conn, papers, [{k: v for k, v in r.items() if k != "arxiv_id"} for r in rows]
        )
        return
    statement = update(papers).where(papers.c.id == bindparam("row_id"))
    values = [{**row, "row_id": row["id"]} for row in rows]
    for value in values:
        del value["id"], value["arxiv_id"]
    conn.execute(statement, values)


def _link_authors(conn: Connection, by_paper: dict[int, list[str] | None]) -> None:
    """Author rows (created where new) and ordered links for papers that have none."""
    names = {name for names in by_paper.values() for name in names or ()}
    ids = ensure_keys(conn, authors, "name", [{"name": n} for n in names])
    links = [
        {"paper_id": paper_id, "position": position, "author_id": ids[name]}
        for paper_id, names in by_paper.items()
        for position, name in enumerate(names or ())
    ]
    _insert(conn, paper_authors, links)


def _organisation_ids(conn: Connection, records: Sequence[PaperRecord]) -> dict[str, int]:
    orgs = {r.organisation.handle: r.organisation for r in records if r.organisation}
    rows = [{"handle": o.handle, "name": o.name} for o in orgs.values()]
    return ensure_keys(conn, organisations, "handle", rows)


def _withdraw(conn: Connection, arxiv_ids: Sequence[str]) -> int:
    count = 0
    for condition in among(conn, papers.c.arxiv_id, sorted(set(arxiv_ids))):
        statement = (
            update(papers)
            .where(condition, papers.c.withdrawn.is_(False))
            .values(withdrawn=True, changed_at=datetime.now(UTC))
        )
        count += conn.execute(statement).rowcount
    return count


def ensure_keys(
    conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]
) -> dict[str, int]:
    """Insert the rows whose ``key`` is not stored yet; return ``{key value: id}`` for all."""
    if not rows:
        return {}
    if conn.dialect.name == "postgresql":
        return bulk.ensure_keys(conn, table, key, rows)
    ids = _ids_of(conn, table, key, {row[key] for row in rows})
    missing = [row for row in rows if row[key] not in ids]
    if missing:
        conn.execute(insert_new(conn, table, key), missing)
        ids |= _ids_of(conn, table, key, {row[key] for row in missing})
    return ids


def _ids_of(conn: Connection, table: Table, key: str, values: set[str]) -> dict[str, int]:
    column = table.c[key]
    found: dict[str, int] = {}
    for condition in among(conn, column, sorted(values)):
        query = select(column, table.c.id).where(condition)
        found.update((k, v) for k, v in conn.execute(query))
    return found


def _insert(conn: Connection, table: Table, rows: list[Row]) -> None:
    """Plain inserts of ``rows``: COPY on PostgreSQL, one ``executemany`` on SQLite."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        bulk.copy_rows(conn, table, rows)
    else:
        conn.execute(insert(table), rows)
