"""Ingestion benchmark: papers/second and peak memory of `paperfeed ingest jsonl` into SQLite.

    python bench/ingest.py [--data ../shared/data/arxiv] [--scales 1 2 4]

Scale 1 imports the four bulk files as they are (138,132 unique papers); scale k imports
them k times over, each copy with new ids (the first digit of the id's number replaced), to
show that memory stays flat as the input grows. Every import runs in a fresh process on a
fresh SQLite store and is then run again, which must report 0 new and 0 updated.
Targets (issue #2): >= 3,000 papers/s and <= 500 MB peak RSS on a 2-core machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

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
    args = parser.parse_args()
    files = [args.data / name for name in BULK]
    cpu = _cpu_model()
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    header = ("scale", "papers", "seconds", "papers/s", "peak MB", "re-run")
    print("{:>5} {:>9} {:>8} {:>9} {:>8}   {}".format(*header))
    with tempfile.TemporaryDirectory(prefix="paperfeed-bench-") as tmp:
        for scale in args.scales:
            inputs = files if scale == 1 else [replicate(files, scale, Path(tmp))]
            _measure(scale, inputs, Path(tmp) / f"scale{scale}.db")


def _measure(scale: int, inputs: list[Path], db: Path) -> None:
    first, seconds, peak = _ingest(inputs, db)
    again, _, _ = _ingest(inputs, db)
    new = int(first[1].replace(",", ""))
    print(
        f"{scale:>5} {new:>9,} {seconds:>8.1f} {new / seconds:>9,.0f} {peak:>8.0f}"
        f"   {again[1]} new, {again[2]} updated"
    )


def _ingest(inputs: list[Path], db: Path) -> tuple[tuple[str, ...], float, float]:
    """Run the CLI in a child process; return its report figures, wall time and peak RSS."""
    env = {**os.environ, "PAPERFEED_DATABASE_URL": f"sqlite:///{db}"}
    command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl", *map(str, inputs)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0 or not (match := REPORT.search(output)):
        sys.exit(f"import failed ({status}): {output}")
    return match.groups(), seconds, usage.ru_maxrss / 1024


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
