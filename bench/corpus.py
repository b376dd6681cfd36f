"""What the benches share: a corpus's store and indexes in a workdir, built or brought up to
date; timing calls and their percentiles."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from paperfeed.index.dense import VectorIndex, embed_pending
from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import Embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.ingest.pipeline import ingest
from paperfeed.settings import Settings
from paperfeed.sources.base import Source
from paperfeed.store.database import open_store

T = TypeVar("T")


def index_corpus(
    workdir: Path, source: Source, settings: Settings
) -> tuple[Engine, LexicalIndex, Embedder, VectorIndex]:
    """Ingest ``source`` into ``workdir``'s store, update its lexical index, embed what is
    not embedded yet (timed on stderr) and update its vector index; all resume."""
    engine = open_store(f"sqlite:///{workdir / 'store.db'}")
    ingest(engine, source)
    lexical = LexicalIndex.open(workdir / "lexical")
    lexical.update(engine)
    embedder = make_embedder(settings)
    started = time.perf_counter()
    embedded = embed_pending(engine, embedder, batch_size=settings.embedding_batch_size)
    if embedded:
        seconds = time.perf_counter() - started
        print(f"embedded {embedded:,} papers in {seconds:.0f} s", file=sys.stderr)
    vectors = VectorIndex(workdir / "dense")
    vectors.update(engine, embedder.model)
    return engine, lexical, embedder, vectors


def time_ms(call: Callable[[], T]) -> tuple[float, T]:
    """The milliseconds ``call`` took, and what it returned."""
    started = time.perf_counter()
    value = call()
    return (time.perf_counter() - started) * 1000, value


def percentiles(times: Sequence[float]) -> dict[str, float]:
    """The median and 99th percentile of ``times`` and how many there are."""
    p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
    return {"p50": round(statistics.median(times), 2), "p99": round(p99, 2), "n": len(times)}
