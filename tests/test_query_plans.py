"""Each page's queries find their papers through an index, never by reading every paper: the
statements the store's functions run are captured and explained (``EXPLAIN QUERY PLAN`` on
SQLite; ``EXPLAIN`` on PostgreSQL with sequential scans discouraged, as a large table would)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.following import followed_papers
from paperfeed.ranking.trending import trending_cards
from paperfeed.records import Organisation
from paperfeed.store import feed, lookup, related
from paperfeed.store.changes import changed_keys, shown_version
from paperfeed.store.similar import SimilarRow, due_similar, stored_similar, write_similar

DAY = date(2025, 3, 4)
LAB = Organisation("lab", "The Lab")


@pytest.fixture
def store(engine: Engine) -> Engine:
    records = [
        paper(f"2503.{n:05d}", announced=DAY, doi=f"10.1000/X{n}", organisation=LAB)
        for n in range(1, 6)
    ]
    ingest(engine, MemorySource(records), today=DAY)
    return engine


def full_scans(engine: Engine, run: Callable[[], object], table: str = "papers") -> list[str]:
    """The plan lines of the statements ``run`` executes that read all of ``table``."""
    return [line for line in plan_lines(engine, run) if _scans(line, table)]


def plan_lines(engine: Engine, run: Callable[[], object]) -> list[str]:
    """The plan lines of the statements ``run`` executes."""
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen, "the function ran no query"
    return [line for found in seen for line in _plan(engine, *found)]


def _plan(engine: Engine, statement: str, parameters: Any) -> Iterator[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            yield from (row[-1] for row in rows)
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a handful of rows: ask for indexes
            yield from (row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))


def _scans(line: str, table: str) -> bool:
    """Whether a plan line reads every row of ``table`` (or every entry of one of its indexes,
    which SQLite says as ``SCAN papers USING INDEX ...``)."""
    words = line.strip().replace("->", "").split()
    return words[:2] == ["SCAN", table] or words[:4] == ["Seq", "Scan", "on", table]


def test_the_organisation_page_reads_only_its_papers(store: Engine) -> None:
    assert len(feed.organisation_papers(store, "lab")) == 5
    assert full_scans(store, lambda: feed.organisation_papers(store, "lab")) == []


def test_the_author_page_reads_only_the_authors_papers(store: Engine) -> None:
    assert full_scans(store, lambda: feed.author_papers(store, "Ada Lovelace")) == []


def test_the_day_page_reads_only_that_days_papers(store: Engine) -> None:
    def day_page() -> None:
        newest = feed.latest_day(store, DAY)
        assert newest == DAY
        assert len(feed.day_papers(store, newest, limit=100)) == feed.day_count(store, newest) == 5
        feed.neighbour_days(store, newest)

    assert full_scans(store, day_page) == []


def test_the_daily_papers_api_reads_only_the_periods_papers(store: Engine) -> None:
    assert full_scans(store, lambda: feed.period_papers(store, DAY, DAY, limit=50)) == []


def test_followed_papers_read_only_the_periods_papers(store: Engine) -> None:
    follows = [
        {"id": 1, "kind": "author", "target": "Ada Lovelace"},
        {"id": 2, "kind": "organisation", "target": "lab"},
        {"id": 3, "kind": "category", "target": "cs"},
    ]
    assert len(followed_papers(store, None, follows, DAY, DAY)) == 5
    assert full_scans(store, lambda: followed_papers(store, None, follows, DAY, DAY)) == []


def test_trending_reads_only_recent_papers(store: Engine) -> None:
    for period in ("now", "week"):
        assert full_scans(store, lambda: trending_cards(store, period)) == []  # noqa: B023


def test_library_matching_looks_up_dois_and_titles(store: Engine) -> None:
    with store.connect() as conn:
        by_doi = lambda: lookup.papers_by_doi(conn, {"10.1000/x1"})  # noqa: E731
        assert [row.arxiv_id for row in by_doi()["10.1000/x1"]] == ["2503.00001"]
        assert full_scans(store, by_doi) == []
        by_title = lambda: list(lookup.visible_titles(conn, {"paper250300002"}))  # noqa: E731
        assert [title for _, title in by_title()] == ["Paper 2503.00002"]
        assert full_scans(store, by_title) == []


def test_similar_papers_read_only_linked_papers(store: Engine) -> None:
    cosaved = lambda: related.cosaved(store, "2503.00001", 10)  # noqa: E731
    assert full_scans(store, cosaved) == full_scans(store, cosaved, "saved_papers") == []
    assert full_scans(store, lambda: related.coauthored(store, "2503.00001", 10)) == []


def test_every_page_asks_the_stores_version_of_two_indexes(store: Engine) -> None:
    """Pages are kept per version of the store (``shown_version``), asked on every request:
    two look-ups of the newest entry of an index, never a read of the papers."""
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    event.listen(store, "before_cursor_execute", record)
    try:
        shown_version(store)
    finally:
        event.remove(store, "before_cursor_execute", record)
    reads = [line for found in seen for line in _plan(store, *found) if "papers" in line]
    assert len(reads) == 2, reads
    # SQLite says SEARCH (not SCAN) even when it reads every row for max(): ask for the index
    assert all("INDEX" in line.upper() for line in reads), reads


def test_a_read_of_every_paper_is_seen_as_one(store: Engine) -> None:
    """The control for the tests above: the check does see a full read, on each database."""
    assert full_scans(store, lambda: feed.visible_count(store))


def test_kept_similar_papers_and_the_workers_look_for_due_ones_use_indexes(
    store: Engine,
) -> None:
    write_similar(
        store,
        [SimilarRow(1, [("2503.00002", 1.0, [])], "1:a", datetime(2025, 3, 4, tzinfo=UTC))],
        replace=False,
    )
    assert full_scans(store, lambda: stored_similar(store, "2503.00001")) == []
    moment = datetime(2025, 3, 5, tzinfo=UTC)
    due = lambda: due_similar(store, "2:b", moment, DAY, 10, moment)  # noqa: E731
    assert len(due()) == 5
    assert full_scans(store, due) == full_scans(store, due, "similar_papers") == []


def test_the_newest_papers_are_read_in_index_order_not_sorted(store: Engine) -> None:
    """``/api/papers``: a sort of every paper took PostgreSQL ~0.5 s at 138k papers."""
    lines = plan_lines(store, lambda: feed.newest_papers(store, 3))
    # SQLite sorting every row, or a PostgreSQL Sort node (not an Incremental Sort of a day)
    whole_sorts = [
        line
        for line in lines
        if line.strip() == "USE TEMP B-TREE FOR ORDER BY"
        or line.strip().removeprefix("->").strip().startswith("Sort  (")
    ]
    assert whole_sorts == []


def test_the_changed_papers_are_read_page_by_page_from_where_the_last_page_ended(
    store: Engine,
) -> None:
    """Indexing every paper reads them in pages in change order: each page after the first
    starts the changed-time index at the last page's end (PostgreSQL read it from the start
    for each page, 1.4 s a page half-way through 2.7M papers, when asked for "later, or as
    late with a higher id")."""
    pages = [[key["arxiv_id"] for key in keys] for keys in changed_keys(store, None, 2)]
    assert [len(keys) for keys in pages] == [2, 2, 1]  # each paper once, ties by id
    assert sorted(key for keys in pages for key in keys) == [f"2503.{n:05d}" for n in range(1, 6)]
    lines = plan_lines(store, lambda: list(changed_keys(store, None, 2)))
    started = [
        line
        for line in lines
        if "ix_papers_changed_at (changed_at>" in line  # SQLite: a search of the index
        or ("Index Cond" in line and "changed_at >" in line)  # PostgreSQL
    ]
    assert len(started) == 3  # the pages after the first (and the empty read at the end)
