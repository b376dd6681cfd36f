"""Reading the feed: announcement days, a day's papers, organisation and author pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, String, and_, cast, func, or_, select, union

from paperfeed.store.queries import UPVOTES, VISIBLE, cards, page_cards
from paperfeed.store.schema import authors, organisations, paper_authors, papers, submissions

BY_VOTES = (UPVOTES.desc(), papers.c.arxiv_id.desc())
NEWEST = (papers.c.announced.desc().nulls_last(), papers.c.arxiv_id.desc())
# the orders of a day's papers: most upvoted, newest submitted to arXiv, arXiv's (by id)
DAY_ORDERS = {
    "trending": BY_VOTES,
    "newest": (papers.c.published.desc().nulls_last(), papers.c.arxiv_id.desc()),
    "id": (papers.c.arxiv_id,),
}


def in_categories(names: Sequence[str]) -> list[ColumnElement[bool]]:
    """The condition that a paper is listed in any of ``names``, categories (``cs.CL``) or
    whole archives (``cs``) in any case; none for no names. Read from the categories' JSON text,
    where each is a quoted string on SQLite and PostgreSQL alike: a table scan, so it narrows
    what another condition found by index (a day, an author)."""
    if not names:
        return []
    listed = func.lower(cast(papers.c.categories, String))
    found = []
    for name in (n.lower() for n in names):
        found.append(listed.contains(f'"{name}"', autoescape=True))
        if "." not in name:  # an archive: its categories too
            found.append(listed.contains(f'"{name}.', autoescape=True))
    return [or_(*found)]


def by_any(
    names: Sequence[str], handles: Sequence[str], categories: Sequence[str]
) -> ColumnElement[bool]:
    """The condition that a paper is by any of the authors ``names``, of any of the
    organisations ``handles`` or in any of ``categories``: asked of each paper another
    condition found by index (a period), the authors through the paper's own links. As "id IN
    (the author's papers)" within the OR, PostgreSQL read all 2.7M papers instead (3 s)."""
    found = in_categories(categories)
    if names:
        named = select(authors.c.id).where(authors.c.name.in_(names))
        written = select(paper_authors.c.paper_id).where(
            paper_authors.c.paper_id == papers.c.id, paper_authors.c.author_id.in_(named)
        )
        found.append(written.exists())
    if handles:
        claimant = organisations.alias()  # not the cards' own join of organisations
        claimed = select(claimant.c.id).where(
            claimant.c.id == papers.c.organisation_id, claimant.c.handle.in_(handles)
        )
        found.append(claimed.exists())
    return or_(*found)


def latest_day(engine: Engine, today: date | None = None) -> date | None:
    """The newest announcement day (not after ``today``), or ``None`` for an empty store."""
    query = select(func.max(papers.c.announced)).where(*VISIBLE)
    if today is not None:
        query = query.where(papers.c.announced <= today)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def neighbour_days(engine: Engine, day: date) -> tuple[date | None, date | None]:
    """The announcement days before and after ``day`` that have papers."""
    with engine.connect() as conn:
        before = conn.execute(
            select(func.max(papers.c.announced)).where(papers.c.announced < day, *VISIBLE)
        ).scalar()
        after = conn.execute(
            select(func.min(papers.c.announced)).where(papers.c.announced > day, *VISIBLE)
        ).scalar()
    return before, after


def day_papers(
    engine: Engine,
    day: date,
    *where: ColumnElement[bool],
    order: str = "trending",
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The papers announced on ``day`` or submitted by a user that day that match ``where``,
    in one of the :data:`DAY_ORDERS` (most upvoted first by default)."""
    return page_cards(
        engine, _on_day(day), *where, order_by=DAY_ORDERS[order], limit=limit, offset=offset
    )


def period_papers(
    engine: Engine,
    first: date,
    last: date,
    *where: ColumnElement[bool],
    by_votes: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The papers that came to the feed from day ``first`` to ``last`` (as
    :func:`day_papers`, or on Hugging Face's daily papers), newest day first and most upvoted
    first within a day, or (``by_votes``) most upvoted first."""
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    on_hf = select(papers.c.id).where(
        papers.c.submitted_on_daily_at >= start, papers.c.submitted_on_daily_at < end
    )
    day = papers.c.announced.desc().nulls_last()
    order = [UPVOTES.desc(), day] if by_votes else [day, UPVOTES.desc()]
    return cards(
        engine,
        papers.c.id.in_(union(*_arrivals(first, last, start, end), on_hf)),
        *where,
        order_by=[*order, papers.c.arxiv_id.desc()],
        limit=limit,
        offset=offset,
    )


def newest_papers(
    engine: Engine, limit: int, after: tuple[date | None, str] | None = None
) -> list[dict[str, Any]]:
    """Papers newest first (announcement day, then id), from just past the paper ``after``
    names by its day and id: a cursor that stays put while papers arrive."""
    where: list[ColumnElement[bool]] = []
    if after is not None:
        day, arxiv_id = after
        same_day = papers.c.announced.is_(None) if day is None else papers.c.announced == day
        where.append(or_(and_(same_day, papers.c.arxiv_id < arxiv_id), *_older(day)))
    # papers with a day, then those without: each order is a walk of the announced index
    # backwards on both databases, where NULLS LAST had PostgreSQL sort every paper
    dated = papers.c.announced.is_not(None)
    order = (papers.c.announced.desc(), papers.c.arxiv_id.desc())
    found = cards(engine, dated, *where, order_by=order, limit=limit)
    if len(found) < limit:
        undated = (papers.c.announced.is_(None), *where)
        found += cards(engine, *undated, order_by=NEWEST[1:], limit=limit - len(found))
    return found


def _older(day: date | None) -> list[ColumnElement[bool]]:
    """Papers listed after every paper of announcement day ``day`` (no day: last)."""
    return [] if day is None else [papers.c.announced < day, papers.c.announced.is_(None)]


def day_count(engine: Engine, day: date, *where: ColumnElement[bool]) -> int:
    """How many papers :func:`day_papers` lists for ``day`` and ``where``."""
    with engine.connect() as conn:
        query = select(func.count()).select_from(papers).where(_on_day(day), *VISIBLE, *where)
        return conn.execute(query).scalar_one()


def visible_count(engine: Engine) -> int:
    """How many papers the site shows (neither withdrawn nor hidden)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(papers).where(*VISIBLE)).scalar_one()


def arrived_papers(
    engine: Engine, first: date, last: date, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The papers announced from ``first`` to ``last`` or submitted by a user from ``start``
    to ``end``, newest first."""
    return cards(engine, _arrived_between(first, last, start, end), order_by=NEWEST)


def voted_papers(
    engine: Engine,
    first: date,
    last: date,
    start: datetime,
    end: datetime,
    *where: ColumnElement[bool],
) -> list[dict[str, Any]]:
    """The papers that arrived as in :func:`arrived_papers`, match ``where`` and have upvotes,
    in no order."""
    return cards(engine, _arrived_between(first, last, start, end), UPVOTES > 0, *where)


def announced_papers(
    engine: Engine, day: date, *where: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """The papers announced on ``day`` that match ``where``, the highest id (the newest)
    first."""
    return cards(engine, papers.c.announced == day, *where, order_by=[papers.c.arxiv_id.desc()])


def top_papers(
    engine: Engine, first: date, last: date, limit: int, *where: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """The most upvoted papers announced from ``first`` to ``last`` that match ``where``
    (ties: newer first)."""
    return cards(
        engine,
        papers.c.announced.between(first, last),
        UPVOTES > 0,
        *where,
        order_by=[UPVOTES.desc(), papers.c.announced.desc(), papers.c.arxiv_id.desc()],
        limit=limit,
    )


def _on_day(day: date) -> ColumnElement[bool]:
    start = datetime.combine(day, time(), UTC)
    return _arrived_between(day, day, start, start + timedelta(days=1))


def _arrived_between(
    first: date, last: date, start: datetime, end: datetime
) -> ColumnElement[bool]:
    """Papers announced from ``first`` to ``last`` or submitted by a user from ``start`` to
    ``end``: a union of two index look-ups (an OR across the join would scan every paper)."""
    return papers.c.id.in_(union(*_arrivals(first, last, start, end)))


def _arrivals(first: date, last: date, start: datetime, end: datetime) -> list[Select[Any]]:
    return [
        select(papers.c.id).where(papers.c.announced.between(first, last)),
        select(submissions.c.paper_id).where(submissions.c.submitted_at.between(start, end)),
    ]


def organisation(engine: Engine, handle: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        query = select(organisations).where(organisations.c.handle == handle)
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def organisation_papers(
    engine: Engine, handle: str, *where: ColumnElement[bool], limit: int = 200
) -> list[dict[str, Any]]:
    """An organisation's papers that match ``where``, newest first."""
    return cards(
        engine,
        organisations.c.handle == handle,
        *where,
        order_by=NEWEST,
        limit=limit,
    )


def author_papers(
    engine: Engine, name: str, *where: ColumnElement[bool], limit: int = 200
) -> list[dict[str, Any]]:
    """The papers of the author with exactly this name that match ``where``, newest first."""
    written = (
        select(paper_authors.c.paper_id)
        .join(authors, authors.c.id == paper_authors.c.author_id)
        .where(authors.c.name == name)
    )
    return cards(
        engine,
        papers.c.id.in_(written),
        *where,
        order_by=NEWEST,
        limit=limit,
    )
