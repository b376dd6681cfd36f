"""Similar papers from several signals, fused by weighted scores.

For a paper P, each signal scores candidates:

- meaning: exact cosine of the embeddings (P's nearest papers are candidates);
- words: BM25 of P's most distinctive words (:meth:`LexicalIndex.like`);
- authors: how many authors a paper shares with P;
- categories: Jaccard overlap of the arXiv categories (scores candidates, finds none);
- co-saves: how many readers saved both P and the paper.

Each signal's scores are min-max normalised over its papers (a paper it does not score gets
0), weighted and summed (:func:`~paperfeed.ranking.fusion.weighted_combination`). A signal
that has nothing (P not embedded yet, no authors, no library) drops out and the others rank.
With a vector, the words signal re-ranks the papers the others found (BM25 of a hundred words
over every paper would cost ~50 ms at 138k papers); without, it finds papers itself. The
weights of meaning and words, and the number of words, are tuned on the dev lists of
``bench/similar.py``; those carry no authors, categories or libraries, so those weights are
set by hand (see there).

Computed ahead and kept in the store (:mod:`paperfeed.store.similar`), one row a paper with the
vector-index save it was computed with (its *basis*) and when. Every reader (pages, the API,
MCP, the CLI) goes through :func:`kept_similar`: a paper with a row is served from it, even a
stale one; a paper without one is computed on its visit and written (two visits racing: the
first write stays, neither fails). A row is *stale* when its basis is not the current save of
the vector index or it is older than :data:`MAX_AGE` (co-saves, new papers and hidden ones
change without a new save) for recent papers (announced within :data:`RECENT` of the newest
day, or submitted), and when it is older than :data:`OLDER_AGE` for the others, whose
neighbours change slowly (so the daily work is bounded however many pages were ever
visited); the worker recomputes stale rows and fills missing ones (:func:`refresh_similar`),
never a visit. Neighbours hidden or withdrawn since are left out when a row is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from paperfeed.arxiv_ids import parse_arxiv_id
from paperfeed.index.dense import VectorIndex
from paperfeed.index.lexical import LexicalIndex
from paperfeed.ranking.fusion import Ranked, weighted_combination
from paperfeed.store.feed import latest_day
from paperfeed.store.related import categories_of, coauthored, cosaved
from paperfeed.store.similar import (
    SimilarRow,
    due_similar,
    stored_similar,
    visible_of,
    write_similar,
)
from paperfeed.text import counted

# meaning's neighbours come from twice as many graph candidates, re-ranked exactly: at 138k
# papers 99.8% of the pool four times as many give, in 2.7 ms rather than 4.2
CANDIDATES = 2
STORED = 50  # neighbours kept a paper: the most the API and MCP give
MAX_AGE = timedelta(days=1)  # a recent paper's row older than this is recomputed
OLDER_AGE = timedelta(days=30)  # and an older paper's
RECENT = timedelta(days=7)  # the worker fills rows for papers announced this close to the newest
BATCH = 50  # rows the worker writes a transaction


@dataclass(frozen=True)
class SimilarTuning:
    """Each signal's weight, and how many candidates each retrieving signal brings."""

    meaning: float = 1.0
    words: float = 2.0  # dev lists: 1.5-3.0 score within 0.005 of each other, see the bench
    authors: float = 0.3
    categories: float = 0.1
    cosaves: float = 0.3
    depth: int = 100
    terms: int = 100  # the distinctive words the words signal asks for


@dataclass(frozen=True)
class Neighbour:
    """A similar paper, its fused score, and why it is similar in words a reader follows."""

    arxiv_id: str
    score: float
    why: tuple[str, ...] = ()


def similar_papers(
    engine: Engine,
    lexical: LexicalIndex,
    vectors: VectorIndex | None,
    arxiv_id: str,
    limit: int,
    tuning: SimilarTuning = SimilarTuning(),
) -> list[Neighbour]:
    """The ``limit`` visible papers most like ``arxiv_id``, never itself; raises ``KeyError``
    if the store does not hold it (or it is withdrawn)."""
    return fuse(signals(engine, lexical, vectors, arxiv_id, tuning), tuning, limit)


def kept_similar(
    engine: Engine,
    lexical: LexicalIndex,
    vectors: VectorIndex | None,
    arxiv_id: str,
    limit: int,
) -> list[Neighbour]:
    """The ``limit`` papers most like ``arxiv_id`` as kept in the store, computed and written
    first if it has none (a ``limit`` over :data:`STORED` is computed, not kept); raises
    ``KeyError`` if the store does not hold the paper (or it is withdrawn)."""
    arxiv_id = parse_arxiv_id(arxiv_id).id
    stored = stored_similar(engine, arxiv_id)
    if stored is None:
        raise KeyError(f"{arxiv_id} is not in the store")
    if limit > STORED:
        return similar_papers(engine, lexical, vectors, arxiv_id, limit)
    if stored.neighbours is not None:
        shown = visible_of(engine, [key for key, _, _ in stored.neighbours])
        kept = [(key, score, why) for key, score, why in stored.neighbours if key in shown]
        return [Neighbour(key, score, tuple(why)) for key, score, why in kept[:limit]]
    found = similar_papers(engine, lexical, vectors, arxiv_id, STORED)
    now = datetime.now(UTC)
    write_similar(engine, [_row(stored.paper_id, found, basis(vectors), now)], replace=False)
    return found[:limit]


def refresh_similar(
    engine: Engine,
    lexical: LexicalIndex,
    vectors: VectorIndex | None,
    *,
    limit: int,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Compute and write the neighbours of up to ``limit`` papers that lack current ones:
    those announced within :data:`RECENT` of the newest day and those submitted, newest first,
    then stale rows anywhere (see the module's docstring), in committed batches of
    :data:`BATCH`; how many were written. Idempotent: stopped, the next call goes on."""
    now = now or datetime.now(UTC)
    current = basis(vectors)
    newest = latest_day(engine)
    since = newest - RECENT if newest is not None else None
    due = due_similar(engine, current, now - MAX_AGE, since, limit, now - OLDER_AGE)
    done = 0
    for start in range(0, len(due), BATCH):
        rows = []
        for paper_id, arxiv_id in due[start : start + BATCH]:
            if stop is not None and stop.is_set():
                break
            try:
                found = similar_papers(engine, lexical, vectors, arxiv_id, STORED)
            except KeyError:  # withdrawn since
                continue
            rows.append(_row(paper_id, found, current, now))
        done += write_similar(engine, rows, replace=True)
        if stop is not None and stop.is_set():
            break
    return done


def basis(vectors: VectorIndex | None) -> str:
    """What neighbours computed with ``vectors`` came from: its save ("" without one)."""
    saved = vectors.saved if vectors is not None else None
    return f"{saved[0]}:{saved[1]}" if saved is not None else ""


def _row(paper_id: int, found: list[Neighbour], current: str, now: datetime) -> SimilarRow:
    neighbours = [(near.arxiv_id, round(near.score, 6), list(near.why)) for near in found]
    return SimilarRow(paper_id, neighbours, current, now)


def fuse(found: dict[str, Ranked], tuning: SimilarTuning, limit: int) -> list[Neighbour]:
    """The best ``limit`` papers by the weighted sum of the signals' normalised scores."""
    fused = weighted_combination([(found[name], getattr(tuning, name)) for name in found])
    why = _reasons(found)
    return [Neighbour(key, score, why(key)) for key, score in fused[:limit] if score > 0]


def signals(
    engine: Engine,
    lexical: LexicalIndex,
    vectors: VectorIndex | None,
    arxiv_id: str,
    tuning: SimilarTuning,
) -> dict[str, Ranked]:
    """Each signal's scores of the visible candidates, by the signal's name."""
    arxiv_id = parse_arxiv_id(arxiv_id).id  # any version of it
    own = categories_of(engine, [arxiv_id], visible=False).get(arxiv_id)
    if own is None:
        raise KeyError(f"{arxiv_id} is not in the store")
    depth = tuning.depth
    authors = coauthored(engine, arxiv_id, depth)
    cosaves = cosaved(engine, arxiv_id, depth)
    vector = _vector(vectors, arxiv_id)
    near = (
        vectors.similar(arxiv_id, depth, CANDIDATES * depth)
        if vectors is not None and vector is not None
        else []
    )
    pool = {key for ranked in (authors, cosaves, near) for key, _ in ranked}
    # with neighbours in meaning, words re-rank the pool (a query of a hundred words over
    # every paper costs 50 ms at 138k papers); without, they find papers themselves
    within = lexical.among(sorted(pool)) if near else None
    words = [
        (hit.arxiv_id, hit.score) for hit in lexical.like(arxiv_id, depth, tuning.terms, within)
    ]
    visible = categories_of(engine, sorted(pool.union(key for key, _ in words) - {arxiv_id}))
    meaning = vectors.cosines(vector, sorted(visible)) if vectors and vector is not None else []
    shared = [(key, _jaccard(own, theirs)) for key, theirs in visible.items()]
    return {
        "meaning": meaning,
        "words": [(key, score) for key, score in words if key in visible],
        "authors": [(key, float(n)) for key, n in authors if key in visible],
        "categories": [(key, score) for key, score in shared if score > 0],
        "cosaves": [(key, float(n)) for key, n in cosaves if key in visible],
    }


def _vector(vectors: VectorIndex | None, arxiv_id: str) -> np.ndarray | None:
    """The paper's stored vector, if it has one."""
    found = vectors.vectors_of([arxiv_id]) if vectors is not None else np.empty((0, 0))
    return found[0] if len(found) else None


def _jaccard(ours: list[str], theirs: list[str]) -> float:
    union = set(ours) | set(theirs)
    return len(set(ours) & set(theirs)) / len(union) if union else 0.0


def _reasons(signals: dict[str, Ranked]) -> Callable[[str], tuple[str, ...]]:
    """What a paper shares with the one it is like, when more than meaning, by its key."""
    authors, readers = dict(signals["authors"]), dict(signals["cosaves"])
    words = {found for found, _ in signals["words"][:10]}

    def why(key: str) -> tuple[str, ...]:
        shared, saved = int(authors.get(key) or 0), int(readers.get(key) or 0)
        return tuple(
            reason
            for reason, shown in (
                (f"shares {counted(shared, 'author')}", shared),
                (f"saved with it by {counted(saved, 'reader')}", saved),
                ("same topic words", key in words),
            )
            if shown
        )

    return why
