"""For you: recent papers ranked by a linear model of what a user keeps and what they reject.

The model is a least-squares linear classifier (ridge regression on +-1 labels; Hastie,
Tibshirani & Friedman, *The Elements of Statistical Learning*, 4.2) of the user's positives
(saved, upvoted and tagged papers, seeds) against all papers as background (the arxiv-sanity
way: every paper is a negative) and the papers marked "not interested". Each of the three groups
weighs the same in total, so three saves are not drowned by 138k papers; the background enters
through its mean and second moment only, computed once per load, so a fit is one (d+1) x (d+1)
solve and scoring one matrix-vector product. ``bench/recommend.py`` chose it over Rocchio's
centroid, k nearest neighbours and logistic regression (same precision, better at "not
interested", no per-request training set), and tuned ``RIDGE`` on profiles it does not report.

A request reads the user's rows and the cards of the papers it shows; days and categories
come from a :class:`Catalogue` in memory, read from the store once and again each time the
vector index is saved anew; vectors from the index's memory-mapped file, never all at once.
"""

from __future__ import annotations

import re
import threading
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from paperfeed.index.dense import VectorIndex
from paperfeed.index.live import LiveVectors
from paperfeed.store.accounts import preferences_of
from paperfeed.store.library import papers_by_mark
from paperfeed.store.queries import cards_by_id, titles_of
from paperfeed.store.vectors import unit_rows, visible_papers

RIDGE = 0.06  # L2 penalty on the weights (bias free), for unit-weight groups
WINDOW = 30  # days up to the newest one, when no ``since`` is given
BACKGROUND_SAMPLE = 50_000  # papers whose moments stand for all (plenty for 384 x 384)
CHUNK = 65_536  # vectors read and scored at a time (100 MB as float32 at 384 dims)


@dataclass(frozen=True)
class Background:
    """The mean and second moment (E[x xᵀ]) of the papers a profile is told apart from."""

    mean: np.ndarray
    moment: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray) -> Background:
        vectors = np.asarray(vectors, np.float64)
        return cls(vectors.mean(0), vectors.T @ vectors / len(vectors))

    @cached_property
    def gram(self) -> np.ndarray:
        """The normal equations' matrix with the background alone (and the ridge)."""
        dim = len(self.mean)
        gram = np.diag(np.r_[np.full(dim, RIDGE), 0.0])
        return gram + np.block([[self.moment, self.mean[:, None]], [self.mean[None, :], 1.0]])

    @cached_property
    def inverse(self) -> np.ndarray:
        """Its inverse: a fit adds the user's few papers to it as a low-rank update."""
        return np.linalg.inv(self.gram)


def fit(
    positives: np.ndarray, negatives: np.ndarray, background: Background
) -> tuple[np.ndarray, float]:
    """Weights and bias minimising sum_g E_g[(w.x + b - y_g)^2] + RIDGE |w|^2 over the groups
    positives (y=+1), background and negatives (y=-1; each group weight 1), from their moments.

    A group of n papers X adds [X 1]ᵀ[X 1] / n = U Uᵀ to the background's matrix G, so the
    solution is (G + U Uᵀ)⁻¹ t, by the Woodbury identity G⁻¹t - G⁻¹U (I + UᵀG⁻¹U)⁻¹ UᵀG⁻¹t:
    a k x k solve for k papers instead of a (d+1) x (d+1) one.
    """
    dim = len(background.mean)
    groups = [(1.0, positives)] + ([(-1.0, negatives)] if len(negatives) else [])
    target = -np.r_[background.mean, 1.0]
    columns = []
    for label, vectors in groups:
        rows = np.c_[np.asarray(vectors, np.float64), np.ones(len(vectors))]
        target += label * rows.mean(0)
        columns.append(rows.T / np.sqrt(len(rows)))
    update = np.hstack(columns)
    if update.shape[1] > dim:  # more papers than dimensions: the direct solve is cheaper
        solution = np.linalg.solve(background.gram + update @ update.T, target)
    else:
        base, spread = background.inverse @ target, background.inverse @ update
        small = np.eye(update.shape[1]) + update.T @ spread
        solution = base - spread @ np.linalg.solve(small, update.T @ base)
    return solution[:dim].astype(np.float32), float(solution[dim])


def nearest(positives: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """For each chosen vector, the row of the positive it has the highest cosine with."""
    return (chosen @ positives.T).argmax(1)


def rank(
    positives: np.ndarray,
    negatives: np.ndarray,
    candidates: np.ndarray,
    background: Background | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the candidates (unit rows; higher: recommend first) and, for each, the
    positive it is nearest to. The background defaults to the candidates themselves."""
    weights, bias = fit(positives, negatives, background or Background.of(candidates))
    return candidates @ weights + bias, nearest(positives, candidates)


@dataclass(frozen=True)
class Recommendation:
    """A paper for the user, and the paper of theirs it is most like."""

    arxiv_id: str
    score: float
    because: str | None  # the positive it is nearest to; None: a seed vector (a search query)
    because_title: str | None
    card: dict[str, Any]  # as ``store.queries.cards`` gives it


class Catalogue:
    """The visible papers in the vector index, newest first: a date window is a slice and a
    category a list of rows. Vectors stay in the index's memory-mapped float16 file (768
    bytes a paper at 384 dims, on disk); the catalogue keeps ~30 bytes a paper in RAM and
    reads the vectors a request needs, scoring many a chunk at a time."""

    def __init__(
        self,
        index: VectorIndex,
        arxiv_ids: np.ndarray,
        days: np.ndarray,
        positions: np.ndarray,
        categories: dict[str, np.ndarray],
    ) -> None:
        self.index = index
        self.arxiv_ids = arxiv_ids  # bytes
        self.days = days  # date ordinals, falling; 0 for a paper with no date
        self.positions = positions  # each paper's row in the index
        self.categories = categories  # category -> its rows, rising
        self._row_of = np.full(index.size, -1, np.int32)  # index row -> catalogue row
        self._row_of[positions] = np.arange(len(positions))
        self.background = _background(self)
        self._pools: dict[tuple[str, ...], np.ndarray] = {}

    @classmethod
    def load(cls, engine: Engine, index: VectorIndex) -> Catalogue:
        """Every visible paper with a vector in ``index``, with its day and categories, in one
        streamed pass over the store."""
        ids: list[np.ndarray] = []
        days: list[np.ndarray] = []
        listed: defaultdict[str, array[int]] = defaultdict(lambda: array("i"))
        for part in visible_papers(engine):
            for number, row in enumerate(part, sum(len(done) for done in ids)):
                for category in row.categories or ():
                    listed[category].append(number)
            ids.append(np.array([row.arxiv_id for row in part], "S"))
            days.append(np.array([_day(row) for row in part], np.int32))
        every = np.concatenate(ids) if ids else np.empty(0, "S1")
        day = np.concatenate(days) if days else np.empty(0, np.int32)
        positions = index.positions(every)
        kept = np.flatnonzero(positions >= 0)
        order = kept[np.lexsort((every[kept], -day[kept]))]
        row_of = np.full(len(every), -1, np.int32)
        row_of[order] = np.arange(len(order))
        categories = {}
        for category, numbers in listed.items():
            rows = row_of[np.frombuffer(numbers, np.int32)]
            categories[category] = np.sort(rows[rows >= 0])
        return cls(index, every[order], day[order], positions[order], categories)

    def __len__(self) -> int:
        return len(self.arxiv_ids)

    def arxiv_id(self, row: int) -> str:
        return str(self.arxiv_ids[row].decode())

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The float32 vectors of these rows, read from the memory-mapped file."""
        return self.index.take(self.positions[rows])

    def scores(self, rows: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
        """``vectors(rows) @ weights + bias``, reading CHUNK rows at a time."""
        parts = [
            self.vectors(rows[start : start + CHUNK]) @ weights
            for start in range(0, len(rows), CHUNK)
        ]
        return np.concatenate(parts) + bias if parts else np.empty(0, np.float32)

    def newest(self) -> date | None:
        return date.fromordinal(int(self.days[0])) if len(self.days) and self.days[0] else None

    def until(self, since: date) -> int:
        """How many papers (a prefix) have a day on or after ``since``."""
        return int(np.searchsorted(-self.days, -since.toordinal(), side="right"))

    def rows_of(self, arxiv_ids: Sequence[str]) -> np.ndarray:
        """The rows of these papers (those not in the catalogue left out)."""
        positions = self.index.positions(arxiv_ids)
        rows = self._row_of[positions[positions >= 0]]
        return rows[rows >= 0].astype(np.int64)

    def pool(self, arxiv_ids: tuple[str, ...]) -> np.ndarray:
        """The rows of these papers, rising; the last few asked for are kept (a digest run
        asks for one period's papers for every user)."""
        if arxiv_ids not in self._pools:
            if len(self._pools) >= 4:
                self._pools.clear()
            self._pools[arxiv_ids] = np.unique(self.rows_of(arxiv_ids))
        return self._pools[arxiv_ids]

    def in_categories(self, names: Sequence[str], size: int) -> np.ndarray:
        """Which of the first ``size`` rows are listed in any of ``names``; a name without a
        subject class (``math``, ``cs``) stands for its whole archive."""
        keep = np.zeros(size, bool)
        for category, rows in self.categories.items():
            if any(category == name or category.startswith(f"{name}.") for name in names):
                keep[rows[rows < size]] = True
        return keep


def _day(row: Any) -> int:
    day = row.announced or (row.published.date() if row.published else None)
    return day.toordinal() if day else 0


def _background(catalogue: Catalogue) -> Background:
    """The moments of up to BACKGROUND_SAMPLE evenly spread papers (zero for none)."""
    if not len(catalogue):
        dim = catalogue.index.dim
        return Background(np.zeros(dim), np.zeros((dim, dim)))
    step = max(1, len(catalogue) // BACKGROUND_SAMPLE)
    return Background.of(catalogue.vectors(np.arange(0, len(catalogue), step)))


@dataclass
class Profile:
    """A user's papers as the ranker sees them, and their stored filters."""

    positives: list[str]
    negatives: list[str]
    owned: set[str]  # never recommended: saved, upvoted, not interested
    preferences: dict[str, Any]


def read_profile(conn: Connection, user_id: int, tag: str | None) -> Profile:
    """The user's positives (a tag's papers only, with ``tag``: matched ignoring case),
    negatives, owned papers and preferences."""
    found = papers_by_mark(conn, user_id, tag)
    preferences = preferences_of(conn, user_id)
    positives = found["tagged"] if tag is not None else sorted({*found["saved"], *found["voted"]})
    owned = {*found["saved"], *found["voted"], *found["rejected"]}
    return Profile(positives, found["rejected"], owned, preferences)


class Recommender:
    """Recommendations over one store and its vector index; cheap to call, safe to share."""

    def __init__(self, engine: Engine, vectors: LiveVectors) -> None:
        self.engine = engine
        self.vectors = vectors
        self._catalogue: tuple[object, Catalogue] | None = None  # (the index it was read for, it)
        self._loading = threading.Lock()

    def recommend(
        self,
        user_id: int,
        *,
        tag: str | None = None,
        since: date | None = None,
        limit: int = 50,
        categories: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        seed_ids: Sequence[str] = (),
        seed_vectors: np.ndarray | None = None,
        within: tuple[str, ...] | None = None,
        skip: Collection[str] = (),
        known: Mapping[str, dict[str, Any]] | None = None,
    ) -> list[Recommendation]:
        """Papers for the user, best first. ``since`` defaults to the WINDOW days up to the
        newest paper's; ``categories`` (keep papers listed in any) and ``exclude`` (drop papers
        whose title or abstract has any of these words) default to the user's preferences.
        ``seed_ids`` and ``seed_vectors`` (e.g. a query's) add positives: a cold start.
        ``within`` replaces the date window by these papers (a digest's), ``skip`` leaves
        some out (those sent before), and ``known`` gives their cards, so that they are not
        read again."""
        catalogue = self.catalogue()
        with self.engine.connect() as conn:
            profile = read_profile(conn, user_id, tag)
        profile.positives += seed_ids
        profile.owned |= {*seed_ids, *skip}
        positives, sources = _positives(catalogue, profile.positives, seed_vectors)
        if not len(positives) or limit < 1:
            return []
        negatives = catalogue.vectors(catalogue.rows_of(profile.negatives))
        weights, bias = fit(positives, negatives, catalogue.background)
        if within is None:
            pool = np.arange(catalogue.until(since or _window_start(catalogue)))
        else:
            pool = catalogue.pool(within)
        wanted = profile.preferences.get("categories", []) if categories is None else categories
        candidates = _candidates(catalogue, pool, wanted, profile.owned)
        scores = catalogue.scores(candidates, weights, bias)
        words = profile.preferences.get("exclude", []) if exclude is None else exclude
        shown = self._shown(catalogue, candidates, scores, limit, words, known)
        chosen = catalogue.vectors(np.array([row for row, _, _ in shown], np.int64))
        because = [sources[i] for i in nearest(positives, chosen)] if shown else []
        titles = titles_of(self.engine, [key for key in because if key])
        return [
            Recommendation(card["arxiv_id"], score, key, titles.get(key), card)
            for (_, score, card), key in zip(shown, because, strict=True)
        ]

    def catalogue(self) -> Catalogue:
        """The catalogue, loaded on first use and again once the shared vector index has been
        reloaded (a newer one was saved); a request keeps the one it started with."""
        with self._loading:
            index = self.vectors.current()
            if self._catalogue is None or self._catalogue[0] is not index:
                self._catalogue = (index, Catalogue.load(self.engine, index))
            return self._catalogue[1]

    def _shown(
        self,
        catalogue: Catalogue,
        candidates: np.ndarray,
        scores: np.ndarray,
        limit: int,
        exclude: Sequence[str],
        known: Mapping[str, dict[str, Any]] | None,
    ) -> list[tuple[int, float, dict[str, Any]]]:
        """The best ``limit`` candidates that are still visible and have none of the
        ``exclude`` words, with their scores and cards; read in batches, best first."""
        unwanted = _words(exclude)
        shown: list[tuple[int, float, dict[str, Any]]] = []
        for batch in _best_first(scores, 2 * limit):
            rows = candidates[batch]
            ids = [catalogue.arxiv_id(row) for row in rows]
            found = known or cards_by_id(self.engine, ids)
            for row, score, key in zip(rows, scores[batch], ids, strict=True):
                card = found.get(key)
                text = f"{card['title']} {card['abstract']}" if card else ""
                if card and not (unwanted and unwanted.search(text)):
                    shown.append((int(row), float(score), card))
            if len(shown) >= limit:
                break
        return shown[:limit]


def _positives(
    catalogue: Catalogue, arxiv_ids: Sequence[str], seed_vectors: np.ndarray | None
) -> tuple[np.ndarray, list[str | None]]:
    """The positives' vectors and, for each, its arXiv id (``None`` for a seed vector)."""
    rows = catalogue.rows_of(arxiv_ids)
    dim = catalogue.index.dim
    seeds = np.empty((0, dim), np.float32)
    if seed_vectors is not None and len(catalogue):
        seeds = unit_rows(np.asarray(seed_vectors).reshape(-1, dim))
    sources: list[str | None] = [catalogue.arxiv_id(row) for row in rows]
    return np.concatenate([catalogue.vectors(rows), seeds]), sources + [None] * len(seeds)


def _window_start(catalogue: Catalogue) -> date:
    newest = catalogue.newest()
    return newest - timedelta(days=WINDOW - 1) if newest else date.max


def _candidates(
    catalogue: Catalogue, pool: np.ndarray, categories: Sequence[str], owned: set[str]
) -> np.ndarray:
    """The rows of ``pool`` listed in ``categories`` (all if none) and not owned, rising."""
    size = int(pool.max()) + 1 if len(pool) else 0
    keep = np.zeros(size, bool)
    keep[pool] = True
    if categories:
        keep &= catalogue.in_categories(categories, size)
    rows = catalogue.rows_of(sorted(owned))
    keep[rows[rows < size]] = False
    return np.flatnonzero(keep)


def _words(words: Sequence[str]) -> re.Pattern[str] | None:
    """Any of ``words`` as a whole word (or phrase), ignoring case."""
    words = [word.strip() for word in words if word.strip()]
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _best_first(scores: np.ndarray, first: int) -> Iterator[np.ndarray]:
    """Positions by falling score, in batches growing fourfold, each found by a partial sort
    (ties: the lower position, so the newer paper, first)."""
    done, size = 0, max(first, 1)
    while done < len(scores):
        size = min(size, len(scores))
        top = np.argpartition(-scores, size - 1)[:size]
        top = top[np.lexsort((top, -scores[top]))]
        yield top[done:]
        done, size = size, size * 4
