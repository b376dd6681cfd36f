"""Web page latency at scale: every page kind and its API twin, p50/p99 in the server.

    python bench/web_latency.py [--requests 200] [--workdir DIR]
        [--database-url postgresql://USER:PASSWORD@HOST/DB]

Runs on the scale-1 store of `bench/search_speed.py` (138,132 papers; real vectors for 10,000
of them, noisy copies for the rest), building whatever is missing with its helpers; a store
made before authors were linked to papers (empty ``paper_authors``) is rebuilt. With
``--database-url`` the pages are served from that PostgreSQL database instead, the same bulk
files imported into it by `paperfeed ingest` if it has no papers, the same vectors imported,
its own indexes under ``WORKDIR/postgresql``; the SQLite store is still built, as the source of
the URLs asked for (the same for both stores) and of the vectors. Requests go
through the ASGI app in this process (``fastapi.testclient.TestClient``): server time with the
page rendered, no network. Search pages run the default hybrid mode (query embedding included).
The arXiv files name no organisations and few DOIs: the bench gives ``ORGS`` organisations
``PER_ORG`` papers each and one paper in ten a DOI, once (marked by the organisations), so that
the organisation page and the library's DOI match have something to find. The home feed and
the Atom feed are those of one account (made once, by an API token) that follows a category,
an author of the newest day and a search. Library matching
(one reference by DOI, one by title, as an import of a reference file does) is timed as a
function call: its page needs a signed-in upload.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

import platformdirs
from fastapi.testclient import TestClient
from ingest import BULK
from search_speed import _store, _timed, _vectors, sample_queries
from sqlalchemy import Engine, text

from paperfeed.index.dense import VectorIndex
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
from paperfeed.store.database import open_store
from paperfeed.store.follows import feed_key, follow
from paperfeed.store.schema import FollowKind
from paperfeed.store.vectors import count_to_embed, import_vectors
from paperfeed.web.app import create_app

REAL = 10_000  # papers embedded for real, as search_speed.py's default
ORGS, PER_ORG = 20, 100
FOLLOWER = "bench-follower@example.org"
FOLLOWED_CATEGORY, FOLLOWED_SEARCH = "cs.CL", "large language models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv"
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--database-url", help="a PostgreSQL database to serve from")
    args = parser.parse_args()
    workdir = args.workdir or Path(platformdirs.user_cache_dir("paperfeed-bench")) / "speed-x1"
    workdir.mkdir(parents=True, exist_ok=True)
    store = "postgresql" if args.database_url else "sqlite"
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; store: {store}")
    db = workdir / "store.db"
    _drop_outdated(workdir, db)
    count = _timed("store (imported if missing)", lambda: _store(args.data, 1, db))
    print(f"  {count:,} papers")
    if args.database_url:
        engine = open_store(args.database_url)
        count = _timed("PostgreSQL store (imported if empty)", lambda: _fill(engine, args.data))
        print(f"  {count:,} papers")
        folder = workdir / "postgresql"
    else:
        engine, folder = open_store(f"sqlite:///{db}"), workdir
    _add_organisations_and_dois(engine)
    searcher = _searcher(engine, folder, workdir, db)
    with tempfile.TemporaryDirectory() as home:  # the app's session key, nothing else
        services = Services.from_settings(
            Settings(home=Path(home)), engine=searcher.engine, searcher=searcher
        )
        app = create_app(services)
        with TestClient(app) as client:
            _measure(
                _requests(client, _pages(db, args.requests))
                | _feeds(client, searcher, args.requests)
                | _matches(searcher, args.requests)
            )


def _drop_outdated(workdir: Path, db: Path) -> None:
    """Remove a store made before ``paper_authors`` was filled, and the indexes built from it
    (the vectors file stays: it is keyed by arXiv id)."""
    if not db.exists():
        return
    with sqlite3.connect(db) as conn:
        papers, links = (
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("papers", "paper_authors")
        )
    if papers and not links:
        print("the store was made by an older version (no paper_authors): rebuilding it")
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
        for folder in ("lexical", "dense"):
            shutil.rmtree(workdir / folder, ignore_errors=True)


def _fill(engine: Engine, data: Path) -> int:
    """The papers of ``engine``'s store, the bulk files imported by the CLI if it has none."""
    with engine.connect() as conn:
        if count := conn.execute(text("SELECT count(*) FROM papers")).scalar_one():
            return int(count)
    env = {**os.environ, "PAPERFEED_DATABASE_URL": engine.url.render_as_string(False)}
    command = [sys.executable, "-m", "paperfeed", "ingest", "jsonl"]
    subprocess.run([*command, *(str(data / name) for name in BULK)], env=env, check=True)
    return _fill(engine, data)


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


def _searcher(engine: Engine, folder: Path, workdir: Path, db: Path) -> Searcher:
    """The searcher over the indexes in ``folder``, each brought up to date with the store
    first; vectors from the bench's file (made from the SQLite store ``db`` if missing)."""
    settings = Settings()
    embedder = make_embedder(settings)
    lexical = LexicalIndex.open(folder / "lexical")
    _timed("lexical index update", lambda: lexical.update(engine))
    if count_to_embed(engine, embedder.model):
        vectors_file = _vectors(None, db, embedder, REAL, workdir)
        _timed("vector import", lambda: import_vectors(engine, embedder.model, vectors_file))
    dense = VectorIndex(folder / "dense")
    _timed("vector index update", lambda: dense.update(engine, embedder.model))
    tuning = Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight)
    return Searcher(engine, lexical, LiveVectors(folder / "dense"), embedder, tuning)


def _pages(db: Path, count: int) -> dict[str, list[str]]:
    """``count`` URLs per page: the feed, random announcement days, searches for titles and
    abstract openings of random papers, random papers."""
    rng = random.Random(0)
    with sqlite3.connect(db) as conn:
        query = "SELECT DISTINCT announced FROM papers WHERE announced IS NOT NULL"
        days = [row[0] for row in conn.execute(query)]
        ids = [r[0] for r in conn.execute("SELECT arxiv_id FROM papers WHERE NOT withdrawn")]
        orgs = [r[0] for r in conn.execute("SELECT handle FROM organisations")]
        # authors of random papers (an author page lists what one name wrote)
        names = [r[0] for r in conn.execute(_AUTHORS, (count,))]
    queries = sample_queries(db, count)
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
    WHERE l.position = 0 ORDER BY random() LIMIT ?"""


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


def _measure(kinds: dict[str, list[Callable[[], int]]]) -> None:
    """Time each call; a page's size is its KB, a match's the references it matched."""
    for calls in kinds.values():  # first requests load the model, compile templates
        calls[0]()
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the start")
    print(f"{'page':<18} {'p50 ms':>8} {'p99 ms':>8} {'size':>6}   ({len(calls)} requests each)")
    for name, calls in kinds.items():
        times, sizes = [], []
        for call in calls:
            started = time.perf_counter()
            sizes.append(call())
            times.append((time.perf_counter() - started) * 1000)
        p99 = statistics.quantiles(times, n=100)[98]
        median = statistics.median(times)
        size = statistics.median(sizes) / (1000 if name.startswith("/") else 1)
        print(f"{name:<18} {median:>8.1f} {p99:>8.1f} {size:>6.0f}")
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
