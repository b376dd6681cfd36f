"""For-you recommendations: precision@20 per topic and method, "not interested", latency.

    python bench/recommend.py [--json]

Weak labels from arXiv categories: the candidate pool is the newest ~2,000 of the 138,132
shared records (every paper announced on or after the day that makes 2,000). The topics are
chosen by a rule that looks only at the labels: the TOPIC_COUNT most frequent primary
categories of the pool among those with at least 2 * PROFILE older papers of that primary (so
a tuning and a reported profile share no paper). A user who follows a topic has saved PROFILE
older papers of that primary category, drawn at random; a recommendation is right "strict"
when its primary category is the topic, "listed" when the topic is any of its categories (as
arXiv's own listing of a category shows its cross-lists). The reference is a random ranking,
whose expected precision is the topic's share of the pool. Methods: Rocchio's centroid,
k nearest neighbours, logistic regression against 1,000 background papers (numpy, Newton's
method), and the ridge classifier of ``paperfeed.ranking.recommend`` (chosen). Pool and
profile papers are embedded with the real model (cached); the store's other papers get a real
vector plus noise, as in ``bench/search_speed.py``, and only count for latency, measured
through ``Recommender.recommend`` (profile reads, scoring, cards) over the pool window and over
every paper. Everything is cached in ~/.cache/paperfeed-bench/recommend (first run ~5 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import platformdirs
from search_speed import ingest_bulk, noisy_copies
from sqlalchemy import Engine, delete, insert, select

from paperfeed.index.dense import VectorIndex
from paperfeed.index.embedders import make_embedder
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.recommend import Background, Recommender, rank
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.runs import last_completed
from paperfeed.store.schema import papers, saved_papers, users
from paperfeed.store.vectors import document_text, import_vectors, unit_rows

POOL = 2_000
PROFILE = 20
TOP = 20
TOPIC_COUNT = 10  # topics by the rule in ``topics``
SUBTOPICS = (("cs.CV", "eess.IV"), ("cs.CL", "cs.IR"))  # (topic, cross-listed in)
SUBTOPIC_SAVED = 5
SEEDS = (0, 1)  # profiles drawn with seed 1 tuned the constants; seed 0's are reported
LABELS = ("strict", "listed")  # a hit: primary category is the topic / topic is any category
ROCCHIO_NEGATIVE = 0.5
KNN, KNN_NEGATIVE = 10, 0.5
LOGISTIC_BG, LOGISTIC_STEPS, LOGISTIC_L2 = 1_000, 15, 0.01
LATENCY_CALLS = 200


@dataclass
class Corpus:
    """Every paper of the store with its weak labels, and the pool's first day."""

    ids: list[str]
    primary: list[str]
    categories: list[list[str]]
    day: list[date | None]
    feed: list[str]  # the repository the store's row came from
    since: date

    def pool(self) -> list[int]:
        return [i for i, day in enumerate(self.day) if day and day >= self.since]

    def before(self) -> list[int]:
        """The papers from before the pool (or without a day): where profiles come from."""
        return [i for i, day in enumerate(self.day) if day is None or day < self.since]

    def older(self, topic: str, cross: str | None = None) -> list[int]:
        """Papers of ``topic`` (cross-listed in ``cross``) from before the pool."""
        return [
            i
            for i in self.before()
            if self.primary[i] == topic and (cross is None or cross in self.categories[i])
        ]


def load_corpus(engine: Engine) -> Corpus:
    query = select(
        papers.c.arxiv_id,
        papers.c.primary_category,
        papers.c.categories,
        papers.c.announced,
        papers.c.source,
    ).order_by(papers.c.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    days = sorted((row.announced for row in rows if row.announced), reverse=True)
    return Corpus(
        [row.arxiv_id for row in rows],
        [row.primary_category or row.categories[0] for row in rows],
        [row.categories for row in rows],
        [row.announced for row in rows],
        [row.source.split("@")[0] for row in rows],
        days[POOL - 1],
    )


def topics(corpus: Corpus) -> tuple[str, ...]:
    """The rule: the TOPIC_COUNT most frequent primary categories of the pool among those with
    at least 2 * PROFILE older papers of that primary; ties by name. Blind to any ranking."""
    pool = Counter(corpus.primary[i] for i in corpus.pool())
    older = Counter(corpus.primary[i] for i in corpus.before())
    eligible = [t for t in sorted(pool, key=lambda t: (-pool[t], t)) if older[t] >= 2 * PROFILE]
    return tuple(eligible[:TOPIC_COUNT])


def profiles(corpus: Corpus, topics: Sequence[str]) -> list[dict[str, list[int]]]:
    """For each of SEEDS, PROFILE older papers of each topic and sub-topic drawn at random; a
    reported profile (SEEDS[0]) holds none of its tuning profile's (SEEDS[1]) papers."""
    drawn: list[dict[str, list[int]]] = [{}, {}]
    wanted = {topic: (topic, None) for topic in (*topics, *dict(SUBTOPICS))}
    wanted |= {f"{topic}&{cross}": (topic, cross) for topic, cross in SUBTOPICS}
    for key, (topic, cross) in wanted.items():
        older, name = corpus.older(topic, cross), topic if cross is None else f"{topic}-{cross}"
        drawn[1][key] = _sample(older, f"{SEEDS[1]}-{name}", set())
        drawn[0][key] = _sample(older, f"{SEEDS[0]}-{name}", set(drawn[1][key]))
    return drawn


def _sample(population: list[int], seed: str, avoid: set[int]) -> list[int]:
    """PROFILE of ``population`` drawn with ``seed``; those in ``avoid`` are replaced by further
    draws (so with none to avoid, this is the plain sample the constants were tuned with)."""
    rng = random.Random(seed)
    drawn = [i for i in rng.sample(population, PROFILE) if i not in avoid]
    rest = [i for i in population if i not in avoid and i not in drawn]
    return drawn + rng.sample(rest, PROFILE - len(drawn))


def labels(corpus: Corpus, topics: Sequence[str]) -> dict:
    """What the weak labels say per topic: its papers in the pool (primary / listed), its
    older papers, the feed most of them come from, and how often they are cross-listed."""
    pool, before = corpus.pool(), corpus.before()
    found = {}
    for topic in topics:
        older = [i for i in before if corpus.primary[i] == topic]
        feed, from_feed = Counter(corpus.feed[i] for i in older).most_common(1)[0]
        also = Counter(c for i in older for c in set(corpus.categories[i]) - {topic})
        other, with_other = also.most_common(1)[0] if also else ("-", 0)
        found[topic] = {
            "pool_primary": sum(corpus.primary[i] == topic for i in pool),
            "pool_listed": sum(topic in corpus.categories[i] for i in pool),
            "older": len(older),
            "feed": feed,
            "feed_share": round(from_feed / len(older), 2),
            "cross_listed": round(
                sum(len(set(corpus.categories[i])) > 1 for i in older) / len(older), 2
            ),
            "top_other": other,
            "top_other_share": round(with_other / len(older), 2),
        }
    return found


def embedded(engine: Engine, arxiv_ids: Sequence[str], cache: Path) -> dict[str, np.ndarray]:
    """Real-model vectors of these papers, embedding (and caching) only those not cached."""
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            known = dict(zip(data["ids"].tolist(), data["vectors"], strict=True))
    missing = sorted(set(arxiv_ids) - set(known))
    if missing:
        query = select(papers.c.arxiv_id, papers.c.title, papers.c.abstract)
        with engine.connect() as conn:
            rows = conn.execute(query.where(papers.c.arxiv_id.in_(missing))).all()
        started = time.perf_counter()
        vectors = make_embedder(Settings()).embed_documents(
            [document_text(row.title, row.abstract) for row in rows]
        )
        seconds = time.perf_counter() - started
        print(f"embedded {len(rows):,} abstracts in {seconds:.0f} s", file=sys.stderr)
        known |= dict(zip([row.arxiv_id for row in rows], vectors, strict=True))
        np.savez(cache, ids=np.array(list(known)), vectors=np.stack(list(known.values())))
    return known


def build_store(data: Path, workdir: Path) -> Engine:
    """The store of the four bulk files, imported by the CLI unless it holds a completed
    import."""
    url = f"sqlite:///{workdir / 'store.db'}"
    engine = open_store(url)
    if last_completed(engine, "jsonl") is None:
        ingest_bulk(data, 1, url, workdir)
    return engine


def store_vectors(
    engine: Engine, corpus: Corpus, real: dict[str, np.ndarray], workdir: Path
) -> VectorIndex:
    """Every paper's vector in the store and its index: the real one where there is one, else
    a random real one plus noise (for latency only). Redone when the real ones change."""
    model = make_embedder(Settings()).model
    stamp = workdir / "store-vectors.txt"
    index = VectorIndex(workdir / "dense")
    if stamp.exists() and stamp.read_text() == str(len(real)):
        return index
    vectors = noisy_copies(np.stack(list(real.values())), len(corpus.ids), 0)
    for row, arxiv_id in enumerate(corpus.ids):
        vectors[row] = real.get(arxiv_id, vectors[row])
    path = workdir / "all-vectors.npz"
    np.savez(path, ids=np.array(corpus.ids), vectors=unit_rows(vectors))
    import_vectors(engine, model, path)
    index.rebuild(engine, model)
    stamp.write_text(str(len(real)))
    return index


# the methods compared; each maps (positives, negatives, candidates, background) to scores
def centroid(positives, negatives, candidates, background) -> np.ndarray:
    """Rocchio (1971) without a query: mean positive - ROCCHIO_NEGATIVE * mean negative."""
    query = positives.mean(0)
    if len(negatives):
        query = query - ROCCHIO_NEGATIVE * negatives.mean(0)
    return candidates @ query


def knn(positives, negatives, candidates, background) -> np.ndarray:
    """Mean cosine to the KNN nearest positives - KNN_NEGATIVE * the highest to a negative."""
    near = np.sort(candidates @ positives.T, 1)[:, -KNN:].mean(1)
    if len(negatives):
        near = near - KNN_NEGATIVE * (candidates @ negatives.T).max(1)
    return near


def logistic(positives, negatives, candidates, background) -> np.ndarray:
    """L2 logistic regression (Newton's method) of positives against negatives and LOGISTIC_BG
    background papers, each class weighing the same."""
    features = np.vstack([positives, negatives, background[:LOGISTIC_BG]]).astype(np.float64)
    features = np.hstack([features, np.ones((len(features), 1))])
    labels = np.r_[np.ones(len(positives)), np.zeros(len(features) - len(positives))]
    weights = np.where(labels == 1, 1 / len(positives), 1 / (len(features) - len(positives)))
    theta = np.zeros(features.shape[1])
    for _ in range(LOGISTIC_STEPS):
        p = 1 / (1 + np.exp(-features @ theta))
        gradient = features.T @ (weights * (p - labels)) + LOGISTIC_L2 * theta
        hessian = (features.T * (weights * p * (1 - p))) @ features
        theta -= np.linalg.solve(hessian + LOGISTIC_L2 * np.eye(len(theta)), gradient)
    return candidates @ theta[:-1] + theta[-1]


def ridge(positives, negatives, candidates, background) -> np.ndarray:
    """``paperfeed.ranking.recommend.rank``: the least-squares classifier against moments."""
    return rank(positives, negatives, candidates, Background.of(background))[0]


METHODS = {"centroid": centroid, "knn": knn, "logistic": logistic, "ridge": ridge}
CHOSEN = "ridge"


@dataclass
class Vectors:
    """The pool's real vectors with their labels, and the lookup of any embedded paper."""

    corpus: Corpus
    real: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        self.rows = self.corpus.pool()
        self.pool = self.of(self.rows)
        self.primary = np.array([self.corpus.primary[i] for i in self.rows])
        self.background = np.stack(list(self.real.values()))
        self.background = self.background[np.random.default_rng(0).permutation(len(self.real))]

    def of(self, rows: Sequence[int]) -> np.ndarray:
        return np.stack([self.real[self.corpus.ids[i]] for i in rows]).astype(np.float32)

    def top(self, method, positives, negatives=(), skip=()) -> np.ndarray:
        """Pool positions of the method's best TOP, never those in ``skip``."""
        negatives = self.of(negatives) if len(negatives) else np.empty((0, positives.shape[1]))
        scores = method(positives, negatives.astype(np.float32), self.pool, self.background)
        scores[list(skip)] = -np.inf
        return np.argsort(-scores, kind="stable")[:TOP]

    def hits(self, topic: str, label: str = "strict") -> np.ndarray:
        """Which pool papers are of ``topic``: by primary category ("strict") or by any of
        their categories ("listed")."""
        if label == "strict":
            return self.primary == topic
        return np.array([topic in self.corpus.categories[i] for i in self.rows])

    def precision(self, top: np.ndarray, topic: str, label: str = "strict") -> float:
        return float(np.mean(self.hits(topic, label)[top]))


def compare(vectors: Vectors, topics: Sequence[str], drawn: list[dict[str, list[int]]]) -> dict:
    """Precision@TOP per topic, label and method on the reported profiles, with its mean there
    and on the tuning profiles; first the reference, a random ranking (its expectation)."""
    share = {label: {t: float(vectors.hits(t, label).mean()) for t in topics} for label in LABELS}
    figures = {"random": _figures(share, share)}
    for name, method in METHODS.items():
        tops = [{t: vectors.top(method, vectors.of(d[t])) for t in topics} for d in drawn]
        found = [
            {label: {t: vectors.precision(top[t], t, label) for t in topics} for label in LABELS}
            for top in tops
        ]
        figures[name] = _figures(*found)
    return figures


def _figures(reported: dict, tuning: dict | None = None) -> dict:
    """Per label: precision per topic (reported profiles), its mean, the tuning profiles' mean."""
    figures = {}
    for label in LABELS:
        figures[label] = {
            "precision": {t: round(p, 3) for t, p in reported[label].items()},
            "mean": _mean(reported[label].values()),
        }
        if tuning is not None:
            figures[label]["mean_tuning"] = _mean(tuning[label].values())
    return figures


def not_interested(vectors: Vectors, drawn: list[dict[str, list[int]]]) -> dict:
    """Sub-topic papers in the top TOP of a profile with SUBTOPIC_SAVED of them among its
    PROFILE, before and after marking (a) those shown, (b) SUBTOPIC_SAVED older ones."""
    figures = {}
    for topic, cross in SUBTOPICS:
        sub = np.array([cross in vectors.corpus.categories[i] for i in vectors.rows])
        sub &= vectors.primary == topic
        saved = (
            drawn[0][topic][: PROFILE - SUBTOPIC_SAVED]
            + drawn[0][f"{topic}&{cross}"][:SUBTOPIC_SAVED]
        )
        older = drawn[1][f"{topic}&{cross}"][:SUBTOPIC_SAVED]
        for name, method in METHODS.items():
            positives = vectors.of(saved)
            before = vectors.top(method, positives)
            shown = before[sub[before]]
            marked = vectors.top(method, positives, [vectors.rows[i] for i in shown], shown)
            after = vectors.top(method, positives, older)
            figures.setdefault(f"{topic} & {cross}", {})[name] = {
                label: {"sub": int(sub[top].sum()), "precision": vectors.precision(top, topic)}
                for label, top in (("before", before), ("shown", marked), ("older", after))
            }
    return figures


def _mean(values) -> float:
    return round(float(np.mean(list(values))), 3)


def served(
    engine: Engine, index: VectorIndex, corpus: Corpus, topics: Sequence[str], drawn: dict
) -> dict:
    """The chosen method through ``Recommender.recommend`` on the store: precision@TOP per
    topic and label, catalogue load time, and latency over the pool window and every paper."""
    accounts = _users(engine, {topic: [corpus.ids[i] for i in drawn[topic]] for topic in topics})
    started = time.perf_counter()
    recommender = Recommender(engine, LiveVectors(index.folder))
    catalogue = recommender.catalogue()
    load = time.perf_counter() - started
    row = {arxiv_id: i for i, arxiv_id in enumerate(corpus.ids)}
    found: dict[str, dict[str, float]] = {label: {} for label in LABELS}
    for topic, user_id in accounts.items():
        recommended = recommender.recommend(user_id, since=corpus.since, limit=TOP)
        shown = [row[r.arxiv_id] for r in recommended]
        found["strict"][topic] = float(np.mean([corpus.primary[i] == topic for i in shown]))
        found["listed"][topic] = float(np.mean([topic in corpus.categories[i] for i in shown]))
    latency = {
        "pool window": _latency(recommender, accounts, corpus.since),
        "all papers": _latency(recommender, accounts, date.min),
    }
    return {
        "papers": len(catalogue.arxiv_ids),
        "load_s": round(load, 1),
        **_figures(found),
        "latency_ms": latency,
    }


def _users(engine: Engine, saved: dict[str, list[str]]) -> dict[str, int]:
    """A fresh user per topic who saved its profile papers."""
    now = datetime.now(UTC)
    emails = {topic: f"bench-{topic}@example.org" for topic in saved}
    with engine.begin() as conn:
        conn.execute(delete(users).where(users.c.email.in_(emails.values())))
        ids = {}
        for topic, email in emails.items():
            row = {"email": email, "name": topic, "password_hash": "-", "created_at": now}
            ids[topic] = conn.execute(insert(users).values(row)).inserted_primary_key[0]
            found = select(papers.c.id).where(papers.c.arxiv_id.in_(saved[topic]))
            rows = [
                {"user_id": ids[topic], "paper_id": paper_id, "created_at": now}
                for paper_id in conn.execute(found).scalars()
            ]
            conn.execute(insert(saved_papers), rows)
    return ids


def _latency(recommender: Recommender, users: dict[str, int], since: date) -> dict:
    times = []
    for call in range(LATENCY_CALLS):
        user_id = list(users.values())[call % len(users)]
        started = time.perf_counter()
        recommender.recommend(user_id, since=since, limit=50)
        times.append((time.perf_counter() - started) * 1000)
    p99 = statistics.quantiles(times, n=100)[98]
    return {"p50": round(statistics.median(times), 1), "p99": round(p99, 1)}


HEADINGS = {
    "strict": "strict: a hit is a paper whose primary category is the topic",
    "listed": "listed: a hit is a paper listed in the topic (by any of its categories)",
}


def report(figures: dict) -> str:
    """The figures as text tables."""
    pool, topics = figures["pool"], figures["topics"]
    feeds = ", ".join(f"{n:,} from {feed}" for feed, n in pool["feeds"].items())
    lines = [
        f"machine: {figures['machine']}",
        f"pool: the newest {pool['papers']:,} papers (announced from {pool['since']}): {feeds}",
        f"topics, by rule: the {TOPIC_COUNT} most frequent primary categories in the pool with at "
        f"least {2 * PROFILE} older papers of that primary",
        *_labels_table(figures["labels"]),
        f"precision@{TOP} of profiles of {PROFILE} older papers of the topic (drawn at random; "
        "mean on the tuning profiles too); random = a random ranking's expectation, the pool share",
    ]
    for label in LABELS:
        lines += [f"{HEADINGS[label]}", f"{'method':<10}" + _cells(topics) + "    mean  tuning"]
        rows = {**figures["methods"], "served": figures["served"]}
        for name, row in rows.items():
            cells = _cells(row[label]["precision"][t] for t in topics)
            means = f"{row[label]['mean']:>8.3f}" + (
                f"{row[label]['mean_tuning']:>8.3f}" if "mean_tuning" in row[label] else ""
            )
            mark = " <- chosen" if name == figures["chosen"] else ""
            lines.append(f"{name:<10}{cells}{means}{mark}")
    lines += _not_interested_lines(figures["not_interested"])
    served = figures["served"]
    lines.append(
        f"served = {figures['chosen']} through Recommender.recommend over {served['papers']:,} "
        f"papers (catalogue load {served['load_s']} s)"
    )
    for window, ms in served["latency_ms"].items():
        lines.append(f"  latency, candidates = {window}: p50 {ms['p50']} ms, p99 {ms['p99']} ms")
    return "\n".join(lines)


def _cells(values) -> str:
    return "".join(f"{v:>8.2f}" if isinstance(v, float) else f"{v:>8}" for v in values)


def _labels_table(labels: dict) -> list[str]:
    width = max(len(f"{row['feed']} (0.00)") for row in labels.values())
    lines = [
        f"  {'topic':<10}{'in pool: primary':>17}{'listed':>8}{'older':>8}  "
        f"{'main feed of older (share)':<{width}}  older cross-listed  most co-listed (share)"
    ]
    for topic, row in labels.items():
        feed = f"{row['feed']} ({row['feed_share']:.2f})"
        lines.append(
            f"  {topic:<10}{row['pool_primary']:>17}{row['pool_listed']:>8}{row['older']:>8}  "
            f"{feed:<{width}}{row['cross_listed']:>20.2f}  "
            f"{row['top_other']} ({row['top_other_share']:.2f})"
        )
    return lines


def _not_interested_lines(figures: dict) -> list[str]:
    lines = [
        f"not interested: sub-topic papers in the top {TOP} (strict precision) of a profile with "
        f"{SUBTOPIC_SAVED} of them; marking those shown / {SUBTOPIC_SAVED} older ones"
    ]
    for subtopic, rows in figures.items():
        for name, row in rows.items():
            cells = "   ".join(
                f"{label} {row[label]['sub']} ({row[label]['precision']:.2f})"
                for label in ("before", "shown", "older")
            )
            lines.append(f"  {subtopic:<18} {name:<10} {cells}")
    return lines


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GB RAM, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    workdir = args.workdir or Path(platformdirs.user_cache_dir("paperfeed-bench")) / "recommend"
    workdir.mkdir(parents=True, exist_ok=True)
    engine = build_store(args.data, workdir)
    corpus = load_corpus(engine)
    chosen = topics(corpus)
    drawn = profiles(corpus, chosen)
    wanted = corpus.pool() + [i for d in drawn for rows in d.values() for i in rows]
    real = embedded(engine, [corpus.ids[i] for i in wanted], workdir / "real-vectors.npz")
    vectors = Vectors(corpus, real)
    figures = {
        "machine": machine(),
        "pool": {
            "papers": len(vectors.rows),
            "since": corpus.since.isoformat(),
            "feeds": dict(Counter(corpus.feed[i] for i in vectors.rows).most_common()),
        },
        "topics": list(chosen),
        "labels": labels(corpus, chosen),
        "chosen": CHOSEN,
        "methods": compare(vectors, chosen, drawn),
        "not_interested": not_interested(vectors, drawn),
    }
    index = store_vectors(engine, corpus, real, workdir)
    figures["served"] = served(engine, index, corpus, chosen, drawn[0])
    print(json.dumps(figures) if args.json else report(figures))


if __name__ == "__main__":
    main()
