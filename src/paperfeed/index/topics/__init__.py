"""Topics of the papers, from their embeddings: fitted now and then, kept between fits.

:func:`refit` reads every stored vector under the model (the embedded subset: papers without
one are left out, and join once they have one), clusters a sample (:mod:`.clustering`),
assigns the other papers by their nearest centroid (:mod:`.assign`), names the topics
(:mod:`.labels`), matches them to the stored ones by shared papers (:mod:`.identity`), lays
the papers out on a 2-D map (:mod:`.clustering`, :mod:`.layout`) and stores it all in one
transaction: a refit killed before the end leaves the topics as they
were. Between refits, :func:`assign_new` places the papers embedded since in the topics and on
the map, a committed batch at a time, without the clustering stack (numpy alone).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from paperfeed.index.topics.assign import Centroids, assign, thresholds
from paperfeed.index.topics.clustering import (
    Params,
    TopicsUnavailable,
    broad_groups,
    centroids,
    fine_labels,
    stack,
)
from paperfeed.index.topics.identity import match
from paperfeed.index.topics.labels import READ, label_topics, top_categories
from paperfeed.index.topics.layout import landmarks, place
from paperfeed.store.positions import landmarks as landmarks_of
from paperfeed.store.schema import TopicLevel
from paperfeed.store.topics import (
    FittedTopic,
    Places,
    StoredTopic,
    count_unassigned,
    last_refit,
    live_topics,
    members,
    paper_categories,
    paper_titles,
    replace_topics,
    save_assignments,
    unassigned,
)
from paperfeed.store.vectors import load_vectors, vector_fingerprints
from paperfeed.text import counted

__all__ = ["Params", "TooFewPapers", "TopicsUnavailable", "assign_new", "refit", "refit_due"]

FEWEST = 50  # embedded papers a fit needs
REFIT_EVERY = timedelta(days=7)
BATCH = 2_000  # papers assigned a transaction between refits
Progress = Callable[[int, int | None], None]  # (papers done, of this many)
Note = Callable[[str], None]


class TooFewPapers(ValueError):
    """Not enough papers have a vector to find topics among them."""


@dataclass(frozen=True)
class RefitReport:
    papers: int  # embedded papers placed
    fine: int  # topics found
    broad: int
    kept: int  # topics that kept their id
    new: int
    retired: int
    unassigned: int  # papers in no fine topic


def refit_due(engine: Engine, model: str, now: datetime | None = None) -> bool:
    """Whether the topics of ``model`` are missing or older than :data:`REFIT_EVERY`."""
    fitted = last_refit(engine, model)
    return fitted is None or (now or datetime.now(UTC)) - fitted >= REFIT_EVERY


def refit(
    engine: Engine,
    model: str,
    params: Params | None = None,
    *,
    note: Note = lambda text: None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> RefitReport | None:
    """Fit the topics of the papers embedded under ``model`` again and store them (``None``:
    stopped first, nothing changed). Raises :class:`TooFewPapers` below :data:`FEWEST`."""
    params = params or Params()
    embedded = vector_fingerprints(engine, model)[0]
    total = len(embedded)
    if total < FEWEST:
        raise TooFewPapers(
            f"only {counted(total, 'paper')} have a vector under {model}; topics need "
            f"at least {FEWEST}: run `paperfeed index` first"
        )
    stack()  # before reading every vector: a missing extra fails at once
    paper_ids, vectors = _all_vectors(engine, model, embedded, on_progress)
    rng = np.random.default_rng(params.seed)
    sample = np.sort(rng.choice(len(paper_ids), min(len(paper_ids), params.sample), False))
    note(f"clustering {counted(len(sample), 'paper')} (UMAP, then HDBSCAN)")
    labels, layout = fine_labels(vectors[sample], params)
    if stop is not None and stop.is_set():
        return None
    count = int(labels.max()) + 1
    if not count:
        raise TooFewPapers(f"no dense group among {counted(len(sample), 'paper')}: no topics")
    fine = _centroids(vectors[sample], labels, count)
    parents = broad_groups(fine.vectors, params)
    broad_labels = np.where(labels >= 0, parents[np.maximum(labels, 0)], -1)
    broad = _centroids(vectors[sample], broad_labels, int(parents.max(initial=-1)) + 1)
    note(f"assigning {counted(len(paper_ids), 'paper')} to {counted(count, 'topic')}")
    fine_of, broad_of = assign(vectors, fine, broad, parents)
    fine_of[sample], broad_of[sample] = labels, broad_labels  # the clustering's word stands
    fitted = _named(engine, paper_ids, vectors, (broad, broad_of), (fine, fine_of), parents=parents)
    if stop is not None and stop.is_set():
        return None
    positions = {TopicLevel.BROAD: broad_of, TopicLevel.FINE: fine_of + len(broad.vectors)}
    positions[TopicLevel.FINE][fine_of < 0] = -1
    places = _places(vectors, sample, layout, rng)
    before = {topic.id for topic in live_topics(engine)}
    ids = replace_topics(engine, model, fitted, paper_ids, positions, datetime.now(UTC), places)
    kept = sum(topic.id is not None for topic in fitted)
    return RefitReport(
        papers=len(paper_ids),
        fine=count,
        broad=len(broad.vectors),
        kept=kept,
        new=len(fitted) - kept,
        retired=len(before - set(ids)),
        unassigned=int((fine_of < 0).sum()),
    )


def _places(
    vectors: np.ndarray, sample: np.ndarray, layout: np.ndarray, rng: np.random.Generator
) -> Places:
    """Every paper's place on the map (the sample's as fitted, the others' by their nearest
    sampled papers) and which are landmarks (sampled ones)."""
    places = np.empty((len(vectors), 2), np.float32)
    places[sample] = layout
    others = np.ones(len(vectors), bool)
    others[sample] = False
    places[others] = place(vectors[others], vectors[sample], layout)
    marks = np.zeros(len(vectors), bool)
    marks[sample[landmarks(len(sample), rng)]] = True
    return places, marks


def _all_vectors(
    engine: Engine, model: str, embedded: np.ndarray, on_progress: Progress | None
) -> tuple[np.ndarray, np.ndarray]:
    """The ids and float16 vectors of the ``embedded`` papers under ``model``, by id."""
    ids, parts, done = [np.empty(0, np.int64)], [], 0
    for batch in load_vectors(engine, model, embedded):
        ids.append(batch.paper_ids)
        parts.append(batch.vectors.astype(np.float16))  # half the memory, cosines as stored
        done += len(batch.paper_ids)
        if on_progress:
            on_progress(done, len(embedded))
    vectors = np.concatenate(parts) if parts else np.empty((0, 0), np.float16)
    return np.concatenate(ids), vectors


def _centroids(vectors: np.ndarray, labels: np.ndarray, count: int) -> Centroids:
    centres = centroids(vectors, labels, count)
    return Centroids(centres, thresholds(vectors, labels, centres))


def _named(
    engine: Engine,
    paper_ids: np.ndarray,
    vectors: np.ndarray,
    *levels: tuple[Centroids, np.ndarray],
    parents: np.ndarray,
) -> list[FittedTopic]:
    """The broad then the fine topics, labelled, with the stored ids they continue."""
    listed = paper_categories(engine, paper_ids)
    fitted: list[FittedTopic] = []
    for level, (centres, found) in zip(TopicLevel, levels, strict=True):
        count = len(centres.vectors)
        read = [_nearest_members(vectors, found, centres.vectors, topic) for topic in range(count)]
        titles = paper_titles(engine, paper_ids[np.concatenate([np.empty(0, int), *read])])
        labels = label_topics([[titles[int(paper_ids[i])] for i in chosen] for chosen in read])
        ids = match(members(engine, level), paper_ids, found, count)
        for topic in range(count):
            inside = paper_ids[found == topic]
            parent = int(parents[topic]) if level is TopicLevel.FINE else None
            fitted.append(
                FittedTopic(
                    id=ids[topic],
                    level=level,
                    parent=parent,
                    label=labels[topic],
                    categories=top_categories([listed.get(int(i), []) for i in inside]),
                    centroid=centres.vectors[topic],
                    threshold=float(centres.thresholds[topic]),
                    size=len(inside),
                )
            )
    return fitted


def _nearest_members(
    vectors: np.ndarray, found: np.ndarray, centres: np.ndarray, topic: int
) -> np.ndarray:
    """Positions of up to :data:`~.labels.READ` of the topic's papers, nearest first."""
    inside = np.flatnonzero(found == topic)
    nearness = vectors[inside].astype(np.float32) @ centres[topic]
    return inside[np.argsort(-nearness, kind="stable")[:READ]]


def assign_new(
    engine: Engine,
    model: str,
    *,
    limit: int | None = None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Place the papers embedded under ``model`` since the last refit or round in the
    stored topics, a committed batch at a time (at most ``limit``); return how many. None
    before the first refit."""
    stored = {level: live_topics(engine, model, level) for level in TopicLevel}
    if not stored[TopicLevel.FINE]:
        return 0
    fine, broad = (
        _stored_centroids(stored[level]) for level in (TopicLevel.FINE, TopicLevel.BROAD)
    )
    fine_ids = np.array([topic.id for topic in stored[TopicLevel.FINE]], np.int64)
    broad_ids = np.array([topic.id for topic in stored[TopicLevel.BROAD]], np.int64)
    parents = np.array(
        [_position(broad_ids, topic.parent_id) for topic in stored[TopicLevel.FINE]], np.int64
    )
    total = count_unassigned(engine, model) if on_progress else None
    total = min(total, limit) if total is not None and limit is not None else total
    done, known = 0, None
    for batch in unassigned(engine, model, min(BATCH, limit) if limit else BATCH):
        if (limit is not None and done >= limit) or (stop is not None and stop.is_set()):
            break
        fine_of, broad_of = assign(batch.vectors, fine, broad, parents)
        ids = {
            TopicLevel.FINE: _ids(fine_ids, fine_of),
            TopicLevel.BROAD: _ids(broad_ids, broad_of),
        }
        known = known or landmarks_of(engine, model)  # read once a round, and only if needed
        places = place(batch.vectors, known.vectors, known.places)
        save_assignments(engine, batch.paper_ids, ids, places)
        done += len(batch.paper_ids)
        if on_progress:
            on_progress(done, total)
    return done


def _ids(ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The topic ids at ``positions`` (0 for -1: no topic)."""
    return np.array([0, *ids], np.int64)[positions + 1]


def _stored_centroids(stored: list[StoredTopic]) -> Centroids:
    if not stored:
        return Centroids(np.empty((0, 0), np.float32), np.empty(0, np.float32))
    return Centroids(
        np.stack([topic.centroid for topic in stored]),
        np.array([topic.threshold for topic in stored], np.float32),
    )


def _position(ids: np.ndarray, wanted: int | None) -> int:
    found = np.flatnonzero(ids == wanted)
    return int(found[0]) if len(found) else -1
