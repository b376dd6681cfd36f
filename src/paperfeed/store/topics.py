"""Topics and the papers in them: what a refit writes (all in one transaction, so a killed
refit leaves the topics before it), the papers still to assign, and what topic pages read.

A paper has one row per level in ``paper_topics`` once it was looked at, its topic none when
it is in no topic; a paper without rows is pending (it got its vector since the last refit or
assignment round). Papers re-embedded since keep their topic until the next refit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    delete,
    func,
    insert,
    select,
    update,
)

from paperfeed.store.positions import write_positions
from paperfeed.store.queries import UPVOTES, VISIBLE, cards
from paperfeed.store.schema import (
    TopicLevel,
    authors,
    embeddings,
    organisations,
    paper_authors,
    paper_topics,
    papers,
    topics,
)
from paperfeed.store.sql import chunks
from paperfeed.store.vectors import VectorBatch, load_vectors

CENTROID = np.dtype("<f4")
Places = tuple[np.ndarray, np.ndarray]  # papers' places (float32, 2 columns), landmark mask
WRITE_CHUNK = 10_000  # assignment rows per INSERT


@dataclass(frozen=True)
class StoredTopic:
    """A topic as stored."""

    id: int
    level: TopicLevel
    parent_id: int | None
    label: list[str]
    categories: list[str]
    centroid: np.ndarray  # unit float32
    threshold: float
    size: int
    created_at: datetime
    refit_at: datetime
    retired_at: datetime | None

    @property
    def name(self) -> str:
        """The topic in a few words: its first label phrases."""
        return ", ".join(self.label[:3]) or f"topic {self.id}"


@dataclass
class FittedTopic:
    """A topic a refit found: ``id`` of the stored topic it matched (``None``: a new one);
    ``parent`` is the position of its broad topic in the refit's list (``None``: none)."""

    id: int | None
    level: TopicLevel
    parent: int | None
    label: list[str]
    categories: list[str]
    centroid: np.ndarray
    threshold: float
    size: int


def live_topics(
    engine: Engine, model: str | None = None, level: TopicLevel | None = None
) -> list[StoredTopic]:
    """The topics not retired (of ``model`` and ``level``, if given), by id."""
    query = select(topics).where(topics.c.retired_at.is_(None)).order_by(topics.c.id)
    if model is not None:
        query = query.where(topics.c.model == model)
    if level is not None:
        query = query.where(topics.c.level == level)
    with engine.connect() as conn:
        return [_topic(row) for row in conn.execute(query)]


def get_topic(engine: Engine, topic_id: int) -> StoredTopic | None:
    """A topic, retired or not."""
    with engine.connect() as conn:
        row = conn.execute(select(topics).where(topics.c.id == topic_id)).first()
    return _topic(row) if row is not None else None


def last_refit(engine: Engine, model: str) -> datetime | None:
    """When the topics of ``model`` were last fitted (``None``: never)."""
    query = select(func.max(topics.c.refit_at)).where(
        topics.c.model == model, topics.c.retired_at.is_(None)
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def members(engine: Engine, level: TopicLevel) -> dict[int, np.ndarray]:
    """The paper ids (sorted int64) of each live topic at ``level``."""
    query = (
        select(paper_topics.c.topic_id, paper_topics.c.paper_id)
        .join(topics, topics.c.id == paper_topics.c.topic_id)
        .where(paper_topics.c.level == level, topics.c.retired_at.is_(None))
        .order_by(paper_topics.c.topic_id, paper_topics.c.paper_id)
    )
    with engine.connect() as conn:
        rows = np.array(conn.execute(query).all(), np.int64).reshape(-1, 2)
    split = np.flatnonzero(np.diff(rows[:, 0])) + 1
    return {int(part[0, 0]): part[:, 1] for part in np.split(rows, split) if len(part)}


def replace_topics(
    engine: Engine,
    model: str,
    fitted: Sequence[FittedTopic],
    paper_ids: np.ndarray,
    assigned: dict[TopicLevel, np.ndarray],
    now: datetime,
    places: Places | None = None,
) -> list[int]:
    """Store a refit in one transaction: ``fitted`` topics update those they matched or are
    added, every other live topic is retired, and each of ``paper_ids`` is assigned at each
    level to the fitted topic at the position ``assigned[level]`` gives (-1: none) and put at
    its place on the map (``places``: theirs and which are landmarks; the map's old places
    go). Returns the ids of ``fitted``, in order."""
    with engine.begin() as conn:
        ids = [_write_topic(conn, model, topic, now) for topic in fitted]
        for topic, topic_id in zip(fitted, ids, strict=True):
            parent = ids[topic.parent] if topic.parent is not None else None
            conn.execute(update(topics).where(topics.c.id == topic_id).values(parent_id=parent))
        retired = topics.c.retired_at.is_(None) & topics.c.id.not_in(ids)
        conn.execute(update(topics).where(retired).values(retired_at=now))
        conn.execute(delete(paper_topics))
        known = np.array([*ids, 0], np.int64)  # position -1 picks the 0: no topic
        for level, positions in assigned.items():
            _assign(conn, level, paper_ids, known[positions])
        if places is not None:
            write_positions(conn, paper_ids, *places, replace_all=True)
    return ids


def _write_topic(conn: Connection, model: str, topic: FittedTopic, now: datetime) -> int:
    values = {
        "level": int(topic.level),
        "model": model,
        "label": topic.label,
        "categories": topic.categories,
        "centroid": np.asarray(topic.centroid, CENTROID).tobytes(),
        "threshold": float(topic.threshold),
        "size": topic.size,
        "refit_at": now,
        "retired_at": None,
    }
    if topic.id is not None:
        conn.execute(update(topics).where(topics.c.id == topic.id).values(values))
        return topic.id
    statement = insert(topics).values(created_at=now, **values).returning(topics.c.id)
    return int(conn.execute(statement).scalar_one())


def save_assignments(
    engine: Engine,
    paper_ids: np.ndarray,
    assigned: dict[TopicLevel, np.ndarray],
    places: np.ndarray | None = None,
) -> None:
    """Assign papers at each level to the topic ids ``assigned[level]`` gives (0: none), and
    put them at ``places`` on the map, in one transaction; a paper assigned meanwhile (by a
    refit) is assigned again."""
    with engine.begin() as conn:
        for chunk in chunks([int(i) for i in paper_ids]):
            conn.execute(delete(paper_topics).where(paper_topics.c.paper_id.in_(chunk)))
        for level, topic_ids in assigned.items():
            _assign(conn, level, paper_ids, topic_ids)
        if places is not None:
            write_positions(conn, paper_ids, places)


def _assign(conn: Connection, level: TopicLevel, paper_ids: np.ndarray, ids: np.ndarray) -> None:
    rows = [
        {"paper_id": int(paper), "level": int(level), "topic_id": int(topic) or None}
        for paper, topic in zip(paper_ids, ids, strict=True)
    ]
    for start in range(0, len(rows), WRITE_CHUNK):
        conn.execute(insert(paper_topics), rows[start : start + WRITE_CHUNK])


def unassigned(engine: Engine, model: str, size: int) -> Iterator[VectorBatch]:
    """The vectors under ``model`` of the papers not looked at yet, in batches of up to
    ``size``, lowest id first; each is read in its own transaction, and the caller saves a
    batch before asking for the next."""
    after = 0
    while True:
        query = _unassigned(model).where(papers.c.id > after).order_by(papers.c.id).limit(size)
        with engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        yield from load_vectors(engine, model, ids)
        if len(ids) < size:
            return
        after = ids[-1]


def count_unassigned(engine: Engine, model: str) -> int:
    """How many papers :func:`unassigned` will give."""
    query = select(func.count()).select_from(_unassigned(model).subquery())
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def _unassigned(model: str) -> Any:
    looked_at = select(paper_topics.c.paper_id).where(paper_topics.c.level == TopicLevel.FINE)
    return (
        select(papers.c.id)
        .join(embeddings, embeddings.c.paper_id == papers.c.id)
        .where(
            embeddings.c.model == model,
            papers.c.withdrawn.is_(False),
            papers.c.id.not_in(looked_at),
        )
    )


def paper_titles(engine: Engine, paper_ids: Sequence[int] | np.ndarray) -> dict[int, str]:
    """The titles of these papers, by id."""
    query = select(papers.c.id, papers.c.title)
    found: dict[int, str] = {}
    with engine.connect() as conn:
        for chunk in chunks(sorted(int(i) for i in paper_ids)):
            rows = conn.execute(query.where(papers.c.id.in_(chunk)))
            found.update((row.id, row.title) for row in rows)
    return found


def paper_categories(engine: Engine, paper_ids: Sequence[int] | np.ndarray) -> dict[int, list[str]]:
    """The categories of these papers, by id."""
    query = select(papers.c.id, papers.c.categories)
    found: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for chunk in chunks(sorted(int(i) for i in paper_ids)):
            rows = conn.execute(query.where(papers.c.id.in_(chunk)))
            found.update((row.id, list(row.categories or ())) for row in rows)
    return found


def in_topic(topic_id: int, level: TopicLevel) -> ColumnElement[bool]:
    """The condition that a paper is in the topic."""
    listed = select(paper_topics.c.paper_id).where(
        paper_topics.c.topic_id == topic_id, paper_topics.c.level == level
    )
    return papers.c.id.in_(listed)


def arrivals(
    engine: Engine, level: TopicLevel, first: date | None = None, last: date | None = None
) -> list[tuple[int, date, int]]:
    """``(topic_id, announced, upvotes)`` of the visible papers in a topic at ``level``,
    announced from ``first`` to ``last`` (either open when ``None``)."""
    query = (
        select(paper_topics.c.topic_id, papers.c.announced, UPVOTES.label("upvotes"))
        .join(papers, papers.c.id == paper_topics.c.paper_id)
        .where(
            paper_topics.c.level == level,
            paper_topics.c.topic_id.is_not(None),
            papers.c.announced.is_not(None),
            *VISIBLE,
        )
    )
    if first is not None:
        query = query.where(papers.c.announced >= first)
    if last is not None:
        query = query.where(papers.c.announced <= last)
    with engine.connect() as conn:
        return [(row.topic_id, row.announced, row.upvotes) for row in conn.execute(query)]


def topic_days(engine: Engine, topic: StoredTopic) -> list[date]:
    """The announcement days of the topic's visible papers, in no order."""
    query = select(papers.c.announced).where(
        in_topic(topic.id, topic.level), papers.c.announced.is_not(None), *VISIBLE
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def topic_papers(
    engine: Engine,
    topic: StoredTopic,
    *where: ColumnElement[bool],
    by_votes: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Cards of the topic's visible papers matching ``where``, newest first (``by_votes``:
    most upvoted first)."""
    newest = [papers.c.announced.desc().nulls_last(), papers.c.arxiv_id.desc()]
    order = [UPVOTES.desc(), *newest] if by_votes else newest
    listed = in_topic(topic.id, topic.level)
    return cards(engine, listed, *where, order_by=order, limit=limit, offset=offset)


def count_topic_papers(engine: Engine, topic: StoredTopic, *where: ColumnElement[bool]) -> int:
    """How many papers :func:`topic_papers` lists."""
    query = select(func.count()).select_from(papers)
    query = query.where(in_topic(topic.id, topic.level), *VISIBLE, *where)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def top_authors(engine: Engine, topic: StoredTopic, limit: int) -> list[tuple[str, int]]:
    """The authors with most visible papers in the topic, and how many (ties: by name)."""
    count = func.count().label("n")
    query = (
        select(authors.c.name, count)
        .join(paper_authors, paper_authors.c.author_id == authors.c.id)
        .join(papers, papers.c.id == paper_authors.c.paper_id)
        .where(in_topic(topic.id, topic.level), *VISIBLE)
        .group_by(authors.c.name)
        .order_by(count.desc(), authors.c.name)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(name, n) for name, n in conn.execute(query)]


def top_organisations(engine: Engine, topic: StoredTopic, limit: int) -> list[tuple[str, str, int]]:
    """``(handle, name, papers)`` of the organisations with most visible papers in the topic."""
    count = func.count().label("n")
    query = (
        select(organisations.c.handle, organisations.c.name, count)
        .join(papers, papers.c.organisation_id == organisations.c.id)
        .where(in_topic(topic.id, topic.level), *VISIBLE)
        .group_by(organisations.c.handle, organisations.c.name)
        .order_by(count.desc(), organisations.c.handle)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(handle, name, n) for handle, name, n in conn.execute(query)]


def _topic(row: Row[Any]) -> StoredTopic:
    return StoredTopic(
        id=row.id,
        level=TopicLevel(row.level),
        parent_id=row.parent_id,
        label=list(row.label),
        categories=list(row.categories),
        centroid=np.frombuffer(row.centroid, CENTROID).copy(),
        threshold=row.threshold,
        size=row.size,
        created_at=row.created_at,
        refit_at=row.refit_at,
        retired_at=row.retired_at,
    )
