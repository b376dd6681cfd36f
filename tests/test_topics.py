"""Topics: found in clustered vectors, kept across a refit, new papers placed, served as JSON.

The vectors are synthetic (written through the store's vector API): three broad groups of two
fine ones each, twelve papers a fine group, whose titles name their subject.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from memory_source import MemorySource, paper
from paperfeed.cli import cli
from paperfeed.index.topics import Params, TooFewPapers, assign_new, refit
from paperfeed.ingest.pipeline import ingest
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.schema import TopicLevel, paper_topics, papers
from paperfeed.store.topics import live_topics
from paperfeed.store.vectors import PendingPaper, save_vectors
from paperfeed.web.app import create_app

MODEL = "synthetic"
DAY = date(2026, 3, 6)  # a Friday
SUBJECTS = {  # broad group -> its fine groups' subjects and category
    0: (("graph pooling", "cs.LG"), ("graph attention", "cs.LG")),
    1: (("protein folding", "q-bio.BM"), ("protein docking", "q-bio.BM")),
    2: (("quantum annealing", "quant-ph"), ("quantum error correction", "quant-ph")),
}
PER_GROUP = 12
PARAMS = Params(neighbours=8, min_size=5, fine_per_broad=2)


def centres(seed: int = 7) -> np.ndarray:
    """Six fine centres in 32 dimensions, two near each of three broad ones."""
    rng = np.random.default_rng(seed)
    broad = rng.normal(size=(3, 32)) * 3
    return np.array([broad[b] + rng.normal(size=32) for b in range(3) for _ in range(2)])


def store_group(
    engine: Engine,
    group: int,
    count: int,
    start: int,
    *,
    weeks_ago: int = 0,
    spread: float = 0.05,
) -> list[str]:
    """``count`` papers of fine ``group`` (ids from ``start``), with vectors near its centre."""
    subject, category = SUBJECTS[group // 2][group % 2]
    ids = [f"2603.{n:05d}" for n in range(start, start + count)]
    records = [
        paper(
            arxiv_id,
            title=f"{subject.capitalize()}: case {n}",
            abstract=f"We study {subject}. Our case is number {n}.",
            categories=[category],
            authors=[f"Author {group}", f"Other {n}"],
            announced=DAY - timedelta(weeks=weeks_ago, days=n % 5),
        )
        for n, arxiv_id in enumerate(ids)
    ]
    ingest(engine, MemorySource(records))
    rng = np.random.default_rng(start)
    vectors = centres()[group] + spread * rng.normal(size=(count, 32))
    with engine.begin() as conn:
        rows = conn.execute(
            select(papers.c.id, papers.c.changed_at).where(papers.c.arxiv_id.in_(ids))
        )
        pending = [PendingPaper(row.id, row.changed_at, "", f"{row.id:064x}") for row in rows]
        save_vectors(conn, MODEL, pending, vectors[: len(pending)])
    return ids


def fill(engine: Engine, per_group: int = PER_GROUP, shift: int = 0) -> None:
    for group in range(6):
        store_group(engine, group, per_group, 1 + 100 * group + shift)


def topic_of(engine: Engine, arxiv_id: str, level: TopicLevel = TopicLevel.FINE) -> int | None:
    query = (
        select(paper_topics.c.topic_id)
        .join(papers, papers.c.id == paper_topics.c.paper_id)
        .where(papers.c.arxiv_id == arxiv_id, paper_topics.c.level == level)
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def test_topics_are_found_at_two_levels_and_named(engine: Engine) -> None:
    fill(engine)
    report = refit(engine, MODEL, PARAMS)
    assert report is not None
    assert (report.fine, report.broad, report.papers) == (6, 3, 72)
    fine = live_topics(engine, MODEL, TopicLevel.FINE)
    broad = {t.id: t for t in live_topics(engine, MODEL, TopicLevel.BROAD)}
    names = sorted(t.label[0] for t in fine)
    assert names == ["graph attention", "graph pooling", "protein docking", "protein folding",
                     "quantum annealing", "quantum error correction"]  # fmt: skip
    for topic in fine:  # each fine topic sits in the broad one of its subject
        assert broad[topic.parent_id].label[0].split()[0] == topic.label[0].split()[0]
        assert topic.size == PER_GROUP
    assert sorted(t.categories[0] for t in broad.values()) == ["cs.LG", "q-bio.BM", "quant-ph"]
    # each group's papers share one topic, and groups differ
    firsts = {topic_of(engine, f"2603.{1 + 100 * g:05d}") for g in range(6)}
    assert len(firsts) == 6
    assert topic_of(engine, "2603.00012") == topic_of(engine, "2603.00001")


def test_topic_identities_survive_a_refit_of_a_shifted_corpus(engine: Engine) -> None:
    fill(engine)
    refit(engine, MODEL, PARAMS)
    before = {t.label[0]: t.id for t in live_topics(engine, MODEL)}
    # a week later: more papers in every group, some gone from the first
    fill(engine, per_group=6, shift=50)
    with engine.begin() as conn:
        conn.execute(
            papers.update().where(papers.c.arxiv_id <= "2603.00004").values(withdrawn=True)
        )
    report = refit(engine, MODEL, Params(neighbours=8, min_size=5, fine_per_broad=2, seed=3))
    assert report is not None
    after = {t.label[0]: t.id for t in live_topics(engine, MODEL)}
    assert after == before
    assert (report.kept, report.new, report.retired) == (9, 0, 0)


def test_new_papers_join_existing_topics_without_a_refit(engine: Engine) -> None:
    fill(engine)
    refit(engine, MODEL, PARAMS)
    docking = topic_of(engine, "2603.00301")
    new = store_group(engine, 3, 3, 390, spread=0.01)  # well inside the topic
    # a paper far from every topic stays in none
    ingest(engine, MemorySource([paper("2603.09999", title="Bird song", announced=DAY)]))
    with engine.begin() as conn:
        row = conn.execute(
            select(papers.c.id, papers.c.changed_at).where(papers.c.arxiv_id == "2603.09999")
        ).one()
        far = -centres().mean(axis=0, keepdims=True)
        save_vectors(conn, MODEL, [PendingPaper(row.id, row.changed_at, "", "f" * 64)], far)
    assert assign_new(engine, MODEL) == 4
    assert [topic_of(engine, arxiv_id) for arxiv_id in new] == [docking] * 3
    assert topic_of(engine, "2603.09999") is None
    assert assign_new(engine, MODEL) == 0  # done: nothing pending


def test_too_few_embedded_papers_are_refused_and_change_nothing(engine: Engine) -> None:
    store_group(engine, 0, 10, 1)
    with pytest.raises(TooFewPapers, match="only 10 papers have a vector under synthetic"):
        refit(engine, MODEL, PARAMS)
    assert live_topics(engine) == []


def test_the_api_ranks_topics_by_growth_and_shows_one(engine: Engine, tmp_path: Path) -> None:
    fill(engine)
    old = store_group(engine, 1, 6, 150, weeks_ago=4)  # graph attention was there before
    refit(engine, MODEL, PARAMS)
    services = Services.from_settings(Settings(home=tmp_path / "home"), engine=engine)
    client = TestClient(create_app(services))

    listed = client.get("/api/topics").json()
    assert listed["weekEnds"][-1] == DAY.isoformat()
    names = [t["label"][0] for t in listed["topics"]]
    assert len(names) == 6
    assert names[-1] == "graph attention"  # 12 papers this week after 6 four weeks ago
    attention = listed["topics"][-1]
    assert attention["weekly"] == [0, 0, 0, 0, 6, 0, 0, 0, 12]
    assert attention["growth"] == round((12 + 2) / (6 / 8 + 2), 4)
    assert listed["topics"][0]["growth"] == (12 + 2) / 2
    assert len(attention["topPapers"]) == 3
    assert len(client.get("/api/topics?level=broad").json()["topics"]) == 3

    shown = client.get(f"/api/topics/{attention['id']}").json()
    assert (shown["total"], len(shown["papers"]), shown["page"]) == (18, 18, 1)
    assert old[0] in {entry["paper"]["id"] for entry in shown["papers"]}
    assert [week["papers"] for week in shown["weekly"]] == [6, 0, 0, 0, 12]
    assert shown["topAuthors"][0] == {"name": "Author 1", "papers": 18}
    assert shown["parent"] is not None
    assert shown["related"][0]["label"][0] == "graph pooling"  # its sibling is nearest
    assert client.get(f"/api/topics/{attention['id']}?cat=quant-ph").json()["total"] == 0
    assert client.get(f"/api/topics/{attention['id']}?cat=cs.LG").json()["total"] == 18
    parent = client.get(f"/api/topics/{shown['parent']}").json()
    assert sorted(child["label"][0] for child in parent["children"]) == [
        "graph attention",
        "graph pooling",
    ]
    missing = client.get("/api/topics/99999")
    assert missing.status_code == 404
    assert missing.json() == {"error": "There is no topic 99999 (topics change at each refit)."}


def test_the_command_fits_then_places_new_papers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_EMBEDDING_MODEL", MODEL)
    url = f"sqlite:///{tmp_path / 'home' / 'cli.db'}"
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", url)
    runner = CliRunner()
    empty = runner.invoke(cli, ["topics"])
    assert empty.exit_code == 1
    assert "only 0 papers have a vector under synthetic; topics need at least 50" in empty.output
    engine = open_store(url)
    fill(engine)
    fitted = runner.invoke(cli, ["topics"])
    assert fitted.exit_code == 0, fitted.output
    assert "topics: 1 broad and 6 fine from 72 papers (0 in none)" in fitted.output
    assert "0 kept their id, 7 new, 0 retired" in fitted.output
    store_group(engine, 0, 2, 90, spread=0.01)
    placed = runner.invoke(cli, ["topics"])  # not due: the new papers join
    assert "topics: 2 new papers placed" in placed.output
    again = runner.invoke(cli, ["topics", "--rebuild"])
    assert "7 kept their id, 0 new, 0 retired" in again.output
