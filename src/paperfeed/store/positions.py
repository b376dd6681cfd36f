"""Papers' places on the map: written with their topics (in the same transaction), read for
``/api/map`` and by the placing of new papers (the landmarks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select

from paperfeed.store.queries import VISIBLE
from paperfeed.store.schema import (
    TopicLevel,
    paper_positions,
    paper_topics,
    papers,
    saved_papers,
    topics,
)
from paperfeed.store.sql import chunks
from paperfeed.store.vectors import load_vectors

WRITE_CHUNK = 10_000  # rows per INSERT


@dataclass(frozen=True)
class Landmarks:
    """Landmark papers with a vector under a model: their vectors and places, by id."""

    vectors: np.ndarray  # float32 (n, dim)
    places: np.ndarray  # float32 (n, 2)


def write_positions(
    conn: Connection,
    paper_ids: np.ndarray,
    places: np.ndarray,
    landmarks: np.ndarray | None = None,
    *,
    replace_all: bool = False,
) -> None:
    """Set the places of ``paper_ids`` (``landmarks``: a boolean mask; none by default); with
    ``replace_all`` every other paper loses its place. A NaN place (nothing to place it by)
    leaves the paper off the map."""
    if replace_all:
        conn.execute(delete(paper_positions))
    else:
        for chunk in chunks([int(i) for i in paper_ids]):
            conn.execute(delete(paper_positions).where(paper_positions.c.paper_id.in_(chunk)))
    marks = landmarks if landmarks is not None else np.zeros(len(paper_ids), bool)
    rows = [
        {"paper_id": int(paper), "x": float(x), "y": float(y), "landmark": bool(mark)}
        for paper, (x, y), mark in zip(paper_ids, places, marks, strict=True)
        if not np.isnan(x)
    ]
    for start in range(0, len(rows), WRITE_CHUNK):
        conn.execute(insert(paper_positions), rows[start : start + WRITE_CHUNK])


def landmarks(engine: Engine, model: str) -> Landmarks:
    """The landmark papers with a vector under ``model``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(paper_positions.c.paper_id, paper_positions.c.x, paper_positions.c.y)
            .where(paper_positions.c.landmark.is_(True))
            .order_by(paper_positions.c.paper_id)
        ).all()
    where = {row.paper_id: (row.x, row.y) for row in rows}
    vectors: list[np.ndarray] = []
    places: list[tuple[float, float]] = []
    for batch in load_vectors(engine, model, list(where)):
        vectors.append(batch.vectors)
        places.extend(where[int(i)] for i in batch.paper_ids)
    return Landmarks(
        np.concatenate(vectors) if vectors else np.empty((0, 0), np.float32),
        np.array(places, np.float32).reshape(-1, 2),
    )


def layout_version(engine: Engine) -> tuple[object, int]:
    """What names the version of the layout: the last refit, and how many papers are placed."""
    with engine.connect() as conn:
        refit = conn.execute(select(func.max(topics.c.refit_at))).scalar()
        placed = conn.execute(select(func.count()).select_from(paper_positions)).scalar_one()
    return refit, placed


def placed_papers(
    engine: Engine, *where: ColumnElement[bool], limit: int
) -> list[tuple[str, float, float, int | None]]:
    """``(arxiv_id, x, y, fine topic id)`` of up to ``limit`` visible placed papers matching
    ``where``, newest first."""
    fine = paper_topics.c.level == int(TopicLevel.FINE)
    query = (
        select(papers.c.arxiv_id, paper_positions.c.x, paper_positions.c.y, paper_topics.c.topic_id)
        .join(paper_positions, paper_positions.c.paper_id == papers.c.id)
        .outerjoin(paper_topics, (paper_topics.c.paper_id == papers.c.id) & fine)
        .where(*VISIBLE, *where)
        .order_by(papers.c.announced.desc().nulls_last(), papers.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)]


def saved_among(engine: Engine, user_id: int, arxiv_ids: Sequence[str]) -> set[str]:
    """Which of ``arxiv_ids`` the user saved."""
    query = (
        select(papers.c.arxiv_id)
        .join(saved_papers, saved_papers.c.paper_id == papers.c.id)
        .where(saved_papers.c.user_id == user_id)
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars()) & set(arxiv_ids)
