"""Crash test: SIGKILL the import of the four bulk files half-way, run it again, and compare
the store with one from an uninterrupted run.

    python bench/kill_resume.py [--data ../shared/data/arxiv] [--at 0.5]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest import BULK

PAPER_COLUMNS = (
    "arxiv_id, version, title, abstract, authors, categories, primary_category, published,"
    " updated, announced, doi, journal_ref, comments, license, links, upvotes, withdrawn,"
    " source, first_seen, last_seen"
)
AUTHOR_LINKS = (
    "SELECT p.arxiv_id, pa.position, a.name FROM paper_authors pa"
    " JOIN papers p ON p.id = pa.paper_id JOIN authors a ON a.id = pa.author_id"
    " ORDER BY p.arxiv_id, pa.position"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--at", type=float, default=0.5, help="fraction of records to kill at")
    args = parser.parse_args()
    files = [args.data / name for name in BULK]
    total = sum(1 for f in files for _ in _lines(f))
    with tempfile.TemporaryDirectory(prefix="paperfeed-kill-") as tmp:
        killed, reference = Path(tmp) / "killed.db", Path(tmp) / "reference.db"
        done = _kill_at(files, killed, int(total * args.at))
        print(f"killed (SIGKILL) after {done:,} of {total:,} records were committed")
        print("re-run:        " + _run(files, killed).strip())
        print("uninterrupted: " + _run(files, reference).strip())
        same = _digest(killed) == _digest(reference)
        print(f"same store as the uninterrupted run: {'yes' if same else 'NO'}")
        sys.exit(0 if same else 1)


def _command(files: list[Path], db: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PAPERFEED_DATABASE_URL": f"sqlite:///{db}"}
    return [sys.executable, "-m", "paperfeed", "ingest", "jsonl", *map(str, files)], env


def _run(files: list[Path], db: Path) -> str:
    command, env = _command(files, db)
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def _kill_at(files: list[Path], db: Path, records: int) -> int:
    command, env = _command(files, db)
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    while (done := _committed(db)) < records and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return done


def _committed(db: Path) -> int:
    """Records the running import has committed (its run's counters)."""
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT new + updated + unchanged + rejected FROM ingest_runs"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return row[0] if row else 0


def _digest(db: Path) -> str:
    """A hash of every paper's content and its ordered author links."""
    sha = hashlib.sha256()
    with sqlite3.connect(db) as conn:
        for query in (f"SELECT {PAPER_COLUMNS} FROM papers ORDER BY arxiv_id", AUTHOR_LINKS):
            for row in conn.execute(query):
                sha.update(json.dumps(row).encode())
    return sha.hexdigest()


def _lines(path: Path):
    with gzip.open(path, "rb") as fh:
        yield from fh


if __name__ == "__main__":
    main()
