"""Web page latency at scale: the feed, a day, search and a paper page, p50/p99 in the server.

    python bench/web_latency.py [--requests 200] [--workdir DIR]

Runs on the scale-1 store of `bench/search_speed.py` (138,132 papers; real vectors for 10,000
of them, noisy copies for the rest), building whatever is missing with its helpers; a store
made before authors were linked to papers (empty ``paper_authors``) is rebuilt. Requests go
through the ASGI app in this process (``fastapi.testclient.TestClient``): server time with the
page rendered, no network. Search pages run the default hybrid mode (query embedding included).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import platformdirs
from fastapi.testclient import TestClient
from search_speed import _store, _timed, _vectors, sample_queries

from paperfeed.index.dense import VectorIndex
from paperfeed.index.embedders import make_embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.vectors import count_to_embed, import_vectors
from paperfeed.web.app import create_app

REAL = 10_000  # papers embedded for real, as search_speed.py's default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(platformdirs.user_cache_dir("paperfeed-bench")) / "speed-x1"
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    db = workdir / "store.db"
    _drop_outdated(workdir, db)
    count = _timed("store (imported if missing)", lambda: _store(args.data, 1, db))
    print(f"  {count:,} papers")
    searcher = _searcher(workdir, db)
    with tempfile.TemporaryDirectory() as home:  # the app's session key, nothing else
        services = Services.from_settings(
            Settings(home=Path(home)), engine=searcher.engine, searcher=searcher
        )
        app = create_app(services)
        with TestClient(app) as client:
            _measure(client, _pages(db, args.requests))


def _drop_outdated(workdir: Path, db: Path) -> None:
    """Remove a store made before ``paper_authors`` was filled, and the indexes built from it
    (the vectors file stays: it is keyed by arXiv id)."""
    if not db.exists():
        return
    with sqlite3.connect(db) as conn:
        papers, links = (
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("papers", "paper_authors")
        )
    if papers and not links:
        print("the store was made by an older version (no paper_authors): rebuilding it")
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
        for folder in ("lexical", "dense"):
            shutil.rmtree(workdir / folder, ignore_errors=True)


def _searcher(workdir: Path, db: Path) -> Searcher:
    """The searcher over the bench indexes, each brought up to date with the store first."""
    engine = open_store(f"sqlite:///{db}")
    settings = Settings()
    embedder = make_embedder(settings)
    lexical = LexicalIndex.open(workdir / "lexical")
    _timed("lexical index update", lambda: lexical.update(engine))
    if count_to_embed(engine, embedder.model):
        vectors_file = _vectors(engine, db, embedder, REAL, workdir)
        _timed("vector import", lambda: import_vectors(engine, embedder.model, vectors_file))
    dense = VectorIndex(workdir / "dense")
    _timed("vector index update", lambda: dense.update(engine, embedder.model))
    tuning = Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight)
    return Searcher(engine, lexical, LiveVectors(workdir / "dense"), embedder, tuning)


def _pages(db: Path, count: int) -> dict[str, list[str]]:
    """``count`` URLs per page: the feed, random announcement days, searches for titles and
    abstract openings of random papers, random papers."""
    rng = random.Random(0)
    with sqlite3.connect(db) as conn:
        query = "SELECT DISTINCT announced FROM papers WHERE announced IS NOT NULL"
        days = [row[0] for row in conn.execute(query)]
        ids = [r[0] for r in conn.execute("SELECT arxiv_id FROM papers WHERE NOT withdrawn")]
    return {
        "/papers": ["/papers"] * count,
        "/papers/date/D": [f"/papers/date/{rng.choice(days)}" for _ in range(count)],
        "/search?q=…": [f"/search?{urlencode({'q': q})}" for q in sample_queries(db, count)],
        "/papers/ID": [f"/papers/{rng.choice(ids)}" for _ in range(count)],
    }


def _measure(client: TestClient, pages: dict[str, list[str]]) -> None:
    for urls in pages.values():  # first requests load the model, compile templates
        client.get(urls[0])
    print(f"{'page':<16} {'p50 ms':>8} {'p99 ms':>8} {'KB':>6}   ({len(urls)} requests each)")
    for name, urls in pages.items():
        times, sizes = [], []
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            sizes.append(len(response.content) / 1000)
        p99 = statistics.quantiles(times, n=100)[98]
        median = statistics.median(times)
        print(f"{name:<16} {median:>8.1f} {p99:>8.1f} {statistics.median(sizes):>6.0f}")


if __name__ == "__main__":
    main()
