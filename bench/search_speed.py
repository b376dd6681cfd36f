"""Search speed at scale: build times, sizes on disk, RAM, recall and query latency p50/p99.

    python bench/search_speed.py [--scale 1] [--real 10000] [--queries 300] [--json]

Scale 1 is the four shared bulk files (138,132 papers); scale k (up to 20, ~2.8M papers)
repeats them with new ids (``ingest.renumber``). Embedding every abstract would take hours
here (~20/s on 2 cores), so `--real` papers of the first copy are embedded with the real model
(once, kept in ``real-N.npz`` beside the workdirs for every scale) and every other paper gets
one of those vectors plus small Gaussian noise (sigma 0.02, renormalised); the output says so.
Vectors go in through `paperfeed index --import-vectors`'s code path, a part at a time.

Each build stage (import, words index, vectors, HNSW) is recorded in ``stages.json`` in the
workdir when done, with its time, so a stopped run continues with the next stage and still
reports every build time; a stage whose output is found (a completed import in the store, a
built words index, a vector for every paper, a saved graph) counts as done, its time not
recorded. Other benches build their stores with the same ``build_store``.

The measures run in fresh processes: index RAM (both indexes opened and searched, no model,
no store), then a "server" (store, indexes and model, as ``Services`` holds them) that runs
the queries through ``Searcher`` and reports its RSS. Queries are titles of random papers and
openings of others' abstracts, in turn, each with no filter, a category filter (the category
of a random paper) or a date range (a year up to the newest day), in turn; hybrid includes
embedding the query. Similar papers are
asked for random papers twice: ``latency_ms.similar`` is the second time (the row the first
kept in the store read, as pages and the worker's filled rows are), ``similar_first_visit_ms``
the first (computed and written, as on a visit the worker has not prepared). Recall@10
compares the int8 graph with float16 rescoring against an exact search over all stored float16
vectors, for the queries' embeddings.
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
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np
import platformdirs
from corpus import percentiles, time_ms
from ingest import BULK, replicate
from sqlalchemy import Engine, func, select

from paperfeed.store.schema import papers

CACHE = Path(platformdirs.user_cache_dir("paperfeed-bench"))
REAL = 10_000  # papers embedded for real by default
NOISE = 0.02
PART = 200_000  # papers per imported vectors file
RECALL_QUERIES = 200
CHUNK = 100_000  # rows of float16 vectors scored at a time by the exact search
MODES = ("lexical", "dense", "hybrid")
FILTERS = ("none", "category", "dates")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--scale", type=int, default=1, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--real", type=int, default=REAL, help="papers embedded for real")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = args.workdir or CACHE / f"speed-x{args.scale}"
    if args.measure:  # the child process that plays the server
        print(json.dumps(serve_and_measure(workdir, args.queries)))
        return
    workdir.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    report = build(args.data, args.scale, args.real, workdir, say)
    ram = _index_ram(workdir)
    report["index_ram_mb"], report["index_ram_parts_mb"] = ram["rss"], ram
    say(f"index RAM (both indexes opened and searched, fresh process): {ram} MB")
    command = [sys.executable, __file__, "--measure", "--workdir", str(workdir)]
    command += ["--queries", str(args.queries)]
    measured = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    report.update(measured)
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)


def build(data: Path, scale: int, real: int, workdir: Path, say) -> dict:
    """The store and both indexes in ``workdir`` (:func:`build_store`); the build times and
    sizes."""
    engine, stages = build_store(data, scale, real, workdir, say)
    db, dense = workdir / "store.db", workdir / "dense"
    return {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "scale": scale,
        "papers": count_papers(engine),
        "real_vectors": real,
        "noise": NOISE,
        "build_s": stages.seconds(),
        "disk_mb": {
            "store": _mb(db.stat().st_size),
            "lexical": _mb(_size(workdir / "lexical")),
            "hnsw_graph": _mb(_size(dense, "index-*.usearch")),
            "vectors_f16": _mb(_size(dense, "vectors-*.f16")),
            "dense_rows": _mb(_size(dense, "rows-*.npz")),
        },
    }


def build_store(
    data: Path, scale: int, real: int, workdir: Path, say, database_url: str | None = None
) -> tuple[Engine, Stages]:
    """The bulk files ``scale`` times over in a store (``workdir``'s SQLite file, or the
    database at ``database_url``) with every paper's vector, and both indexes in ``workdir``.
    Each stage runs unless ``stages.json`` says it is done or its output is there already (a
    store built before stages were recorded, or filled by another bench)."""
    from paperfeed.index.dense import VectorIndex, saved_generation
    from paperfeed.index.lexical import LexicalIndex
    from paperfeed.settings import Settings
    from paperfeed.store.database import open_store
    from paperfeed.store.runs import last_completed
    from paperfeed.store.vectors import count_to_embed

    url = database_url or f"sqlite:///{workdir / 'store.db'}"
    stages = Stages(workdir / "stages.json")
    engine = open_store(url)
    model = Settings().embedding_model
    lexical, dense = workdir / "lexical", workdir / "dense"
    stages.run(
        "ingest",
        lambda: ingest_bulk(data, scale, url, workdir),
        say,
        found=lambda: last_completed(engine, "jsonl") is not None,
    )
    if "lexical" in stages.done and not LexicalIndex.open(lexical).built():
        stages.forget("lexical")  # opened under a newer schema: the old index is gone
    stages.run(
        "lexical",
        lambda: LexicalIndex.open(lexical).rebuild(engine),
        say,
        found=lambda: LexicalIndex.open(lexical).built(),
    )
    stages.run(
        "vectors",
        lambda: store_vectors(engine, real, workdir, stages, say),
        say,
        found=lambda: not count_to_embed(engine, model),
    )
    stages.run(
        "hnsw",
        lambda: VectorIndex(dense).rebuild(engine, model),
        say,
        found=lambda: saved_generation(dense) is not None,
    )
    return engine, stages


class Stages:
    """Which build stages are done, and how long each took (over every run it took; ``None``
    for a stage found done without a record of its time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict = json.loads(path.read_text()) if path.exists() else {}

    def run(self, name: str, action, say, found: Callable[[], bool] | None = None) -> None:
        """Run ``action`` unless the stage is recorded as done or ``found`` says its output
        is there (then recorded without a time)."""
        if name not in self.done and found is not None and found():
            self.done[name] = None
            self.path.write_text(json.dumps(self.done))
        if name in self.done:
            seconds = self.done[name]
            took = "time not recorded" if seconds is None else f"{seconds:,.1f} s"
            say(f"{name}: done before ({took})")
            return
        started = time.perf_counter()
        action()
        self.record(name, time.perf_counter() - started)
        say(f"{name}: {self.done[name]:,.1f} s")

    def forget(self, name: str) -> None:
        """Have the stage run again."""
        self.done.pop(name, None)
        self.path.write_text(json.dumps(self.done))

    def record(self, name: str, seconds: float) -> None:
        self.done[name] = round((self.done.get(name) or 0) + seconds, 1)
        self.path.write_text(json.dumps(self.done))

    def seconds(self) -> dict:
        return {key: value for key, value in self.done.items() if "/" not in key}


def ingest_bulk(data: Path, scale: int, url: str, workdir: Path) -> None:
    """The bulk files ``scale`` times over imported into the store at ``url`` by the CLI (it
    resumes a stopped import)."""
    files = [data / name for name in BULK]
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        inputs = files if scale == 1 else [replicate(files, scale, Path(tmp))]
        env = {**os.environ, "PAPERFEED_DATABASE_URL": url}
        command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl", *map(str, inputs)]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def store_vectors(engine: Engine, real: int, workdir: Path, stages: Stages, say) -> None:
    """Every paper's vector stored, PART papers per imported file: a real one for the papers
    embedded for real, a noisy copy of one of them for the others."""
    from paperfeed.settings import Settings
    from paperfeed.store.vectors import import_vectors

    with engine.connect() as conn:
        ids = list(conn.execute(select(papers.c.arxiv_id).order_by(papers.c.id)).scalars())
    base_ids, base = _real_vectors(engine, ids, real, say)
    row_of = {arxiv_id: row for row, arxiv_id in enumerate(ids)}
    sample = np.array([row_of[key] for key in base_ids if key in row_of])
    model = Settings().embedding_model
    say(f"the other {len(ids) - len(sample):,} papers get a real vector + noise {NOISE}")
    for start in range(0, len(ids), PART):
        if f"vectors/{start}" in stages.done:
            continue
        vectors = noisy_copies(base, min(PART, len(ids) - start), start)
        mine = sample[(sample >= start) & (sample < start + PART)]
        vectors[mine - start] = base[np.searchsorted(sample, mine)]
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        path = workdir / "part.npz"
        np.savez(path, ids=np.array(ids[start : start + PART]), vectors=vectors.astype("<f2"))
        import_vectors(engine, model, path)
        path.unlink()
        stages.record(f"vectors/{start}", 0)


def noisy_copies(base: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` rows, each a random row of ``base`` plus Gaussian noise (sigma ``NOISE``), not
    renormalised."""
    rng = np.random.default_rng(seed)
    vectors = base[rng.integers(0, len(base), count)]
    return vectors + rng.normal(0, NOISE, vectors.shape).astype(np.float32)


def _real_vectors(engine: Engine, ids: list[str], real: int, say):
    """The ids and vectors of the papers embedded for real, sorted by row: read from the
    bench cache's ``real-N.npz`` (made by the first run at any scale), else embedded now."""
    cache = CACHE / f"real-{real}.npz"
    if not cache.exists():
        from paperfeed.index.embedders import make_embedder
        from paperfeed.settings import Settings
        from paperfeed.store.vectors import document_text

        embedder = make_embedder(Settings())
        chosen = set(random.Random(0).sample(range(len(ids)), min(real, len(ids))))
        query = select(papers.c.arxiv_id, papers.c.title, papers.c.abstract)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(papers.c.id))
            picked = [row for i, row in enumerate(rows) if i in chosen]
        started = time.perf_counter()
        texts = [document_text(title, abstract) for _, title, abstract in picked]
        vectors = np.concatenate(
            [embedder.embed_documents(texts[i : i + 256]) for i in range(0, len(texts), 256)]
        )
        seconds = time.perf_counter() - started
        say(f"embedded {len(texts):,} real abstracts in {seconds:.0f} s")
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ids=np.array([row[0] for row in picked]), vectors=vectors)
    with np.load(cache) as saved:
        found, vectors = saved["ids"].tolist(), saved["vectors"].astype(np.float32)
    row_of = {arxiv_id: row for row, arxiv_id in enumerate(ids)}
    order = sorted((row_of[key], i) for i, key in enumerate(found) if key in row_of)
    return [found[i] for _, i in order], vectors[[i for _, i in order]]


def count_papers(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(papers)).scalar_one()


def serve_and_measure(workdir: Path, count: int) -> dict:
    """In this fresh process: the indexes and the model opened as a server holds them, then
    the latencies, what each stage of a hybrid search costs, recall@10 and the RSS."""
    from paperfeed.index.embedders import make_embedder
    from paperfeed.index.lexical import LexicalIndex
    from paperfeed.index.live import LiveVectors
    from paperfeed.ranking.search import Searcher, Tuning
    from paperfeed.settings import Settings
    from paperfeed.store.database import open_store

    settings = Settings()
    engine = open_store(f"sqlite:///{workdir / 'store.db'}")
    embedder = make_embedder(settings)
    tuning = Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight)
    lexical = LexicalIndex.open(workdir / "lexical")
    live = LiveVectors(workdir / "dense")
    searcher = Searcher(engine, lexical, live, embedder, tuning)
    queries = sample_queries(engine, count)
    searcher.search("warm up the model", mode="hybrid")
    latency, breakdown = {}, {}
    for mode in MODES:
        times = defaultdict(list)
        for query, kind, filters, name in queries:
            search = partial(searcher.search, query, mode=mode, limit=20, filters=filters)
            times[(kind, name)].append(time_ms(search)[0])
        latency[mode] = percentiles([t for part in times.values() for t in part])
        breakdown[mode] = {f"{kind}/{name}": percentiles(t) for (kind, name), t in times.items()}
    stages = _hybrid_stages(searcher, queries)
    computed, latency["similar"] = _similar(searcher, count)
    recall = _recall(live.current(), embedder, [query for query, *_ in queries][:RECALL_QUERIES])
    return {
        "latency_ms": latency,
        "latency_by_query_ms": breakdown,
        "similar_first_visit_ms": computed,
        "hybrid_stages_ms": stages,
        "recall_at_10": recall,
        "server_rss_mb": _rss("VmRSS"),
        "server_peak_rss_mb": _rss("VmHWM"),
        "queries": len(queries),
    }


def sample_queries(engine: Engine, count: int) -> list[tuple]:
    """``count`` queries: (text, "title" or "abstract", filters, the filters' name)."""
    from paperfeed.index.query import NO_FILTERS, Filters

    query = select(papers.c.title, papers.c.abstract, papers.c.categories)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(func.random()).limit(count)).all()
        end = conn.execute(select(func.max(papers.c.announced))).scalar_one()
    dates = Filters(date_from=end - timedelta(days=365), date_to=end)
    queries = []
    for i, (title, abstract, categories) in enumerate(rows):
        text, kind = (title, "title") if i % 2 else (" ".join(abstract.split()[:12]), "abstract")
        name = FILTERS[(i // 2) % 3]
        category = categories[0] if name == "category" else None
        filters = {"none": NO_FILTERS, "category": Filters(categories=[category]), "dates": dates}
        queries.append((text, kind, filters[name], name))
    return queries


def _hybrid_stages(searcher, queries: list[tuple]) -> dict:
    """Median milliseconds per hybrid search spent in each part, timed by wrapping it (the
    lexical search runs beside the embedding, the graph search and the filter: the parts add
    up to more than the total)."""
    from paperfeed.index.dense import VectorIndex
    from paperfeed.index.lexical import LexicalIndex
    from paperfeed.ranking import search

    spent: dict[str, float] = defaultdict(float)
    parts = {
        "embed query": (type(searcher.embedder), "embed_query"),
        "lexical search": (LexicalIndex, "search"),
        "lexical filter of dense hits": (LexicalIndex, "passing"),
        "graph search + rescoring": (VectorIndex, "search"),
        "feedback vectors + cosines": (VectorIndex, "vectors_of"),
        "feedback cosines": (VectorIndex, "cosines"),
        "cards": (search, "paper_cards"),
        "snippets": (LexicalIndex, "snippets"),
    }
    for label, (owner, name) in parts.items():
        setattr(owner, name, _timer(getattr(owner, name), label, spent))
    totals: dict[str, list[float]] = defaultdict(list)
    for query, _, filters, _ in queries:
        spent.clear()
        started = time.perf_counter()
        searcher.search(query, mode="hybrid", limit=20, filters=filters)
        spent["total"] = (time.perf_counter() - started) * 1000
        for label in [*parts, "total"]:
            totals[label].append(spent.get(label, 0.0))
    return {label: round(statistics.median(values), 2) for label, values in totals.items()}


def _timer(function, label: str, spent: dict):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += (time.perf_counter() - started) * 1000

    return timed


def _similar(searcher, count: int) -> tuple[dict, dict]:
    """Similar papers of random papers: the first visit (computed, then kept in the store, as
    for a paper the worker has not reached) and the second (the kept row read)."""
    query = select(papers.c.arxiv_id).order_by(func.random()).limit(count)
    with searcher.engine.connect() as conn:
        ids = list(conn.execute(query).scalars())
    visits = [[time_ms(partial(searcher.similar, key, limit=10))[0] for key in ids] for _ in "12"]
    return percentiles(visits[0]), percentiles(visits[1])


def _recall(index, embedder, texts: list[str]) -> dict:
    """Recall@10 of the graph search (as ``VectorIndex.search`` and as the hybrid's dense
    side asks: 200 from 400 candidates) against exact cosine over every stored row."""
    queries = np.stack([embedder.embed_query(text) for text in texts])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    stored = index._vectors  # the memory-mapped float16 rows, read a chunk at a time
    live = index._keys >= 0
    best = np.empty((len(queries), 0), np.int64)
    best_scores = np.empty((len(queries), 0), np.float32)
    for start in range(0, len(stored), CHUNK):
        scores = queries @ stored[start : start + CHUNK].astype(np.float32).T
        scores[:, ~live[start : start + CHUNK]] = -np.inf
        rows = np.argpartition(-scores, 9, axis=1)[:, :10] + start
        best = np.hstack([best, rows])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, rows - start, 1)])
        keep = np.argsort(-best_scores, axis=1)[:, :10]
        best, best_scores = (
            np.take_along_axis(best, keep, 1),
            np.take_along_axis(best_scores, keep, 1),
        )
    exact = [set(index._arxiv_ids[row].astype(str)) for row in best]
    found: dict[str, list[float]] = {"default": [], "hybrid_pool": []}
    for query, truth in zip(queries, exact, strict=True):
        found["default"].append(len(truth & {key for key, _ in index.search(query, 10)}) / 10)
        pool = index.search(query, 200, candidates=400)[:10]
        found["hybrid_pool"].append(len(truth & {key for key, _ in pool}) / 10)
    return {name: round(float(np.mean(values)), 4) for name, values in found.items()}


INDEX_RAM = """
import sys, numpy as np
from pathlib import Path
from paperfeed.index.dense import VectorIndex
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.query import parse_query

def rss():
    status = Path("/proc/self/status").read_text().split("\\n")
    fields = ("VmRSS", "RssAnon", "RssFile")
    return [next(int(l.split()[1]) for l in status if l.startswith(f)) // 1024 for f in fields]

before = rss()
folder = Path(sys.argv[1])
lexical = LexicalIndex.open(folder / "lexical")
dense = VectorIndex(folder / "dense", view=True)  # as LiveVectors opens it
rng = np.random.default_rng(0)
for words in ("neural networks", "quantum error correction", "graph attention") * 20:
    lexical.search(parse_query(words), limit=100)
    dense.search(rng.normal(size=dense.dim).astype(np.float32), 100)
print(*[after - start for after, start in zip(rss(), before)])
"""


def _index_ram(workdir: Path) -> dict:
    """Resident memory (MB) added by opening and searching the indexes (no model, no store):
    in all, the process's own ("anon") and pages of memory-mapped files (tantivy's, the graph,
    the float16 vectors), which the kernel can drop and read again."""
    command = [sys.executable, "-c", INDEX_RAM, str(workdir)]
    found = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(("rss", "anon", "file"), map(int, found), strict=True))


def _rss(field: str) -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith(field)) // 1024


def _print(report: dict) -> None:
    print(f"machine: {report['machine']}; {report['papers']:,} papers (scale {report['scale']})")
    print(f"vectors: {report['real_vectors']:,} real, the rest real + noise {report['noise']}")
    for stage, seconds in report["build_s"].items():
        shown = "(time not recorded)" if seconds is None else f"{seconds:>10,.1f} s"
        print(f"build {stage:<8} {shown}")
    for part, megabytes in report["disk_mb"].items():
        print(f"disk  {part:<12} {megabytes:>8,} MB")
    print(f"index RAM {report['index_ram_parts_mb']} MB; server RSS {report['server_rss_mb']:,} MB")
    print(f"recall@10 against exact search: {report['recall_at_10']}")
    print(f"{'mode':<8} {'p50 ms':>8} {'p99 ms':>8}   ({report['queries']} queries, 20 hits)")
    for mode, figures in report["latency_ms"].items():
        print(f"{mode:<8} {figures['p50']:>8.1f} {figures['p99']:>8.1f}")
    for mode, parts in report["latency_by_query_ms"].items():
        cells = ", ".join(f"{key} {value['p50']}/{value['p99']}" for key, value in parts.items())
        print(f"  {mode}: {cells}")
    first = report["similar_first_visit_ms"]
    print(f"similar, first visit (computed): p50 {first['p50']:.1f} p99 {first['p99']:.1f} ms")
    print(f"hybrid's parts, median ms: {report['hybrid_stages_ms']}")


def _mb(size: int) -> int:
    return round(size / 1e6)


def _size(folder: Path, pattern: str = "*") -> int:
    return sum(f.stat().st_size for f in folder.rglob(pattern) if f.is_file())


if __name__ == "__main__":
    main()
