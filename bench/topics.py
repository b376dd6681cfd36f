"""Topics at scale: fit time and peak memory of a full refit, and the cost of placing new
papers between refits.

    python bench/topics.py [--json] [--sample 40000] [--store PATH]

On a copy of the 138,132-paper scale store (``~/.cache/paperfeed-bench/scale-indexes-x1``,
built by ``bench/search_speed.py``; every paper has its all-MiniLM-L6-v2 vector), migrated to
this checkout's schema: ``refit`` as ``paperfeed topics --rebuild`` runs it (read every vector,
UMAP + HDBSCAN on a sample of ``--sample`` papers, every paper placed by nearest centroid,
c-TF-IDF labels, stored in one transaction), timed, with the process's peak resident memory
(the vectors alone are 106 MB as float16); then 1,000 papers' places are forgotten and
``assign_new`` times placing them again, as the worker does daily.

Recorded 2026-12-03, 2 cores shared with five other jobs (load 5-7), sample 40,000 of 138,132
real all-MiniLM-L6-v2 vectors: 291 fine and 37 broad topics, 27.9 % of papers in no fine
topic; a refit 122 s and 196 s in two runs (of which ~40 s numba compiling UMAP, ~60-100 s
UMAP, ~30 s labels), peak resident memory 1,019 MB (77 MB before); placing new papers
0.34-0.46 s per 1,000. Largest fine topics: "reasoning, concise, difficulty-aware,
chain-of-thought" (2,752 papers), "atom, light, lasers, atomic" (1,768), "translation,
low-resource, multilingual, language" (1,684).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from paperfeed.index.topics import Params, assign_new, refit
from paperfeed.store.database import open_store
from paperfeed.store.schema import TopicLevel, paper_topics
from paperfeed.store.topics import count_unassigned, live_topics

STORE = Path.home() / ".cache" / "paperfeed-bench" / "scale-indexes-x1" / "store.db"
MODEL = "all-MiniLM-L6-v2"
NEW = 1_000


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    parser.add_argument("--sample", type=int, default=Params().sample, help="Papers clustered.")
    parser.add_argument("--store", type=Path, default=STORE, help="An embedded store to copy.")
    args = parser.parse_args()
    if not args.store.exists():
        sys.exit(f"{args.store} is missing: run bench/search_speed.py first to build it")
    with tempfile.TemporaryDirectory(prefix="topics-bench-") as workdir:
        copy = Path(workdir) / "store.db"
        shutil.copyfile(args.store, copy)
        figures = measure(open_store(f"sqlite:///{copy}"), Params(sample=args.sample))
    figures["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version[:6]}"
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for key, value in figures.items():
        print(f"{key:28} {value}")


def measure(engine: Any, params: Params) -> dict[str, Any]:
    before = peak_mb()
    started = time.perf_counter()
    report = refit(engine, MODEL, params, note=lambda text: print(text, file=sys.stderr))
    fit_seconds = time.perf_counter() - started
    assert report is not None
    fine = sorted(live_topics(engine, MODEL, TopicLevel.FINE), key=lambda t: -t.size)
    broad = sorted(live_topics(engine, MODEL, TopicLevel.BROAD), key=lambda t: -t.size)
    with engine.begin() as conn:
        newest = conn.execute(
            select(paper_topics.c.paper_id).distinct().order_by(paper_topics.c.paper_id.desc())
        ).scalars()
        forgotten = [next(newest) for _ in range(NEW)]
        conn.execute(delete(paper_topics).where(paper_topics.c.paper_id.in_(forgotten)))
    assert count_unassigned(engine, MODEL) == NEW
    started = time.perf_counter()
    placed = assign_new(engine, MODEL)
    assign_seconds = time.perf_counter() - started
    return {
        "papers": report.papers,
        "sample": min(params.sample, report.papers),
        "broad_topics": report.broad,
        "fine_topics": report.fine,
        "unassigned_share": round(report.unassigned / report.papers, 3),
        "fit_seconds": round(fit_seconds, 1),
        "peak_memory_mb": round(peak_mb()),
        "memory_before_fit_mb": round(before),
        "assign_seconds_per_1000": round(assign_seconds * 1000 / placed, 3),
        "largest_fine_topics": [f"{t.size}: {', '.join(t.label[:4])}" for t in fine[:8]],
        "largest_broad_topics": [f"{t.size}: {', '.join(t.label[:4])}" for t in broad[:5]],
    }


if __name__ == "__main__":
    main()
