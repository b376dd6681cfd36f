"""The trend of a search at scale: counting every match per month and week, p50/p99.

    python bench/trends.py [--json] [--queries 200] [--lexical DIR]

Runs on the words index of `bench/search_speed.py`'s scale-1 store (138,132 papers; run that
first). Each query is counted as the search page counts it (`ranking.trend.trends`: a
histogram of the matches' announcement days in tantivy, grouped into months and weeks in
Python), then drawn as its two charts (`web.trends.trend_charts` and the template); three
queries at once as `/trends` compares them. Queries are 1 to 3 words from random titles (a
trend is of a topic, not of a sentence) and a few very broad ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from corpus import percentiles, time_ms
from search_speed import CACHE

from paperfeed.index.lexical import LexicalIndex
from paperfeed.ranking.trend import trends
from paperfeed.text import plain
from paperfeed.web.render import TEMPLATES
from paperfeed.web.trends import trend_charts

BROAD = ["model", "learning", "language model", "the"]
T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexical", type=Path, default=CACHE / "speed-x1" / "lexical")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not (args.lexical / "meta.json").exists():
        raise SystemExit(f"no words index in {args.lexical}: run bench/search_speed.py first")
    lexical = LexicalIndex.open(args.lexical)
    queries = [*BROAD, *_queries(args.lexical.parent / "store.db", args.queries)]
    chart = TEMPLATES.env.get_template("_charts.html").module.chart  # type: ignore[attr-defined]
    one = _timed(queries, lambda q: trends(lexical, [q]))
    drawn = _timed(queries, lambda q: [chart(c) for c in trend_charts(trends(lexical, [q]), "b")])
    triples = [queries[i : i + 3] for i in range(0, len(queries) - 2, 3)]
    three = _timed(triples, lambda qs: trends(lexical, qs))
    broadest = max(sum(s.total for s in trends(lexical, [q]).series) for q in BROAD)
    figures = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "papers": lexical.count(),
        "queries": len(queries),
        "broadest_matches": broadest,
        "one_search_ms": one,
        "one_search_drawn_ms": drawn,
        "three_searches_ms": three,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name}: {value}")


def _queries(db: Path, count: int) -> list[str]:
    """1 to 3 consecutive words of random papers' titles."""
    rng = random.Random(17)
    with sqlite3.connect(db) as conn:
        titles = conn.execute(
            "SELECT title FROM papers ORDER BY random() LIMIT ?", (count,)
        ).fetchall()
    found = []
    for (title,) in titles:
        words = plain(title).split()
        start = rng.randrange(len(words))
        found.append(" ".join(words[start : start + rng.randint(1, 3)]))
    return found


def _timed(items: list[T], run: Callable[[T], object]) -> dict[str, float]:
    """Milliseconds per item, median and 99th percentile."""
    return percentiles([time_ms(partial(run, item))[0] for item in items])


if __name__ == "__main__":
    main()
