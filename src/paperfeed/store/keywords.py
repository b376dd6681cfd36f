"""Key phrases of papers: Hugging Face's where it gave them (``ai_keywords``), else those
computed here (``keywords``, see :mod:`paperfeed.index.keyphrases`).

``keywords_at`` is when the keywords were written: a paper changed since (or never done) is
pending. Writing keywords leaves ``changed_at`` as it is, so that the search indexes do not take
it for a changed paper; a paper that changed while its keywords were computed keeps its new
``changed_at`` and stays pending. Pages showing keywords know a paper by both times.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from paperfeed.store.schema import embeddings, papers
from paperfeed.store.vectors import STORED, document_text, text_hash


@dataclass(frozen=True)
class KeywordsDue:
    """A paper whose key phrases are to be computed."""

    paper_id: int
    changed_at: datetime
    title: str
    abstract: str
    vector: np.ndarray | None  # its stored vector under the model, if current (float32)
    text_hash: str  # of the text its keywords come from


def pending_keywords(
    engine: Engine, model: str, size: int, *, embedded_only: bool = False
) -> Iterator[list[KeywordsDue]]:
    """Batches of up to ``size`` papers whose keywords are missing or older than the paper,
    newest id first, each with its vector under ``model`` where it is current
    (``embedded_only``: only such papers). Papers with Hugging Face's keywords are marked done
    on the way, and so are papers whose text is the one their keywords came from (an upvote or
    a sync changed them). Each batch is read in its own short transaction."""
    after: int | None = None
    while True:
        query = _due(model, embedded_only)
        if after is not None:
            query = query.where(papers.c.id < after)
        with engine.begin() as conn:
            rows = conn.execute(query.order_by(papers.c.id.desc()).limit(size)).all()
            texts = {row.id: _text_hash(row.title, row.abstract) for row in rows}
            given = [row for row in rows if row.ai_keywords]
            kept = [
                row for row in rows if not row.ai_keywords and row.keywords_hash == texts[row.id]
            ]
            _write(conn, [(row.id, row.changed_at, None, texts[row.id]) for row in given])
            _write(conn, [(row.id, row.changed_at, row.keywords, texts[row.id]) for row in kept])
        done = {row.id for row in given + kept}
        due = [_due_paper(row, texts[row.id]) for row in rows if row.id not in done]
        if embedded_only:  # not those whose vector is being remade
            due = [paper for paper in due if paper.vector is not None]
        if due:
            yield due
        if len(rows) < size:
            return
        after = rows[-1].id


def count_pending_keywords(engine: Engine) -> int:
    """How many papers :func:`pending_keywords` will look at (at most)."""
    query = select(func.count()).select_from(papers).where(_stale())
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def save_keywords(
    engine: Engine, done: Sequence[KeywordsDue], keywords: Sequence[list[str]]
) -> None:
    """Store the keywords of these papers in one transaction, unless a paper changed since
    it was read (it stays pending)."""
    with engine.begin() as conn:
        rows = zip(done, keywords, strict=True)
        _write(conn, [(p.paper_id, p.changed_at, k, p.text_hash) for p, k in rows])


def forget_keywords(engine: Engine) -> int:
    """Mark every paper's keywords as to be computed again (they stay shown until then);
    return how many papers."""
    with engine.begin() as conn:
        return conn.execute(update(papers).values(keywords_at=None, keywords_hash=None)).rowcount


def _write(conn: Connection, rows: list[tuple[int, datetime, list[str] | None, str]]) -> None:
    if not rows:
        return
    statement = (
        update(papers)
        # <=, not ==: rows migrated by 0002 keep times without microseconds, which a time read
        # and bound again gains; a paper changed since has a later time
        .where(papers.c.id == bindparam("key"), papers.c.changed_at <= bindparam("read"))
        .values(
            keywords=bindparam("words"),
            keywords_at=datetime.now(UTC),
            keywords_hash=bindparam("text"),
        )
    )
    values = [{"key": i, "read": at, "words": words, "text": text} for i, at, words, text in rows]
    conn.execute(statement, values)


def _stale() -> ColumnElement[bool]:
    # < as in store/vectors: SQLite compares the stored strings
    return or_(papers.c.keywords_at.is_(None), papers.c.keywords_at < papers.c.changed_at)


def _due(model: str, embedded_only: bool) -> Select:
    joined = papers.join(
        embeddings,
        and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model),
        isouter=not embedded_only,
    )
    columns = (papers.c.id, papers.c.changed_at, papers.c.title, papers.c.abstract)
    vector = (embeddings.c.text_hash, embeddings.c.vector)
    own = (papers.c.ai_keywords, papers.c.keywords, papers.c.keywords_hash)
    return select(*columns, *own, *vector).select_from(joined).where(_stale())


def _text_hash(title: str, abstract: str) -> str:
    return text_hash(document_text(title, abstract))


def _due_paper(row: Any, text: str) -> KeywordsDue:
    vector = np.frombuffer(row.vector, STORED).astype(np.float32) if row.text_hash == text else None
    return KeywordsDue(row.id, row.changed_at, row.title, row.abstract, vector, text)
