"""For-you recommendations: precision@20 per topic and method, "not interested", latency.

    python bench/recommend.py [--json]

Weak labels from arXiv categories: the candidate pool is the newest ~2,000 of the 138,132
shared records (every paper announced on or after the day that makes 2,000); a user who
follows a topic has saved PROFILE older papers of it (primary category), drawn at random;
a recommendation is right when its primary category is the topic ("listed": when the topic is
any of its categories). Methods: Rocchio's centroid, k nearest neighbours, logistic regression
against 1,000 background papers (numpy, Newton's method), and the ridge classifier of
``paperfeed.ranking.recommend`` (chosen). Pool and profile papers are embedded with the real
model (cached); the store's other papers get a real vector plus noise, as in
``bench/search_speed.py``, and only count for latency, measured through
``Recommender.recommend`` (profile reads, scoring, cards) over the pool window and over every
paper. Everything is cached in ~/.cache/paperfeed-bench/recommend (first run ~5 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import platformdirs
from ingest import BULK
from sqlalchemy import Engine, delete, insert, select

from paperfeed.index.dense import VectorIndex
from paperfeed.index.embedders import make_embedder
from paperfeed.ranking.recommend import Background, Recommender, rank, users
from paperfeed.settings import Settings
from paperfeed.store.activity import saved_papers
from paperfeed.store.database import open_store
from paperfeed.store.papers import papers
from paperfeed.store.vectors import document_text, import_vectors, unit_rows

POOL = 2_000
PROFILE = 20
TOP = 20
TOPICS = ("cs.CV", "cs.CL", "cs.AI", "math.RT", "cs.IT", "cs.GT", "math.CO", "math.AG", "math.NT")
SUBTOPICS = (("cs.CV", "eess.IV"), ("cs.CL", "cs.IR"))  # (topic, cross-listed in)
SUBTOPIC_SAVED = 5
SEEDS = (0, 1)  # profiles drawn with seed 1 tuned the constants; seed 0's are reported
NOISE = 0.02
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
    since: date

    def pool(self) -> list[int]:
        return [i for i, day in enumerate(self.day) if day and day >= self.since]

    def older(self, topic: str, cross: str | None = None) -> list[int]:
        """Papers of ``topic`` (cross-listed in ``cross``) from before the pool."""
        return [
            i
            for i, day in enumerate(self.day)
            if self.primary[i] == topic
            and (day is None or day < self.since)
            and (cross is None or cross in self.categories[i])
        ]


def load_corpus(engine: Engine) -> Corpus:
    query = select(
        papers.c.arxiv_id, papers.c.primary_category, papers.c.categories, papers.c.announced
    ).order_by(papers.c.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    days = sorted((row.announced for row in rows if row.announced), reverse=True)
    return Corpus(
        [row.arxiv_id for row in rows],
        [row.primary_category or row.categories[0] for row in rows],
        [row.categories for row in rows],
        [row.announced for row in rows],
        days[POOL - 1],
    )


def profiles(corpus: Corpus, seed: int) -> dict[str, list[int]]:
    """PROFILE older papers of each topic, and of each sub-topic, drawn with ``seed``."""
    drawn = {}
    for topic in TOPICS:
        drawn[topic] = random.Random(f"{seed}-{topic}").sample(corpus.older(topic), PROFILE)
    for topic, cross in SUBTOPICS:
        older = corpus.older(topic, cross)
        drawn[f"{topic}&{cross}"] = random.Random(f"{seed}-{topic}-{cross}").sample(older, PROFILE)
    return drawn


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
    """The store of the four bulk files, imported by the CLI if missing."""
    db = workdir / "store.db"
    if not db.exists():
        env = {**os.environ, "PAPERFEED_DATABASE_URL": f"sqlite:///{db}"}
        command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl"]
        command += [str(data / name) for name in BULK]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return open_store(f"sqlite:///{db}")


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
    rng = np.random.default_rng(0)
    base = np.stack(list(real.values()))
    vectors = base[rng.integers(0, len(base), len(corpus.ids))]
    vectors += rng.normal(0, NOISE, vectors.shape).astype(np.float32)
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

    def precision(self, top: np.ndarray, topic: str) -> float:
        return float(np.mean(self.primary[top] == topic))

    def listed(self, top: np.ndarray, topic: str) -> float:
        return float(np.mean([topic in self.corpus.categories[self.rows[i]] for i in top]))


def compare(vectors: Vectors, drawn: list[dict[str, list[int]]]) -> dict:
    """Precision@TOP per topic and method on the reported profiles, and the means on the
    tuning ones and by "listed in the topic" (any category, not just the primary)."""
    figures = {}
    for name, method in METHODS.items():
        tops = [{t: vectors.top(method, vectors.of(d[t])) for t in TOPICS} for d in drawn]
        precision = {t: vectors.precision(tops[0][t], t) for t in TOPICS}
        figures[name] = {
            "precision": precision,
            "mean": _mean(precision.values()),
            "mean_tuning": _mean(vectors.precision(tops[1][t], t) for t in TOPICS),
            "mean_listed": _mean(vectors.listed(tops[0][t], t) for t in TOPICS),
        }
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


def served(engine: Engine, index: VectorIndex, corpus: Corpus, drawn: dict) -> dict:
    """The chosen method through ``Recommender.recommend`` on the store: precision@TOP per
    topic, catalogue load time, and latency over the pool window and over every paper."""
    accounts = _users(engine, {topic: [corpus.ids[i] for i in drawn[topic]] for topic in TOPICS})
    started = time.perf_counter()
    recommender = Recommender(engine, index)
    catalogue = recommender.catalogue()
    load = time.perf_counter() - started
    labels = dict(zip(corpus.ids, corpus.primary, strict=True))
    precision = {}
    for topic, user_id in accounts.items():
        found = recommender.recommend(user_id, since=corpus.since, limit=TOP)
        precision[topic] = float(np.mean([labels[r.arxiv_id] == topic for r in found]))
    latency = {
        "pool window": _latency(recommender, accounts, corpus.since),
        "all papers": _latency(recommender, accounts, date.min),
    }
    return {
        "papers": len(catalogue.arxiv_ids),
        "load_s": round(load, 1),
        "precision": precision,
        "mean": _mean(precision.values()),
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


def report(figures: dict) -> str:
    """The figures as text tables."""
    pool = figures["pool"]
    lines = [
        f"machine: {figures['machine']}",
        f"pool: the newest {pool['papers']:,} papers (announced from {pool['since']}); "
        f"profiles of {PROFILE} older papers per topic; precision@{TOP} by primary category",
        f"{'method':<10}" + "".join(f"{t:>8}" for t in TOPICS) + "    mean  tuning  listed",
    ]
    for name, row in figures["methods"].items():
        cells = "".join(f"{row['precision'][t]:>8.2f}" for t in TOPICS)
        mark = " <- chosen" if name == figures["chosen"] else ""
        means = f"{row['mean']:>8.3f}{row['mean_tuning']:>8.3f}{row['mean_listed']:>8.3f}"
        lines.append(f"{name:<10}{cells}{means}{mark}")
    lines.append(
        f"not interested: sub-topic papers in the top {TOP} (precision) of a profile with "
        f"{SUBTOPIC_SAVED} of them; marking those shown / {SUBTOPIC_SAVED} older ones"
    )
    for subtopic, rows in figures["not_interested"].items():
        for name, row in rows.items():
            cells = "   ".join(
                f"{label} {row[label]['sub']} ({row[label]['precision']:.2f})"
                for label in ("before", "shown", "older")
            )
            lines.append(f"  {subtopic:<18} {name:<10} {cells}")
    served = figures["served"]
    lines.append(
        f"served by Recommender.recommend ({figures['chosen']}) over {served['papers']:,} "
        f"papers (catalogue load {served['load_s']} s): precision@{TOP} mean {served['mean']}"
        f" ({', '.join(f'{t} {p:.2f}' for t, p in served['precision'].items())})"
    )
    for window, ms in served["latency_ms"].items():
        lines.append(f"  latency, candidates = {window}: p50 {ms['p50']} ms, p99 {ms['p99']} ms")
    return "\n".join(lines)


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
    drawn = [profiles(corpus, seed) for seed in SEEDS]
    wanted = corpus.pool() + [i for d in drawn for rows in d.values() for i in rows]
    real = embedded(engine, [corpus.ids[i] for i in wanted], workdir / "real-vectors.npz")
    vectors = Vectors(corpus, real)
    figures = {
        "machine": machine(),
        "pool": {"papers": len(vectors.rows), "since": corpus.since.isoformat()},
        "chosen": CHOSEN,
        "methods": compare(vectors, drawn),
        "not_interested": not_interested(vectors, drawn),
    }
    index = store_vectors(engine, corpus, real, workdir)
    figures["served"] = served(engine, index, corpus, drawn[0])
    print(json.dumps(figures) if args.json else report(figures))


if __name__ == "__main__":
    main()
