"""The store as the system of record: one paper per arXiv id, idempotent merges."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, func, select, text

from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import Organisation, Withdrawal
from paperfeed.sources.base import Rejected
from paperfeed.store.database import downgrade, is_current, migrate
from paperfeed.store.queries import get_paper, store_stats
from paperfeed.store.schema import Author, Base, paper_authors, papers

TODAY = date(2026, 11, 20)


def run(engine: Engine, *items, label: str = "test"):
    return ingest(engine, MemorySource(items, label), batch_size=2, today=TODAY)


def counts(report) -> tuple[int, int, int, int]:
    return report.new, report.updated, report.unchanged, report.rejected


def test_blank_database_is_migrated_to_the_newest_schema(blank_engine: Engine) -> None:
    engine = blank_engine
    assert not is_current(engine)
    migrate(engine)
    assert is_current(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 0


def test_the_migrations_make_the_tables_the_schema_defines(engine: Engine) -> None:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection leaves out expression indexes (lower(doi)); PostgreSQL's compares
        warnings.filterwarnings("ignore", ".*(reflection of|skipping metadata-specified) expr")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_migrations_downgrade_to_nothing_and_back(blank_engine: Engine) -> None:
    migrate(blank_engine)
    downgrade(blank_engine, "base")
    assert not is_current(blank_engine)
    migrate(blank_engine)
    assert is_current(blank_engine)


def test_new_papers_are_stored_with_ordered_authors(engine: Engine) -> None:
    report = run(engine, paper("2501.00001"), paper("2501.00002", authors=["Zed", "Amy"]))
    assert counts(report) == (2, 0, 0, 0)
    stored = get_paper(engine, "2501.00002")
    assert stored["authors"] == ["Zed", "Amy"]
    with engine.connect() as conn:
        names = conn.execute(
            select(Author.name)
            .join(paper_authors, paper_authors.c.author_id == Author.id)
            .where(paper_authors.c.paper_id == stored["id"])
            .order_by(paper_authors.c.position)
        ).scalars()
        assert list(names) == ["Zed", "Amy"]


def test_importing_the_same_records_again_changes_nothing(engine: Engine) -> None:
    records = [paper(f"2501.0000{i}") for i in range(1, 6)]
    run(engine, *records)
    again = run(engine, *[paper(f"2501.0000{i}") for i in range(1, 6)])
    assert counts(again) == (0, 0, 5, 0)


def test_a_versioned_id_is_stored_once_without_its_version(engine: Engine) -> None:
    run(engine, paper("2501.00001v1"), paper("arXiv:2501.00001v1"))
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.version)).all()
    assert rows == [("2501.00001", 1)]


def test_a_newer_version_updates_the_paper(engine: Engine) -> None:
    run(engine, paper(version=1, title="Old title"))
    report = run(engine, paper(version=2, title="New title", authors=["Grace Hopper"]))
    assert counts(report) == (0, 1, 0, 0)
    stored = get_paper(engine, "2501.00001")
    assert (stored["version"], stored["title"], stored["authors"]) == (
        2,
        "New title",
        ["Grace Hopper"],
    )


def test_an_older_version_only_fills_missing_fields(engine: Engine) -> None:
    run(engine, paper(version=3, title="Current", doi=None))
    report = run(engine, paper(version=1, title="Stale", doi="10.1000/x"))
    assert counts(report) == (0, 1, 0, 0)
    stored = get_paper(engine, "2501.00001")
    assert (stored["version"], stored["title"], stored["doi"]) == (3, "Current", "10.1000/x")


def test_merging_sources_gives_the_same_paper_in_either_order(engine: Engine) -> None:
    feed = paper(authors=["A B"], categories=["cs.CV", "cs.AI"], first_seen=date(2025, 5, 12))
    api = paper(
        version=2,
        title="API title",
        categories=["cs.AI"],
        published=datetime(2025, 5, 10, 22, 42, tzinfo=UTC),
    )
    run(engine, feed, api)
    first = get_paper(engine, "2501.00001")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM paper_authors"))
        conn.execute(text("DELETE FROM papers"))
    run(engine, api, feed, label="other order")
    second = get_paper(engine, "2501.00001")
    keep = ("title", "version", "categories", "published", "announced", "first_seen", "authors")
    assert {k: first[k] for k in keep} == {k: second[k] for k in keep}
    assert first["categories"] == ["cs.AI", "cs.CV"]
    assert first["announced"] == date(2025, 5, 13)  # Saturday submission, listed Tuesday


def test_malformed_records_are_rejected_with_reasons_and_the_run_goes_on(engine: Engine) -> None:
    report = run(
        engine,
        paper("2501.00001", title="  "),
        Rejected("file.jsonl:2", "not JSON (unexpected character)"),
        paper("not-an-id"),
        paper("2501.00004"),
    )
    assert counts(report) == (1, 0, 0, 3)
    assert report.rejections == [
        ("test 2501.00001", "missing title"),
        ("file.jsonl:2", "not JSON (unexpected character)"),
        ("test not-an-id", "not an arXiv id: 'not-an-id'"),
    ]


def test_organisations_are_stored_once_and_claim_papers(engine: Engine) -> None:
    org = Organisation("UWaterloo", "University of Waterloo")
    run(engine, paper("2501.00001", organisation=org), paper("2501.00002", organisation=org))
    first, second = get_paper(engine, "2501.00001"), get_paper(engine, "2501.00002")
    assert first["organisation_handle"] == second["organisation_handle"] == "UWaterloo"
    assert store_stats(engine)["organisations"] == 1


def test_upvotes_keep_the_largest_count_seen(engine: Engine) -> None:
    run(engine, paper(upvotes=12))
    run(engine, paper(upvotes=7), label="older file")
    assert get_paper(engine, "2501.00001")["upvotes"] == 12


def test_a_deleted_record_marks_the_paper_withdrawn(engine: Engine) -> None:
    run(engine, paper())
    report = run(engine, Withdrawal("2501.00001"), label="oai")
    assert report.withdrawn == 1
    assert get_paper(engine, "2501.00001")["withdrawn"] is True


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_duplicates_within_one_run_become_one_paper(engine: Engine, batch_size: int) -> None:
    items = [paper(version=1), paper("2501.00002"), paper(version=2, title="v2")]
    ingest(engine, MemorySource(items), batch_size=batch_size, today=TODAY)
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.title).order_by(papers.c.id)).all()
    assert rows == [("2501.00001", "v2"), ("2501.00002", "Paper 2501.00002")]


def test_changed_at_moves_only_when_a_paper_changes(engine: Engine) -> None:
    run(engine, paper("2501.00001"), paper("2501.00002"))
    before = {p: get_paper(engine, p)["changed_at"] for p in ("2501.00001", "2501.00002")}
    run(engine, paper("2501.00001"), paper("2501.00002", version=2, title="Revised"))
    assert get_paper(engine, "2501.00001")["changed_at"] == before["2501.00001"]
    assert get_paper(engine, "2501.00002")["changed_at"] > before["2501.00002"]


def test_migrating_a_store_of_the_previous_schema_keeps_its_papers(blank_engine: Engine) -> None:
    migrate(blank_engine, "0001")
    with blank_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO papers (arxiv_id, title, abstract, categories, links, withdrawn,"
                " source, first_seen, last_seen) VALUES ('2501.00001', 'T', 'A', '[]', '[]',"
                " false, 'test', '2025-01-02', '2025-01-02')"
            )
        )
    migrate(blank_engine)
    with blank_engine.connect() as conn:
        row = conn.execute(text("SELECT arxiv_id, changed_at FROM papers")).one()
    assert row[0] == "2501.00001" and row[1] is not None


def test_migrating_keeps_author_links_and_vectors(blank_engine: Engine) -> None:
    migrate(blank_engine, "0003")
    with blank_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO papers (id, arxiv_id, title, abstract, categories, links, withdrawn,"
                " source, first_seen, last_seen, changed_at) VALUES (1, '2501.00001', 'T', 'A',"
                " '[]', '[]', false, 'test', '2025-01-02', '2025-01-02', '2025-01-02 00:00:00')"
            )
        )
        conn.execute(text("INSERT INTO authors (id, name) VALUES (1, 'Ada Lovelace')"))
        conn.execute(text("INSERT INTO paper_authors VALUES (1, 0, 1)"))
        conn.execute(
            text("INSERT INTO embeddings VALUES (1, 'm', 'h', '2025-01-02 00:00:00', :vector)"),
            {"vector": b"\x00\x01"},
        )
    migrate(blank_engine)
    with blank_engine.connect() as conn:
        for table in ("paper_authors", "embeddings"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1, table
        assert conn.execute(text("SELECT votes, hidden FROM papers")).one() == (0, False)


def test_each_connection_is_tuned_for_a_sites_short_queries(engine: Engine) -> None:
    """SQLite in WAL mode with foreign keys on; PostgreSQL without JIT, which compiled the
    plans of page queries on a 2.7M-paper store for longer than they ran (~30 ms each): still
    so after a transaction rolled back (a SET made inside one would end with it), and on a new
    connection."""

    def tuned(conn: Connection) -> tuple[object, ...]:
        if engine.dialect.name == "sqlite":
            pragmas = ("journal_mode", "foreign_keys")
            return tuple(conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in pragmas)
        return (conn.exec_driver_sql("SHOW jit").scalar(),)

    wanted = ("wal", 1) if engine.dialect.name == "sqlite" else ("off",)
    with engine.connect() as conn:
        assert tuned(conn) == wanted
        conn.rollback()
        assert tuned(conn) == wanted
    engine.dispose()
    with engine.connect() as conn:
        assert tuned(conn) == wanted
