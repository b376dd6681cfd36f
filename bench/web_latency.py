"""Web page latency at scale: every page kind and its API twin, p50/p99 in the server.

    python bench/web_latency.py [--scale 1] [--requests 200] [--workdir DIR] [--json]
        [--database-url postgresql://USER:PASSWORD@HOST/DB]

Runs on the store of `bench/search_speed.py --scale K` (scale 1: 138,132 papers; 20: 2.73M;
real vectors for 10,000 of them, noisy copies for the rest), building whatever is missing with
its ``build_store``.
With ``--database-url`` the pages are served from that PostgreSQL database instead, built by
the same stages (the bulk files imported by `paperfeed ingest` unless it holds a completed
import, the same real and noisy vectors imported unless every paper has one), with its own
indexes under ``WORKDIR/postgresql``. The URLs asked for are read from the store served.
Requests go through the ASGI app in this process (``fastapi.testclient.TestClient``): server time
with the page rendered, no network. Search pages run the default hybrid mode (query embedding
included). A paper page's similar papers are computed on its first visit and kept in the store: the
days, papers and organisations asked for are the same on every run, so a first run measures paper
pages on first visits, later runs with their similar papers kept. The arXiv files name no
organisations and few DOIs: the bench gives ``ORGS`` organisations ``PER_ORG`` papers each and one
paper in ten a DOI, once (marked by the organisations), so that the organisation page and the
library's DOI match have something to find. The home feed and the Atom feed are those of one
account (made once, by an API token) that follows a category, an author of the newest day and a
search. Library matching (one reference by DOI, one by title, as an import of a reference file
does) is timed as a function call: its page needs a signed-in upload.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

from corpus import percentiles, time_ms
from fastapi.testclient import TestClient
from search_speed import CACHE, REAL, build_store, count_papers, sample_queries
from sqlalchemy import Engine, select, text

from paperfeed.index.embedders import make_embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.library.matching import match_references
from paperfeed.library.references import Reference
from paperfeed.ranking.following import search_target
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.accounts import create_token, create_user, find_user
from paperfeed.store.follows import feed_key, follow
from paperfeed.store.schema import FollowKind, organisations, papers
from paperfeed.web.app import create_app

ORGS, PER_ORG = 20, 100
FOLLOWER = "bench-follower@example.org"
FOLLOWED_CATEGORY, FOLLOWED_SEARCH = "cs.CL", "large language models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--scale", type=int, default=1, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--requests", type=int, default=200, help="requests per page (>= 2)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--database-url", help="a PostgreSQL database to serve from")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.requests < 2:
        parser.error("--requests: at least 2")
    workdir = args.workdir or CACHE / f"speed-x{args.scale}"
    folder = workdir / "postgresql" if args.database_url else workdir
    folder.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    report: dict = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "store": "postgresql" if args.database_url else "sqlite",
        "requests": args.requests,
    }
    say(f"machine: {report['machine']}; store: {report['store']}")
    engine, _ = build_store(args.data, args.scale, REAL, folder, say, args.database_url)
    report["papers"] = count_papers(engine)
    _add_organisations_and_dois(engine)
    searcher = _searcher(engine, folder, say)
    with tempfile.TemporaryDirectory() as home:  # the app's session key, nothing else
        services = Services.from_settings(
            Settings(home=Path(home)), engine=engine, searcher=searcher
        )
        with TestClient(create_app(services)) as client:
            kinds = (
                _requests(client, _pages(engine, args.requests))
                | _feeds(client, searcher, args.requests)
                | _matches(searcher, args.requests)
            )
            report |= _measure(kinds)
    if args.json:
        print(json.dumps(report))
    else:
        _print(report)


def _add_organisations_and_dois(engine: Engine) -> None:
    """Organisations for ``ORGS * PER_ORG`` random papers and DOIs for one paper in ten, unless
    the store has organisations already."""
    rng = random.Random(1)
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM organisations")).scalar_one():
            return
        ids = [row[0] for row in conn.execute(text("SELECT id FROM papers ORDER BY id"))]
        for number in range(ORGS):
            handle = f"bench-org-{number}"
            insert = "INSERT INTO organisations (handle, name) VALUES (:h, :h) RETURNING id"
            org = conn.execute(text(insert), {"h": handle}).scalar_one()
            chosen = [{"org": org, "paper": paper} for paper in rng.sample(ids, PER_ORG)]
            conn.execute(text("UPDATE papers SET organisation_id = :org WHERE id = :paper"), chosen)
        conn.execute(
            text(
                "UPDATE papers SET doi = '10.5555/Bench.' || arxiv_id"
                " WHERE doi IS NULL AND id % 10 = 0"
            )
        )


def _searcher(engine: Engine, folder: Path, say) -> Searcher:
    """The searcher over the indexes in ``folder``, the words index brought up to date with
    the store first (the organisations and DOIs just added)."""
    settings = Settings()
    lexical = LexicalIndex.open(folder / "lexical")
    took, _ = time_ms(lambda: lexical.update(engine))
    say(f"lexical index update: {took / 1000:,.1f} s")
    tuning = Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight)
    embedder = make_embedder(settings)
    return Searcher(engine, lexical, LiveVectors(folder / "dense"), embedder, tuning)


def _pages(engine: Engine, count: int) -> dict[str, list[str]]:
    """``count`` URLs per page: the feed, random announcement days, searches for titles and
    abstract openings of random papers, random papers."""
    rng = random.Random(0)
    with engine.connect() as conn:
        # in a set order: each run (and each store) asks for the same days, papers and
        # organisations, so a paper page's similar papers are kept from the first run on
        announced = select(papers.c.announced).where(papers.c.announced.is_not(None))
        days = list(conn.execute(announced.distinct().order_by(papers.c.announced)).scalars())
        listed = select(papers.c.arxiv_id).where(~papers.c.withdrawn).order_by(papers.c.id)
        ids = list(conn.execute(listed).scalars())
        handles = select(organisations.c.handle).order_by(organisations.c.handle)
        orgs = list(conn.execute(handles).scalars())
        # authors of random papers (an author page lists what one name wrote)
        names = list(conn.execute(text(_AUTHORS), {"n": count}).scalars())
    queries = [query for query, *_ in sample_queries(engine, count)]
    return {
        "/papers": ["/papers"] * count,
        "/papers/date/D": [f"/papers/date/{rng.choice(days)}" for _ in range(count)],
        "/papers/trending": ["/papers/trending"] * count,
        "/search?q=…": [f"/search?{urlencode({'q': q})}" for q in queries],
        "/papers/ID": [f"/papers/{rng.choice(ids)}" for _ in range(count)],
        "/org/H": [f"/org/{rng.choice(orgs)}" for _ in range(count)],
        "/author/N": [f"/author/{quote(name)}" for name in names],
        "/api/papers": ["/api/papers"] * count,
        "/api/daily_papers": [f"/api/daily_papers?date={rng.choice(days)}" for _ in range(count)],
        "/api/trending": ["/api/papers/trending"] * count,
        "/api/search": [f"/api/papers/search?{urlencode({'q': q})}" for q in queries],
        "/api/papers/ID": [f"/api/papers/{rng.choice(ids)}" for _ in range(count)],
    }


_AUTHORS = """SELECT a.name FROM paper_authors l JOIN authors a ON a.id = l.author_id
    WHERE l.position = 0 ORDER BY random() LIMIT :n"""


def _feeds(client: TestClient, searcher: Searcher, count: int) -> dict[str, list[Callable]]:
    """The home feed and the Atom feed of :data:`FOLLOWER` (made on the first run), who
    follows a category, the first author of a paper of the newest day, and a search."""
    engine = searcher.engine
    user = find_user(engine, FOLLOWER) or create_user(engine, FOLLOWER, "bench password")
    with engine.connect() as conn:
        author = conn.execute(text(_NEWEST_AUTHOR)).scalar_one()
    for kind, target in (
        (FollowKind.CATEGORY, FOLLOWED_CATEGORY),
        (FollowKind.AUTHOR, author),
        (FollowKind.SEARCH, search_target(FOLLOWED_SEARCH)),
    ):
        follow(engine, user["id"], kind, target)
    auth = {"Authorization": f"Bearer {create_token(engine, user['id'], 'bench')}"}
    atom = f"/feeds/{feed_key(engine, user['id'])}.atom"
    return _requests(client, {"/ (feed)": ["/"] * count}, auth) | _requests(
        client, {"/feeds/K.atom": [atom] * count}
    )


_NEWEST_AUTHOR = """SELECT a.name FROM paper_authors l JOIN authors a ON a.id = l.author_id
    JOIN papers p ON p.id = l.paper_id WHERE l.position = 0 AND p.announced IS NOT NULL
    ORDER BY p.announced DESC, p.id LIMIT 1"""


def _requests(
    client: TestClient, pages: dict[str, list[str]], headers: dict[str, str] | None = None
) -> dict[str, list[Callable]]:
    """Each URL as a call that fails the bench unless the page answers 200."""

    def get(url: str) -> Callable[[], int]:
        def call() -> int:
            response = client.get(url, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
            return len(response.content)

        return call

    return {name: [get(url) for url in urls] for name, urls in pages.items()}


def _matches(searcher: Searcher, count: int) -> dict[str, list[Callable]]:
    """Matching one reference to the store by DOI (case as the reference gives it) and by title
    (lower-cased, as reference managers often keep it)."""
    with searcher.engine.connect() as conn:
        query = "SELECT doi, title FROM papers WHERE doi IS NOT NULL ORDER BY random() LIMIT :n"
        rows = conn.execute(text(query), {"n": count}).all()

    def match(reference: Reference) -> Callable[[], int]:
        return lambda: len(match_references(searcher.engine, [reference]).matched)

    return {
        "match DOI": [match(Reference("doi", None, doi=doi.lower())) for doi, _ in rows],
        "match title": [match(Reference("title", title.lower())) for _, title in rows],
    }


def _measure(kinds: dict[str, list[Callable[[], int]]]) -> dict:
    """Each kind's calls timed: p50/p99 ms and the median size, a page's in KB, a match's the
    references it matched; the load average before and after."""
    for calls in kinds.values():  # first requests load the model, compile templates
        calls[0]()
    found: dict = {"load_average": {"start": round(os.getloadavg()[0], 2)}, "pages": {}}
    for name, calls in kinds.items():
        times, sizes = zip(*(time_ms(call) for call in calls), strict=True)
        size = statistics.median(sizes) / (1000 if name.startswith("/") else 1)
        found["pages"][name] = percentiles(times) | {"size": round(size, 1)}
    found["load_average"]["end"] = round(os.getloadavg()[0], 2)
    return found


def _print(report: dict) -> None:
    print(f"{report['papers']:,} papers; load average {report['load_average']['start']:.2f}")
    print(f"{'page':<18} {'p50 ms':>8} {'p99 ms':>8} {'size':>6}   ({report['requests']} each)")
    for name, figures in report["pages"].items():
        print(f"{name:<18} {figures['p50']:>8.1f} {figures['p99']:>8.1f} {figures['size']:>6.0f}")
    print(f"load average {report['load_average']['end']:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
