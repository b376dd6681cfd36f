"""Similar papers as computed ahead (``similar_papers``): one row a paper, shared by every
process, with the vector-index save they came from (``basis``) and when they were computed.
:mod:`paperfeed.ranking.similar` says when a row is stale and who recomputes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Engine, delete, or_, select

from paperfeed.store.queries import NOT_WITHDRAWN, VISIBLE
from paperfeed.store.schema import papers, similar_papers, submissions
from paperfeed.store.sql import insert_new

# [arXiv id, fused score, reasons] a neighbour, most alike first
StoredNeighbours = list[tuple[str, float, list[str]]]


@dataclass(frozen=True)
class StoredSimilar:
    """A paper's row, or what there is to know before it has one."""

    paper_id: int
    neighbours: StoredNeighbours | None  # None: not computed yet


@dataclass(frozen=True)
class SimilarRow:
    """Neighbours to write for a paper."""

    paper_id: int
    neighbours: StoredNeighbours
    basis: str
    computed_at: datetime


def stored_similar(engine: Engine, arxiv_id: str) -> StoredSimilar | None:
    """The paper's stored neighbours (``neighbours`` None when it has none yet); None when
    the store does not hold the paper or it is withdrawn. One query."""
    query = (
        select(papers.c.id, similar_papers.c.neighbours, similar_papers.c.basis)
        .outerjoin(similar_papers, similar_papers.c.paper_id == papers.c.id)
        .where(papers.c.arxiv_id == arxiv_id, NOT_WITHDRAWN)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    neighbours = [(key, score, why) for key, score, why in row.neighbours or []]
    return StoredSimilar(row.id, neighbours if row.basis is not None else None)


def write_similar(engine: Engine, rows: Sequence[SimilarRow], *, replace: bool) -> int:
    """Write the rows in one transaction; how many were written. Without ``replace`` a row
    already there stays (two first visits racing: one writer wins, neither fails); with it,
    the rows are replaced (a recomputation)."""
    if not rows:
        return 0
    written = 0
    with engine.begin() as conn:
        if replace:
            ids = [row.paper_id for row in rows]
            conn.execute(delete(similar_papers).where(similar_papers.c.paper_id.in_(ids)))
        for row in rows:
            values = {
                "paper_id": row.paper_id,
                "neighbours": [list(neighbour) for neighbour in row.neighbours],
                "basis": row.basis,
                "computed_at": row.computed_at,
            }
            statement = insert_new(conn, similar_papers, "paper_id").values(values)
            written += (
                conn.execute(statement.returning(similar_papers.c.paper_id)).first() is not None
            )
    return written


def visible_of(engine: Engine, arxiv_ids: Sequence[str]) -> set[str]:
    """Those of ``arxiv_ids`` that are neither hidden nor withdrawn."""
    query = select(papers.c.arxiv_id).where(papers.c.arxiv_id.in_(arxiv_ids), *VISIBLE)
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def due_similar(
    engine: Engine,
    basis: str,
    before: datetime,
    since: date | None,
    limit: int,
    older_before: datetime,
) -> list[tuple[int, str]]:
    """Up to ``limit`` visible papers (id, arXiv id) whose neighbours are missing or stale:
    first those submitted on the site, then those announced on or after ``since``, newest
    first, whose row is missing or was computed with another basis or before ``before``;
    then any other papers whose row was computed before ``older_before``, oldest first. Every
    part is read through an index: the worker asks this every round."""
    row = similar_papers.c
    # "<" or ">" rather than "!=": each is then a range of the basis index
    stale = or_(row.basis < basis, row.basis > basis, row.computed_at < before)
    recent: list[ColumnElement[bool]] = [papers.c.id.in_(select(submissions.c.paper_id))]
    if since is not None:
        recent.append(papers.c.announced >= since)
    found: dict[int, str] = {}
    with engine.connect() as conn:
        for where in recent:
            query = (
                select(papers.c.id, papers.c.arxiv_id)
                .outerjoin(similar_papers, row.paper_id == papers.c.id)
                .where(where, *VISIBLE, or_(row.paper_id.is_(None), stale))
                .order_by(papers.c.announced.desc(), papers.c.id.desc())
                .limit(limit)
            )
            found.update((key, arxiv_id) for key, arxiv_id in conn.execute(query))
        older = (
            select(papers.c.id, papers.c.arxiv_id)
            .join(similar_papers, row.paper_id == papers.c.id)
            .where(row.computed_at < older_before, *VISIBLE)
            .order_by(row.computed_at)
            .limit(limit)
        )
        found.update((key, arxiv_id) for key, arxiv_id in conn.execute(older) if key not in found)
    return list(found.items())[:limit]
