"""Email digests at scale: the time to build N daily digests over the 138k-paper store.

    python bench/digests.py [--subscriptions 10000] [--json]

Target (issue "Subscriptions and email digests"): 10,000 digests in <= 60 s on this machine.
Runs on a copy of `bench/search_speed.py`'s scale-1 store and indexes (real vectors for
10,000 papers, noisy copies for the rest), made once in ~/.cache/paperfeed-bench/digests.
Each run replaces every subscription and outbox row of the copy by N subscriptions, a third
each: trending (half of them filtered to one category), a saved search (a 2-3 word phrase
frequent in the store's titles, e.g. "graph neural networks") and recommendations (an account
with 10-20 saved older papers of one primary category). All are daily, active, UTC, 7 a.m.;
``now`` is 08:00 UTC on Tuesday 2025-05-27, the store's busiest day, so all are due and the
window (May 24-27) holds 1,482 papers. Timed: ``build_digests`` as ``paperfeed digest run``
calls it (real ``Searcher`` with the ONNX embedder, ``Recommender``); the model load and the
recommender's catalogue load happen before and are shown apart. Parts are timed by wrapping
the ``RANKERS`` entries and ``DigestMail.message``; "queueing and the rest" is the outbox's
Message-ID stamp and serialisation, the outbox and digest_papers writes (a transaction per
digest) and the loop. Digests are rendered and queued in the outbox; nothing is delivered
over SMTP.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
from recommend import machine
from sqlalchemy import Engine, delete, func, insert, select

from paperfeed.digest import content as digest_content
from paperfeed.digest.content import RANKERS, Contents
from paperfeed.digest.mail import DigestMail
from paperfeed.digest.run import BuildReport, build_digests
from paperfeed.digest.schedule import LOOK_BACK
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.schema import digest_papers, outbox, papers, saved_papers, subscriptions, users
from paperfeed.store.subscriptions import KINDS

NOW = datetime(2025, 5, 27, 8, tzinfo=UTC)  # a Tuesday: every daily digest at 7 a.m. is due
TARGET = 60.0  # seconds for 10,000 subscriptions
BENCH_EMAIL = "bench-digest-{}@example.org"
PHRASES = 4_000  # most frequent title phrases a saved search draws from
TOPICS = 40  # primary categories the recommendation accounts follow
TRENDING_CATEGORIES = ("cs.CV", "cs.CL", "cs.LG", "cs.AI", "quant-ph", "cs.RO", "hep-th")
STOPWORD_TEXT = (
    "a an the of for and or in on with to via from by at as is are be its into using use "
    "towards toward based under over through without beyond between their our we can do does "
    "how what when why not vs new novel study approach method methods analysis case two one "
    "than this that which all more"
)
STOPWORDS = frozenset(STOPWORD_TEXT.split())
WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def prepare(cache: Path, source: Path) -> Path:
    """The bench's own copy of search_speed's store and indexes (``home/index`` layout)."""
    done = cache / "copied"
    if done.exists():
        return cache
    needed = [source / "store.db", source / "lexical", source / "dense" / "meta.json"]
    if not all(path.exists() for path in needed):
        raise SystemExit(f"{source} is incomplete: run `python bench/search_speed.py` first")
    print(f"copying the store and indexes of {source} (once)")
    for folder in ("lexical", "dense"):
        shutil.rmtree(cache / "index" / folder, ignore_errors=True)
        shutil.copytree(source / folder, cache / "index" / folder)
    copy = cache / "store.db"
    copy.unlink(missing_ok=True)
    with (
        sqlite3.connect(f"file:{source / 'store.db'}?mode=ro", uri=True) as origin,
        sqlite3.connect(copy) as target,
    ):
        origin.backup(target)  # a consistent copy, whatever the WAL holds
    done.touch()
    return cache


def reset(engine: Engine) -> None:
    """Drop every digest, outbox row and subscription of the copy, and the bench accounts."""
    bench_users = select(users.c.id).where(users.c.email.like(BENCH_EMAIL.format("%")))
    with engine.begin() as conn:
        for table in (digest_papers, outbox, subscriptions):
            conn.execute(delete(table))
        conn.execute(delete(saved_papers).where(saved_papers.c.user_id.in_(bench_users)))
        conn.execute(delete(users).where(users.c.id.in_(bench_users)))


def title_phrases(engine: Engine, count: int) -> list[str]:
    """The ``count`` most frequent 2-3 word phrases of titles with no stop word or single
    letter in them, leaving out a pair that is mostly part of one longer phrase (so "graph
    neural networks", not "graph neural")."""
    found: Counter[tuple[str, ...]] = Counter()
    with engine.connect() as conn:
        for (title,) in conn.execute(select(papers.c.title)):
            words = WORD.findall(title.lower())
            for size in (2, 3):
                for start in range(len(words) - size + 1):
                    gram = tuple(words[start : start + size])
                    if not STOPWORDS.intersection(gram) and min(map(len, gram)) > 1:
                        found[gram] += 1
    parts = [
        (part, times)
        for gram, times in found.items()
        if len(gram) == 3
        for part in (gram[:2], gram[1:])
    ]
    for part, times in parts:
        if times >= 0.8 * found.get(part, 0):
            found.pop(part, None)
    return [" ".join(gram) for gram, _ in found.most_common(count)]


def topic_papers(engine: Engine, before: date) -> dict[str, list[int]]:
    """Paper ids by primary category, for the TOPICS largest, of papers older than ``before``."""
    query = select(papers.c.id, papers.c.primary_category).where(
        func.coalesce(papers.c.announced, date.min) < before, papers.c.withdrawn.is_(False)
    )
    by_topic: dict[str, list[int]] = {}
    with engine.connect() as conn:
        for paper_id, category in conn.execute(query):
            by_topic.setdefault(category or "", []).append(paper_id)
    largest = sorted(by_topic, key=lambda name: -len(by_topic[name]))
    return {name: by_topic[name] for name in largest[:TOPICS] if name}


def populate(engine: Engine, count: int, seed: int) -> dict[str, Any]:
    """``count`` active daily subscriptions, kinds in turn, inserted in bulk (no argon2: the
    accounts get a placeholder hash); returns what was made."""
    rng = random.Random(seed)
    phrases = title_phrases(engine, PHRASES)
    first = NOW.date() - timedelta(days=LOOK_BACK["daily"] - 1)
    topics = topic_papers(engine, first)
    created = NOW - timedelta(days=30)
    kinds = [KINDS[number % 3] for number in range(count)]
    accounts = [
        {"email": BENCH_EMAIL.format(n), "name": f"bench {n}", "password_hash": "-"}
        for n, kind in enumerate(kinds)
        if kind == "recommend"
    ]
    with engine.begin() as conn:
        if accounts:
            conn.execute(insert(users), [{**row, "created_at": created} for row in accounts])
        query = select(users.c.email, users.c.id).where(users.c.email.like(BENCH_EMAIL.format("%")))
        user_ids = dict(conn.execute(query).all())
        saved = []
        for user_id in user_ids.values():
            topic = topics[rng.choice(sorted(topics))]
            for paper_id in rng.sample(topic, min(len(topic), rng.randint(10, 20))):
                saved.append({"user_id": user_id, "paper_id": paper_id, "created_at": created})
        if saved:
            conn.execute(insert(saved_papers), saved)
        rows = [
            _subscription(n, kind, user_ids, phrases, rng, created) for n, kind in enumerate(kinds)
        ]
        conn.execute(insert(subscriptions), rows)
    queries = [row["query"] for row in rows if row["query"]]
    return {
        "saved_searches": len(queries),
        "distinct_queries": len(set(queries)),
        "example_queries": queries[:5],
        "accounts": len(user_ids),
        "saved_papers": len(saved),
        "topics": len(topics),
    }


def _subscription(
    number: int,
    kind: str,
    user_ids: dict[str, int],
    phrases: list[str],
    rng: random.Random,
    created: datetime,
) -> dict[str, Any]:
    email = BENCH_EMAIL.format(number)
    filters = None
    if kind == "trending" and number % 2:
        filters = {"categories": [rng.choice(TRENDING_CATEGORIES)]}
    return {
        "email": email,
        "user_id": user_ids.get(email),
        "kind": kind,
        "frequency": "daily",
        "query": rng.choice(phrases) if kind == "search" else None,
        "filters": filters,
        "timezone": "UTC",
        "hour": 7,
        "status": "active",
        "created_at": created,
        "confirmed_at": created,
    }


class Stopwatch:
    """Seconds and calls per named part, summed over wrapped calls."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed


def timed_build(settings: Settings, engine: Engine) -> dict[str, Any]:
    """Open the searcher and recommender (timed apart), then time ``build_digests``."""
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    services = Services.from_settings(settings, engine=engine)
    searcher = services.searcher
    figures["indexes_open_s"] = time.perf_counter() - started
    started = time.perf_counter()
    searcher.embedder.embed_query("warm up the model")  # type: ignore[union-attr]
    figures["model_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    recommender = services.recommender
    catalogue = recommender.catalogue()  # type: ignore[union-attr]
    figures["catalogue_load_s"] = time.perf_counter() - started
    figures["catalogue_papers"] = len(catalogue.arxiv_ids)
    stopwatch = Stopwatch()
    contents = Contents(engine, searcher, NOW, recommender)
    links = services.mailer.links
    rankers, render = dict(RANKERS), DigestMail.message
    RANKERS.update({kind: stopwatch.wrap(kind, ranker) for kind, ranker in rankers.items()})
    DigestMail.message = stopwatch.wrap("render", render)  # type: ignore[method-assign]
    period_papers = digest_content.PeriodPapers
    digest_content.PeriodPapers = stopwatch.wrap("period reads", period_papers)  # type: ignore[misc]
    try:
        started = time.perf_counter()
        report = build_digests(engine, contents, links, settings.mail_from)
        total = time.perf_counter() - started
    finally:
        RANKERS.update(rankers)
        DigestMail.message = render  # type: ignore[method-assign]
        digest_content.PeriodPapers = period_papers  # type: ignore[misc]
    return {"report": report, "total": total, "stopwatch": stopwatch, **figures}


def outcome(engine: Engine) -> dict[str, dict[str, int]]:
    """Per kind: subscriptions, digests queued, papers they carry, bytes of mail queued."""
    kind = subscriptions.c.kind
    with engine.connect() as conn:
        made = dict(conn.execute(select(kind, func.count()).group_by(kind)).all())
        queued = conn.execute(
            select(kind, func.count(), func.sum(func.length(outbox.c.message)))
            .join(outbox, outbox.c.subscription_id == subscriptions.c.id)
            .group_by(kind)
        ).all()
        carried = dict(
            conn.execute(
                select(kind, func.count())
                .join(digest_papers, digest_papers.c.subscription_id == subscriptions.c.id)
                .group_by(kind)
            ).all()
        )
    sizes = {name: (digests, size) for name, digests, size in queued}
    return {
        name: {
            "subscriptions": made.get(name, 0),
            "queued": sizes.get(name, (0, 0))[0],
            "papers": carried.get(name, 0),
            "bytes": sizes.get(name, (0, 0))[1] or 0,
        }
        for name in KINDS
    }


def summary(
    host: str,
    run: dict[str, Any],
    made: dict[str, Any],
    kinds: dict[str, dict[str, int]],
    count: int,
) -> dict[str, Any]:
    """Every figure of the run, rounded, as one JSON-ready object."""
    report: BuildReport = run["report"]
    stopwatch: Stopwatch = run["stopwatch"]
    parts = {name: round(seconds, 2) for name, seconds in stopwatch.seconds.items()}
    parts["queueing and the rest"] = round(run["total"] - sum(stopwatch.seconds.values()), 2)
    for name, row in kinds.items():
        calls = stopwatch.calls[name]
        row["empty"] = row["subscriptions"] - row["queued"]
        row["ms_per_digest"] = round(1000 * stopwatch.seconds[name] / calls, 1) if calls else 0
        row["papers_per_digest"] = round(row["papers"] / row["queued"], 2) if row["queued"] else 0
    return {
        "machine": host,
        "now": NOW.isoformat(),
        "subscriptions": count,
        "made": made,
        "total_s": round(run["total"], 1),
        "target_s": round(TARGET * count / 10_000, 1),
        "digests_per_s": round(count / run["total"], 1),
        "report": {
            "due": report.due,
            "queued": report.queued,
            "empty": report.empty,
            "done_before": report.done_before,
        },
        "kinds": kinds,
        "parts_s": parts,
        "untimed_s": {
            "indexes_open": round(run["indexes_open_s"], 1),
            "model_load": round(run["model_load_s"], 1),
            "catalogue_load": round(run["catalogue_load_s"], 1),
        },
        "catalogue_papers": run["catalogue_papers"],
        "delivered": "none: digests are queued in the outbox, no SMTP server is used",
    }


def text(figures: dict[str, Any]) -> str:
    """The figures as lines of text."""
    report, untimed, made = figures["report"], figures["untimed_s"], figures["made"]
    verdict = "within" if figures["total_s"] <= figures["target_s"] else "OVER"
    lines = [
        f"machine: {figures['machine']}",
        f"now: {figures['now']}; {figures['subscriptions']:,} daily subscriptions, a third of "
        "each kind",
        f"  saved searches: {made['distinct_queries']:,} distinct queries among "
        f"{made['saved_searches']:,}, e.g. {'; '.join(made['example_queries'][:3])}",
        f"  recommendations: {made['accounts']:,} accounts, {made['saved_papers']:,} saved "
        f"papers, each account's of one of {made['topics']} primary categories",
        f"not timed: indexes opened {untimed['indexes_open']} s, ONNX model loaded (exported if "
        f"missing) {untimed['model_load']} s, recommender catalogue of "
        f"{figures['catalogue_papers']:,} papers loaded {untimed['catalogue_load']} s",
        f"build_digests: {figures['total_s']} s ({figures['digests_per_s']} digests/s), "
        f"{verdict} the target of {figures['target_s']} s",
        f"  {report['due']:,} due, {report['queued']:,} queued, {report['empty']:,} empty, "
        f"{report['done_before']:,} queued before",
        f"  {'kind':<10} {'subs':>6} {'queued':>7} {'empty':>6} {'papers/digest':>14} "
        f"{'ranker ms/digest':>17} {'KB/mail':>8}",
    ]
    for name, row in figures["kinds"].items():
        size = row["bytes"] / row["queued"] / 1000 if row["queued"] else 0
        lines.append(
            f"  {name:<10} {row['subscriptions']:>6,} {row['queued']:>7,} {row['empty']:>6,} "
            f"{row['papers_per_digest']:>14} {row['ms_per_digest']:>17} {size:>8.1f}"
        )
    lines.append("  where the time went (s):")
    for name, seconds in figures["parts_s"].items():
        lines.append(f"    {name:<24} {seconds:>7.2f}")
    lines.append(f"delivery: {figures['delivered']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    host = machine()  # the load average before this run adds its own
    base = Path(platformdirs.user_cache_dir("paperfeed-bench"))
    home = prepare(base / "digests", base / "speed-x1")
    database_url = f"sqlite:///{home / 'store.db'}"
    # the model export is shared with the other benches (search_speed uses Settings())
    settings = Settings(home=home, database_url=database_url, model_cache=Settings().model_dir)
    engine = open_store(database_url)  # migrates the copy to the newest schema
    reset(engine)
    made = populate(engine, args.subscriptions, args.seed)
    run = timed_build(settings, engine)
    figures = summary(host, run, made, outcome(engine), args.subscriptions)
    print(json.dumps(figures) if args.json else text(figures))


if __name__ == "__main__":
    main()
