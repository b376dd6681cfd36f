"""Load on the web app: locust users against `paperfeed serve --workers N` over loopback, with a
hello-world ASGI app under uvicorn measured the same way in the same run as the reference.

    pip install locust
    python bench/load.py [--json] [--seconds 20] [--users 10 50] [--workers 1 2]
        [--cases papers "paper page" search "api daily_papers"]
        [--database-url postgresql://USER:PASSWORD@HOST/DB]

Target (issue 18) on 2 cores: 0 errors; `/papers` and `/papers/<id>` >= 200 req/s with 2
workers at p99 <= 300 ms.

The store is the shared week sample (1,283 papers) imported into a temporary PAPERFEED_HOME and
indexed by words only (`paperfeed index --no-embed`: search is lexical, no model loaded); with
``--database-url`` the store is that PostgreSQL database instead of a SQLite file (give one
made for the bench: the import is idempotent, but the bench leaves the sample in it). Each
server (`paperfeed serve --workers N`, uvicorn's defaults, access log included; the reference:
`uvicorn load:hello --workers N`) runs in a subprocess on a free port of 127.0.0.1. Cases: the
newest day's page (`/papers`), a paper page (`/papers/<id>`, random ids of the sample), a
search (`/search?q=`, two random title words) and the JSON API (`/api/daily_papers`), at each
user count; ``--cases`` runs some of them (each named in full or by its first word, e.g.
``--cases paper`` for the paper page), the hello-world reference always. Users wait for nothing
between requests (a closed loop: req/s is what the server can answer, and latency grows with
users over req/s); locust's FastHttpUser in this process, which shares the 2 cores with the
server. Each case: users started at once, 3 s warm-up, then --seconds measured (at most 60).
Every non-2xx answer or broken connection is an error.

Recorded 2026-12-03, sixth session, on a quiet machine (nothing else running; the 2.8M build
of `bench/search_speed.py` paused), `python bench/load.py --cases papers paper --workers 2
--users 10 50 --seconds S --json`; hello 5052 / 5100 req/s (10 / 50 users):

    case            users   S=20: req/s  p50  p99 ms    S=60: req/s  p50  p99 ms   errors
    /papers           10          839.7   10     34           652.1   14     33        0
    /papers           50          930.4   44    190           869.5   53    170        0
    /papers/<id>      10          552.9   12     82           842.8    9     56        0
    /papers/<id>      50          469.0   89    320           755.5   56    220        0

Targets met at 60 s; at 20 s the paper page's p99 at 50 users is 320 ms. Visitors' paper and
day pages are now rendered once per version and kept whole (`web/render.visitor_page`: keyed
by the URL and the store's version, no CSRF token or session in them): in process a kept paper
page costs ~0.3 ms of server CPU, one made ~9 ms (its abstract's LaTeX read into text ~2.7 ms,
the template ~2, its similar cards ~1.2). This bench asks for random papers of 1,283, and each
worker keeps its own pages, so in 20 s about a third of the visits make a page: hence the
slower 20 s figures. The same command before the pages were kept (quiet machine): `/papers`
535.1 / 417.1 req/s (p99 61 / 290 ms), the paper page 209.4 / 232.9 (p99 160 / 470 ms).

Earlier runs, on a machine shared with other engineers' tests (load 2-19, so a fraction of
these figures): fifth session `/papers` 215 / 191 req/s and the paper page 96 / 108 (2 workers,
10 / 50 users) once similar papers were kept in the store; fourth session the paper page 91 /
150 when similar papers were fused on a worker's first visit; third session 186 / 203 before
similar-paper fusion, discussions and the cite box.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paperfeed.ranking.similar import refresh_similar
from paperfeed.services import Services
from paperfeed.settings import Settings

WARM_UP = 3.0
TARGET = {"rps": 200.0, "p99_ms": 300.0, "workers": 2, "cases": ("papers", "paper page")}
BENCH = Path(__file__).resolve().parent


async def hello(scope: dict[str, Any], receive: Callable, send: Callable) -> None:
    """The reference: the least an ASGI app can answer (lifespan events ignored)."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sample = BENCH.parents[1] / "shared" / "data" / "arxiv" / "arxiv_week_sample.jsonl"
    parser.add_argument("--data", type=Path, default=sample, help="JSON lines of papers")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured per case (<= 60)")
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--database-url", help="a PostgreSQL database to serve from")
    parser.add_argument(
        "--cases", nargs="+", help="paperfeed's cases to run (names or first words; default all)"
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= 60:
        parser.error("--seconds: more than 0, at most 60")
    papers = [json.loads(text) for text in args.data.read_text().splitlines() if text.strip()]
    cases = paper_cases(papers)
    if args.cases:
        try:
            cases = {name: cases[name] for name in chosen(args.cases, list(cases))}
        except KeyError as exc:
            parser.error(f"--cases: no case {exc} (cases: {', '.join(map(repr, cases))})")
    try:
        import locust  # noqa: F401 - gevent patches the process as soon as it is imported
    except ModuleNotFoundError:
        sys.exit("bench/load.py needs locust: pip install locust")
    from recommend import machine

    host = machine()  # the load average before this run adds its own
    store = "postgresql" if args.database_url else "sqlite"
    if not args.json:
        print(f"{host}; store: {store}")
    servers = {"hello": {"hello": lambda rng: "/"}, "paperfeed": cases}
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="paperfeed-load-") as home:
        env = {**os.environ, "PAPERFEED_HOME": home}
        if args.database_url:
            env["PAPERFEED_DATABASE_URL"] = args.database_url
        prepare_store(args.data, env)
        for workers, (server, cases) in itertools.product(args.workers, servers.items()):
            with serving(server, workers, env) as url:
                for users, (case, pick) in itertools.product(args.users, cases.items()):
                    figures = run_case(url, pick, users, args.seconds)
                    row = {"server": server, "case": case, "workers": workers, "users": users}
                    results.append(row | figures)
                    if not args.json:
                        print(line(results[-1]), flush=True)
    report = {"machine": host, "store": store, "seconds": args.seconds, "target": TARGET}
    report["cases"] = results
    report["targets_met"] = targets_met(results)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"targets met: {report['targets_met']}")


def paper_cases(papers: list[dict[str, Any]]) -> dict[str, Callable[[random.Random], str]]:
    """The pages asked for, each a function of a random generator to a path."""
    ids = [paper["id"] for paper in papers]
    words = sorted({w.lower() for p in papers for w in re.findall(r"[A-Za-z]{5,}", p["title"])})
    return {
        "papers": lambda rng: "/papers",
        "paper page": lambda rng: f"/papers/{rng.choice(ids)}",
        "search": lambda rng: f"/search?q={'+'.join(rng.sample(words, 2))}",
        "api daily_papers": lambda rng: "/api/daily_papers",
    }


def chosen(asked: list[str], names: list[str]) -> list[str]:
    """The case names ``asked`` for, in their order in ``names``: each named in full, or by
    its first word (``paper``: the paper page); raises KeyError naming one that is neither."""
    wanted = set()
    for word in asked:
        found = [name for name in names if word in (name, name.split()[0])]
        if not found:
            raise KeyError(word)
        wanted.update(found)
    return [name for name in names if name in wanted]


def prepare_store(data: Path, env: dict[str, str]) -> None:
    """The sample imported and indexed by words, and its similar papers computed as the worker
    computes them ahead (every paper of the sample is among the newest week's)."""
    for command in (["ingest", "jsonl", str(data)], ["index", "--no-embed"]):
        subprocess.run(
            [sys.executable, "-m", "paperfeed", *command], env=env, check=True, capture_output=True
        )
    services = Services.from_settings(Settings(home=Path(env["PAPERFEED_HOME"])))
    while refresh_similar(services.engine, services.lexical, None, limit=1000):
        pass
    services.engine.dispose()


@contextmanager
def serving(server: str, workers: int, env: dict[str, str]) -> Iterator[str]:
    """``server`` with ``workers`` processes on a free loopback port, until the block ends."""
    port = free_port()
    if server == "hello":
        command = ["-m", "uvicorn", "load:hello", "--app-dir", str(BENCH), "--port", str(port)]
    else:
        command = ["-m", "paperfeed", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        [sys.executable, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def wait_until_up(url: str, process: subprocess.Popen) -> None:
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server at {url} stopped at start-up (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url + "/", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server at {url} did not answer within 120 s")


def run_case(
    url: str, pick: Callable[[random.Random], str], users: int, seconds: float
) -> dict[str, Any]:
    """``users`` locust users asking for ``pick``'s paths without pause: req/s, p50/p99 ms and
    errors over ``seconds`` after the warm-up, and the load average when it began."""
    import gevent
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    class Visitor(FastHttpUser):
        host = url
        wait_time = constant(0)

        def on_start(self) -> None:
            self.rng = random.Random(id(self))

        @task
        def visit(self) -> None:
            self.client.get(pick(self.rng), name="page")

    env = Environment(user_classes=[Visitor])
    runner = env.create_local_runner()
    load = os.getloadavg()[0]
    runner.start(users, spawn_rate=users)
    gevent.sleep(WARM_UP)
    env.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(seconds)
    total = env.stats.total
    elapsed = time.monotonic() - started
    figures = {
        "rps": round(total.num_requests / elapsed, 1),
        "p50_ms": total.get_response_time_percentile(0.5),
        "p99_ms": total.get_response_time_percentile(0.99),
        "requests": total.num_requests,
        "errors": total.num_failures,
        "load_average": round(load, 1),
    }
    runner.quit()
    return figures


def targets_met(results: list[dict[str, Any]]) -> bool:
    """No errors anywhere, and the target pages fast enough with the target's workers."""
    aimed = [
        row
        for row in results
        if row["server"] == "paperfeed"
        and row["workers"] == TARGET["workers"]
        and row["case"] in TARGET["cases"]
    ]
    fast = all(r["rps"] >= TARGET["rps"] and r["p99_ms"] <= TARGET["p99_ms"] for r in aimed)
    return bool(aimed) and fast and not any(row["errors"] for row in results)


def line(row: dict[str, Any]) -> str:
    return (
        f"{row['server']:<9} {row['case']:<16} workers {row['workers']}  users {row['users']:>3}"
        f"  {row['rps']:>7.1f} req/s  p50 {row['p50_ms']:>5.0f} ms  p99 {row['p99_ms']:>5.0f} ms"
        f"  errors {row['errors']}  (load {row['load_average']})"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
