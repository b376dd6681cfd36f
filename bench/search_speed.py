"""Search speed at scale: index build time, size on disk, RAM, and query latency p50/p99.

    python bench/search_speed.py [--scale 1] [--real 10000] [--queries 300]

Scale 1 is the four shared bulk files (138,132 papers); scale k repeats them with new ids
(8 gives ~1.1M). Embedding every abstract would take hours here (~20/s on 2 cores), so
`--real` papers are embedded with the real model and every other paper gets one of those
vectors plus small Gaussian noise (sigma 0.02, renormalised); the output says so. Vectors go
in through `paperfeed index --import-vectors`'s code path; queries run through
`Searcher.search` (hybrid includes embedding the query and the dense feedback round).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import platformdirs
from ingest import BULK, replicate

from paperfeed.index.dense import VectorIndex
from paperfeed.index.embedders import make_embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.vectors import document_text, import_vectors

NOISE = 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--real", type=int, default=10_000, help="papers embedded for real")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(platformdirs.user_cache_dir("paperfeed-bench")) / (
        f"speed-x{args.scale}"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    db = workdir / "store.db"
    papers = _store(args.data, args.scale, db)
    engine = open_store(f"sqlite:///{db}")
    settings = Settings()
    embedder = make_embedder(settings)
    lexical = LexicalIndex.open(workdir / "lexical")
    _timed(f"lexical index of {papers:,} papers", lambda: lexical.rebuild(engine))
    print(f"  size on disk {_size(workdir / 'lexical') / 1e6:,.0f} MB")
    vectors_file = _vectors(engine, db, embedder, args.real, workdir)
    _timed("vector import", lambda: import_vectors(engine, embedder.model, vectors_file))
    dense = VectorIndex(workdir / "dense")
    _timed("HNSW int8 index build", lambda: dense.rebuild(engine, embedder.model))
    print(f"  size on disk {_size(workdir / 'dense') / 1e6:,.0f} MB")
    print(f"index RAM (both indexes opened and searched in a fresh process): {_index_ram(workdir)}")
    _latency(engine, lexical, embedder, workdir, db, args.queries, settings)


def _store(data: Path, scale: int, db: Path) -> int:
    """The store of the bulk files ``scale`` times over, imported by the CLI if missing."""
    if not db.exists():
        files = [data / name for name in BULK]
        with tempfile.TemporaryDirectory() as tmp:
            inputs = files if scale == 1 else [replicate(files, scale, Path(tmp))]
            env = {**os.environ, "PAPERFEED_DATABASE_URL": f"sqlite:///{db}"}
            command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl", *map(str, inputs)]
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM papers").fetchone()[0]


def _vectors(engine, db: Path, embedder, real: int, workdir: Path) -> Path:
    """An .npz of every paper's vector: ``real`` embedded for real, the rest noisy copies."""
    target = workdir / f"vectors-{real}.npz"
    if target.exists():
        return target
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT arxiv_id, title, abstract FROM papers ORDER BY id").fetchall()
    sample = random.Random(0).sample(range(len(rows)), min(real, len(rows)))
    started = time.perf_counter()
    texts = [document_text(rows[i][1], rows[i][2]) for i in sample]
    base = np.concatenate(
        [embedder.embed_documents(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    )
    seconds = time.perf_counter() - started
    rate = len(sample) / seconds
    print(f"embedded {len(sample):,} real abstracts in {seconds:.0f} s ({rate:.1f}/s)")
    print(f"the other {len(rows) - len(sample):,} papers get a real vector + noise {NOISE}")
    rng = np.random.default_rng(0)
    vectors = base[rng.integers(0, len(base), len(rows))]
    vectors += rng.normal(0, NOISE, vectors.shape).astype(np.float32)
    vectors[sample] = base
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.savez(target, ids=np.array([r[0] for r in rows]), vectors=vectors.astype(np.float32))
    return target


def _latency(engine, lexical, embedder, workdir, db, count, settings) -> None:
    """p50/p99 per mode over titles of random papers (short queries) and abstract openings."""
    queries = sample_queries(db, count)
    tuning = Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight)
    searcher = Searcher(engine, lexical, LiveVectors(workdir / "dense"), embedder, tuning)
    searcher.search("warm up the model", mode="hybrid")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (model, indexes, vector import) {rss:,.0f} MB")
    print(f"{'mode':<8} {'p50 ms':>8} {'p99 ms':>8}   ({len(queries)} queries, 20 hits + snippets)")
    for mode in ("lexical", "dense", "hybrid"):
        times = []
        for query in queries:
            started = time.perf_counter()
            searcher.search(query, mode=mode, limit=20)
            times.append((time.perf_counter() - started) * 1000)
        p99 = statistics.quantiles(times, n=100)[98]
        print(f"{mode:<8} {statistics.median(times):>8.1f} {p99:>8.1f}")


def sample_queries(db: Path, count: int) -> list[str]:
    """``count`` queries: titles of random papers and openings of others' abstracts, in turn."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT title, abstract FROM papers ORDER BY random() LIMIT ?", (count,)
        ).fetchall()
    return [t if i % 2 else " ".join(a.split()[:12]) for i, (t, a) in enumerate(rows)]


INDEX_RAM = """
import sys, numpy as np
from pathlib import Path
from paperfeed.index.dense import VectorIndex
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.index.query import parse_query

def rss():
    status = Path("/proc/self/status").read_text().split("\\n")
    return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) // 1024

before = rss()
folder = Path(sys.argv[1])
lexical, dense = LexicalIndex.open(folder / "lexical"), VectorIndex(folder / "dense")
rng = np.random.default_rng(0)
for words in ("neural networks", "quantum error correction", "graph attention") * 20:
    lexical.search(parse_query(words), limit=100)
    dense.search(rng.normal(size=dense.dim).astype(np.float32), 100)
print(rss() - before)
"""


def _index_ram(workdir: Path) -> str:
    """Resident memory added by opening and searching the indexes (no model, no store);
    tantivy's files are memory-mapped, so only the pages searches touch count."""
    command = [sys.executable, "-c", INDEX_RAM, str(workdir)]
    megabytes = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return f"{int(megabytes):,} MB"


def _timed(label: str, action):
    started = time.perf_counter()
    value = action()
    print(f"{label}: {time.perf_counter() - started:,.1f} s")
    return value


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


if __name__ == "__main__":
    main()
