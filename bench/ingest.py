"""Ingestion benchmark: papers/second and peak memory of `paperfeed ingest jsonl`, on SQLite or
PostgreSQL.

    python bench/ingest.py [--data ../shared/data/arxiv] [--scales 1 2 4] [--json]
        [--database-url postgresql://USER:PASSWORD@HOST/DB]

Scale 1 imports the four bulk files as they are (138,132 unique papers); scale k imports
them k times over, each copy with new ids (the first digit of the id's number replaced), to
show that memory stays flat as the input grows. Every import runs in a fresh process on a
fresh store and is then run again, which must report 0 new and 0 updated. The store is a
SQLite file, or with ``--database-url`` a database this bench creates on that PostgreSQL
server for each scale (named after the URL's database with ``_x<scale>``; the URL's own
database is only connected to) and drops at the end.

Besides wall time the bench gives the CPU seconds of the import process and, when the
PostgreSQL server runs on this machine, of its server process (read from ``/proc``): on a
shared machine the wall time depends on what else runs, papers per CPU second much less.
Disk is the SQLite file (with its write-ahead log) or ``pg_database_size``.
Targets (issue #2, #14): >= 3,000 papers/s and <= 500 MB peak RSS on a 2-core machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from paperfeed.store.database import normalise_url

BULK = (
    "arxiv_dailyfeed_dw-dengwei_2025-03_2026-07.jsonl.gz",
    "arxiv_csai_daydayarxiv_2025-05_2026-02.jsonl.gz",
    "arxiv_quantph_oaidc_rocksonchang_1992-2009_2016.jsonl.gz",
    "arxiv_math_dailyfeed_LeeMath-lzu_2025-11_2026-08.jsonl.gz",
)
REPORT = re.compile(r"([\d,]+) records in .*?: ([\d,]+) new, ([\d,]+) updated, ([\d,]+) unchanged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=default, help="folder of the bulk files")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", help="a PostgreSQL server to import into")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    files = [args.data / name for name in BULK]
    host = f"{os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}"
    store = "postgresql" if args.database_url else "sqlite"
    if not args.json:
        print(f"machine: {host}; store: {store}; load average {os.getloadavg()[0]:.1f}")
        header = ("scale", "papers", "seconds", "papers/s", "CPU s", "server", "peak MB", "disk MB")
        print("{:>5} {:>9} {:>8} {:>9} {:>6} {:>6} {:>8} {:>8}   re-run".format(*header))
    rows = []
    with tempfile.TemporaryDirectory(prefix="paperfeed-bench-") as tmp:
        for scale in args.scales:
            inputs = files if scale == 1 else [replicate(files, scale, Path(tmp))]
            with _store(args.database_url, scale, Path(tmp)) as url:
                rows.append(_measure(scale, inputs, url))
            if not args.json:
                print(_line(rows[-1]), flush=True)
    if args.json:
        print(json.dumps({"machine": host, "store": store, "scales": rows}, indent=2))


@contextmanager
def _store(server: str | None, scale: int, folder: Path) -> Iterator[str]:
    """The URL of a fresh store for ``scale``: a SQLite file, or a database made on ``server``
    (dropped when the block ends)."""
    if not server:
        yield f"sqlite:///{folder / f'scale{scale}.db'}"
        return
    url = make_url(normalise_url(server))
    name = f"{url.database}_x{scale}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _measure(scale: int, inputs: list[Path], url: str) -> dict[str, Any]:
    first = _ingest(inputs, url)
    again = _ingest(inputs, url)
    new = first["new"]
    return {
        "scale": scale,
        "papers": new,
        "seconds": round(first["seconds"], 1),
        "papers_per_s": round(new / first["seconds"]),
        "cpu_s": round(first["cpu_s"], 1),
        "server_cpu_s": first["server_cpu_s"],
        "peak_rss_mb": round(first["peak_rss_mb"]),
        "disk_mb": round(_disk(url) / 1e6),
        "rerun": {
            "new": again["new"],
            "updated": again["updated"],
            "seconds": round(again["seconds"], 1),
        },
        "load_average": round(os.getloadavg()[0], 1),
    }


def _ingest(inputs: list[Path], url: str) -> dict[str, Any]:
    """Run the CLI in a child process: its report's counts, wall and CPU time, peak RSS."""
    env = {**os.environ, "PAPERFEED_DATABASE_URL": url}
    command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl", *map(str, inputs)]
    started = time.perf_counter()
    with _server_cpu(url) as server:
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        output = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0 or not (match := REPORT.search(output)):
        sys.exit(f"import failed ({status}): {output}")
    records, new, updated, _ = (int(figure.replace(",", "")) for figure in match.groups())
    return {
        "records": records,
        "new": new,
        "updated": updated,
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "server_cpu_s": round(sum(server.values()), 1) if server else None,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


@contextmanager
def _server_cpu(url: str) -> Iterator[dict[int, float]]:
    """CPU seconds by process of the local PostgreSQL backends serving ``url``'s database,
    sampled while the block runs (a backend's figures vanish with it); empty for SQLite or a
    server elsewhere."""
    seen: dict[int, float] = {}
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "postgresql" or parsed.host not in ("localhost", "127.0.0.1"):
        yield seen
        return
    done = threading.Event()
    tick = os.sysconf("SC_CLK_TCK")

    def sample() -> None:
        while not done.wait(0.2):
            for pid, fields in _backends(f" {parsed.database} "):
                seen[pid] = (int(fields[11]) + int(fields[12])) / tick

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield seen
    finally:
        done.set()
        sampler.join()


def _backends(database: str) -> Iterator[tuple[int, list[str]]]:
    """(pid, /proc stat fields after the name) of the postgres processes serving ``database``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if title.startswith("postgres: ") and database in title + " ":
                yield int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


def _disk(url: str) -> int:
    """Bytes the store takes on disk."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        db = Path(parsed.database or "")
        return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    engine = create_engine(parsed)
    with engine.connect() as conn:
        size: int = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return size


def _line(row: dict[str, Any]) -> str:
    server = row["server_cpu_s"]
    rerun = row["rerun"]
    return (
        f"{row['scale']:>5} {row['papers']:>9,} {row['seconds']:>8.1f} {row['papers_per_s']:>9,}"
        f" {row['cpu_s']:>6.1f} {'-' if server is None else f'{server:.1f}':>6}"
        f" {row['peak_rss_mb']:>8} {row['disk_mb']:>8,}"
        f"   {rerun['new']} new, {rerun['updated']} updated (load {row['load_average']})"
    )


def replicate(files: list[Path], scale: int, folder: Path) -> Path:
    """The bulk files ``scale`` times over, copies with new ids, as one JSON-lines file."""
    target = folder / f"bulk_x{scale}.jsonl"
    with target.open("wb") as out:
        for copy in range(scale):
            for file in files:
                with gzip.open(file, "rb") as lines:
                    for line in lines:
                        row = orjson.loads(line)
                        row["id"] = renumber(row["id"], copy)
                        out.write(orjson.dumps(row) + b"\n")
    return target


def renumber(arxiv_id: str, copy: int) -> str:
    """Copy 0 keeps its id; copy c = 8a + b (up to 39) gets digits no real id has. With b > 0
    the first digit: new-style ids (YYMM.NNNNN, 2007 on) start with 0-2, so 2 + b;
    old-style numbers (YYMMNNN, 1991-2007) start with 9 or 0, so b. With a > 0 the month's
    first digit m (0 or 1 in every real id) becomes 2a + m (2-9)."""
    if copy == 0:
        return arxiv_id
    high, low = divmod(copy, 8)
    if not 0 <= high <= 4:
        raise ValueError("at most 40 copies (scale 40) keep replicated ids distinct")
    prefix, _, number = arxiv_id.rpartition("/")
    digits = list(number if prefix else arxiv_id)
    if low:
        digits[0] = str(low) if prefix else str(2 + low)
    if high:
        digits[2] = str(2 * high + int(digits[2]))
    return f"{prefix}/{''.join(digits)}" if prefix else "".join(digits)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
