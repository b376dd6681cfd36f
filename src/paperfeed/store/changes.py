"""Papers in the order they changed (``changed_at``, then id): how a search index derived from
the store catches up from its watermark."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, RowMapping, func, literal, select, tuple_

from paperfeed.store.schema import organisations, papers

SHOWN_TIMES = (papers.c.changed_at, papers.c.keywords_at)


def count_changed(engine: Engine, since: datetime | None) -> int:
    """How many papers changed after ``since`` (``None``: all papers)."""
    with engine.connect() as conn:
        query = select(func.count()).select_from(papers).where(*_changed_after(since))
        return conn.execute(query).scalar_one()


def latest_change(engine: Engine) -> datetime | None:
    """When a paper last changed (``None``: the store is empty)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(papers.c.changed_at))).scalar()


def shown_version(engine: Engine) -> tuple[object, object]:
    """What names the version of every page of papers: the latest change to a paper and the
    latest keywords written (which leave ``changed_at`` alone), as the store gives them back;
    two index look-ups."""
    newest = (select(func.max(column)).scalar_subquery() for column in SHOWN_TIMES)
    with engine.connect() as conn:
        changed, keywords = conn.execute(select(*newest)).one()
        return changed, keywords


def changed_keys(engine: Engine, since: datetime | None, page: int) -> Iterator[list[RowMapping]]:
    """The ``id``, ``arxiv_id``, ``withdrawn`` and ``changed_at`` of the papers changed after
    ``since``, in change order, ``page`` papers per read (each in its own connection)."""
    keys = (papers.c.id, papers.c.arxiv_id, papers.c.withdrawn, papers.c.changed_at)
    query = (
        select(*keys)
        .where(*_changed_after(since))
        .order_by(papers.c.changed_at, papers.c.id)
        .limit(page)
    )
    after = query
    while True:
        with engine.connect() as conn:
            rows = conn.execute(after).mappings().all()
        if not rows:
            return
        yield list(rows)
        # a row comparison, which PostgreSQL starts its index scan at; for "later, or as
        # late with a higher id" it read the index from the start for each page (1.4 s a
        # page half-way through 2.7M papers)
        stamp, last = rows[-1]["changed_at"], rows[-1]["id"]
        bound = literal(stamp, papers.c.changed_at.type)  # written as the column is
        after = query.where(tuple_(papers.c.changed_at, papers.c.id) > tuple_(bound, last))


def paper_rows(engine: Engine, paper_ids: list[int], columns: Sequence[str]) -> list[RowMapping]:
    """The ``columns`` of these papers (a page of them), with ``changed_at`` and their
    organisation's handle as ``organisation``."""
    if not paper_ids:
        return []
    query = (
        select(
            *(papers.c[name] for name in columns),
            papers.c.changed_at,
            organisations.c.handle.label("organisation"),
        )
        .outerjoin(organisations, papers.c.organisation_id == organisations.c.id)
        .where(papers.c.id.in_(paper_ids))
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def _changed_after(since: datetime | None) -> list[ColumnElement[bool]]:
    return [] if since is None else [papers.c.changed_at > since]
