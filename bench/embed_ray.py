"""Embedding on Ray against in-process: documents/s through `embed_pending`, and what a round
costs besides embedding.

    python bench/embed_ray.py [--papers 1000] [--address local] [--workers N] [--gpus G] [--json]

The first PAPERS real abstracts go into a fresh SQLite store and are embedded twice with the
configured model (`Settings()`: backend, model, model folder): in this process, in batches of
`embedding_commit_size` as `paperfeed index` does, and on Ray workers (a local instance of
`--cpus` CPUs for `--address local`) in rounds of `RayEmbedder.round_size`. The round cost is
the time of a one-text round on Ray less that of one text in this process (the median of 20).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import numpy as np
import ray
from sqlalchemy import Engine

from paperfeed.index.dense import embed_pending
from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import Embedder
from paperfeed.ingest.pipeline import ingest
from paperfeed.services import ray_embedder
from paperfeed.settings import Settings
from paperfeed.sources.jsonl import jsonl_source
from paperfeed.store.database import open_store
from paperfeed.store.vectors import load_vectors, vector_fingerprints

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
ABSTRACTS = DATA / "arxiv_dailyfeed_dw-dengwei_2025-03_2026-07.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--address", default="local")
    parser.add_argument("--cpus", type=int, default=2, help="of a local Ray instance")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--gpus", type=float, default=0.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="paperfeed-ray-") as tmp:
        papers = Path(tmp) / "papers.jsonl"
        with gzip.open(ABSTRACTS, "rt") as lines:
            papers.write_text("".join(islice(lines, args.papers)))
        here_store, ray_store = (open_store(f"sqlite:///{tmp}/{n}.db") for n in ("here", "ray"))
        for engine in (here_store, ray_store):
            ingest(engine, jsonl_source([papers]))

        here = make_embedder(settings)
        here.embed_query("load the model")
        here_rate = _rate(here_store, here, settings.embedding_commit_size)
        one = statistics.median(_timed(here.embed_documents, ["one text"]) for _ in range(20))

        if args.address == "local":  # ray_embedder would start one of all the CPUs
            ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        started = time.perf_counter()
        with ray_embedder(settings, args.address, gpus=args.gpus, workers=args.workers) as pool:
            pool.embed_documents(["warm up"] * pool.workers * pool.batch_size)  # a batch each
            startup = time.perf_counter() - started
            ray_rate = _rate(ray_store, pool, pool.round_size)
            rounds = [_timed(pool.embed_documents, ["one text"]) for _ in range(20)]
            workers, round_size = pool.workers, pool.round_size
        ray.shutdown()
        cosine = _min_cosine(here_store, ray_store, here.model)

    result = {
        "papers": args.papers,
        "backend": settings.embedding_backend,
        "model": here.model,
        "in_process_docs_per_s": round(here_rate, 1),
        "ray_docs_per_s": round(ray_rate, 1),
        "ray_workers": workers,
        "ray_round_size": round_size,
        "ray_startup_s": round(startup, 2),
        "ray_round_overhead_ms": round(1000 * (statistics.median(rounds) - one), 1),
        "min_cosine_ray_vs_in_process": round(cosine, 6),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:30} {value}")


def _rate(engine: Engine, embedder: Embedder, batch_size: int) -> float:
    started = time.perf_counter()
    done = embed_pending(engine, embedder, batch_size=batch_size)
    return done / (time.perf_counter() - started)


def _timed(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> float:
    started = time.perf_counter()
    embed(texts)
    return time.perf_counter() - started


def _min_cosine(here_store: Engine, ray_store: Engine, model: str) -> float:
    """The lowest cosine between the two stores' vectors of one paper (float16 stored)."""
    here, there = (_vectors(engine, model) for engine in (here_store, ray_store))
    return min(float(vector @ there[arxiv_id]) for arxiv_id, vector in here.items())


def _vectors(engine: Engine, model: str) -> dict[str, np.ndarray]:
    ids, _ = vector_fingerprints(engine, model)
    return {
        arxiv_id: vector
        for batch in load_vectors(engine, model, ids)
        for arxiv_id, vector in zip(batch.arxiv_ids, batch.vectors, strict=True)
    }


if __name__ == "__main__":
    main()
