"""How long the command line takes to answer when it runs no command.

    python bench/cli_start.py [--json] [--runs 10]

Times `paperfeed --help`, `paperfeed search --help` and a mistyped command, each a fresh
interpreter (`python -m paperfeed`), --runs times after one warm-up, against two floors: Python
starting with nothing to do and Python importing click. Commands import the store, indexes
and models only when they run (tests/test_cli.py checks which modules load), so the answer
takes Python, click and rich: the target is under 0.5 s.

Recorded 2026-12-03, 2 AMD EPYC cores shared with other jobs (load 2.4), Python 3.11.7;
median of 10 runs, seconds, and before commands imported lazily (median of 5):

                                 now  before
    python -c pass              0.08
    python -c "import click"    0.08
    paperfeed --help            0.25    1.94
    paperfeed search --help     0.23    2.05
    paperfeed serach            0.20    2.19
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": ["-c", "pass"],
    'python -c "import click"': ["-c", "import click"],
    "paperfeed --help": ["-m", "paperfeed", "--help"],
    "paperfeed search --help": ["-m", "paperfeed", "search", "--help"],
    "paperfeed serach": ["-m", "paperfeed", "serach"],
}


def seconds(args: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` runs of ``python ARGS`` (after one warm-up)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = {}
    for name, case in CASES.items():
        times = seconds(case, args.runs)
        figures[name] = {
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "max_s": round(max(times), 3),
        }
    if args.json:
        print(json.dumps({"runs": args.runs, "cases": figures}))
        return
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'':30} {'median':>7} {'min':>7} {'max':>7}  (s, {args.runs} runs)")
    for name, row in figures.items():
        print(f"{name:30} {row['median_s']:7.3f} {row['min_s']:7.3f} {row['max_s']:7.3f}")


if __name__ == "__main__":
    main()
