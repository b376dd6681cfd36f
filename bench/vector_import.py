"""Importing precomputed vectors from Parquet: time and peak memory as the file grows.

    python bench/vector_import.py [--rows 200000] [--dim 384] [--json]

The store holds the DayDayArXiv bulk file (36,949 papers, ingested once by `paperfeed
ingest` into the work folder). Parquet files of rows/8, rows/2 and rows rows hold every
paper's id (with a version) first, then made-up ids not in the store, and random float32
vectors. Each file is imported by `paperfeed index --import-vectors`'s code path
(`import_vectors`) in a fresh process, into a fresh copy of the store; the process reports
its resident memory before the import and its peak (VmHWM) after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import platformdirs
import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
BULK = "arxiv_csai_daydayarxiv_2025-05_2026-02.jsonl.gz"
MODEL = "all-MiniLM-L6-v2"

CHILD = """
import json, resource, sys, time
from pathlib import Path
from paperfeed.store.database import open_store
from paperfeed.store.vectors import import_vectors
import pyarrow.parquet

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

engine = open_store(sys.argv[1])
before = rss("VmRSS")
started = time.perf_counter()
report = import_vectors(engine, sys.argv[3], Path(sys.argv[2]), made_by=sys.argv[3])
print(json.dumps({
    "seconds": round(time.perf_counter() - started, 1),
    "rss_before_mb": round(before), "peak_rss_mb": round(rss("VmHWM")),
    "imported": report.imported, "unknown": report.unknown.count,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    workdir = args.workdir or Path(platformdirs.user_cache_dir("paperfeed-bench")) / "vectors"
    workdir.mkdir(parents=True, exist_ok=True)
    store = _store(workdir / "store.db")
    ids = _store_ids(store)
    results = []
    for rows in (args.rows // 8, args.rows // 2, args.rows):
        path = _parquet(workdir / f"vectors-{rows}-{args.dim}.parquet", ids, rows, args.dim)
        copy = workdir / "import.db"
        shutil.copy(store, copy)
        command = [sys.executable, "-c", CHILD, f"sqlite:///{copy}", str(path), MODEL]
        run = subprocess.run(command, check=True, capture_output=True, text=True)
        result = {"rows": rows, "file_mb": round(path.stat().st_size / 1e6)}
        results.append(result | json.loads(run.stdout))
        copy.unlink()
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "store_papers": len(ids), "runs": results}))
        return
    print(f"machine: {machine}; store: {len(ids):,} papers; vectors of {args.dim} float32")
    for r in results:
        print(
            f"{r['rows']:>9,} rows ({r['file_mb']:,} MB): {r['imported']:,} imported, "
            f"{r['unknown']:,} unknown, {r['seconds']} s, RSS {r['rss_before_mb']} MB before, "
            f"peak {r['peak_rss_mb']} MB"
        )


def _store(db: Path) -> Path:
    if not db.exists():
        env = {**os.environ, "PAPERFEED_DATABASE_URL": f"sqlite:///{db}"}
        command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl", str(DATA / BULK)]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return db


def _store_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT arxiv_id FROM papers ORDER BY id")]


def _parquet(path: Path, ids: list[str], rows: int, dim: int) -> Path:
    """``rows`` rows: the store's ids (versioned) first, then ids of no paper in the store."""
    if path.exists():
        return path
    made_up = [f"{9910 + n // 99_999}.{n % 99_999 + 1:05d}" for n in range(rows - len(ids))]
    names = [f"{i}v1" for i in ids[:rows]] + made_up
    rng = np.random.default_rng(0)
    kind = pa.list_(pa.float32(), dim)
    with pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("embedding", kind)])) as out:
        for start in range(0, rows, 10_000):
            part = names[start : start + 10_000]
            values = pa.array(rng.standard_normal(len(part) * dim, dtype=np.float32))
            vectors = pa.FixedSizeListArray.from_arrays(values, dim)
            out.write_table(pa.table({"id": part, "embedding": vectors}))
    return path


if __name__ == "__main__":
    main()
