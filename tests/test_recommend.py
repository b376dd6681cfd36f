"""For-you recommendations over a few papers with hand-made vectors: one axis per topic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, Table, insert, select

from memory_source import MemorySource, paper
from paperfeed.index.dense import VectorIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking import recommend
from paperfeed.ranking.recommend import Recommender, rank
from paperfeed.store.activity import set_hidden
from paperfeed.store.schema import (
    not_interested,
    paper_tags,
    papers,
    saved_papers,
    tags,
    users,
    votes,
)
from paperfeed.store.vectors import import_vectors

NEW = date(2026, 3, 20)  # the newest announcement day
OLD = date(2025, 1, 6)
FEB = date(2026, 2, 1)
GRAPH, PROTEIN, GALAXY, QUANTUM, GATES, ERRORS, EDGES, DESIGN, CARBON = range(9)
PAPERS = {  # arXiv id: title, abstract, categories, announced, vector as {axis: weight}
    "2501.00001": ("Graph networks", "On graph nodes.", ["cs.LG"], OLD, {GRAPH: 1}),
    "2501.00002": ("Protein folding", "Amino acid chains.", ["q-bio.BM"], OLD, {PROTEIN: 1}),
    "2501.00003": ("Galaxy clusters", "Dark matter halos.", ["astro-ph.CO"], OLD, {GALAXY: 1}),
    "2501.00004": ("Quantum codes", "Error correction.", ["quant-ph"], OLD, {QUANTUM: 1}),
    "2502.00001": ("Quantum noise", "Error rates.", ["quant-ph"], OLD, {QUANTUM: 1, ERRORS: 0.6}),
    "2502.00002": ("Quantum circuits", "Gates.", ["quant-ph"], OLD, {QUANTUM: 1, GATES: 0.6}),
    "2602.00001": ("Graph pooling", "Pooling graph nodes.", ["cs.LG"], FEB, {GRAPH: 1, EDGES: 0.2}),
    "2603.00001": ("Graph transformers", "Graph edges.", ["cs.LG"], NEW, {GRAPH: 1, EDGES: 0.3}),
    "2603.00002": ("Message passing", "Graph nodes.", ["cs.LG"], NEW, {GRAPH: 1, EDGES: 0.1}),
    "2603.00003": ("Protein design", "Amino acids.", ["q-bio.BM"], NEW, {PROTEIN: 1, DESIGN: 0.3}),
    "2603.00004": ("Protein docking", "Binding.", ["q-bio.BM"], NEW, {PROTEIN: 1, DESIGN: 0.1}),
    "2603.00005": ("Galaxy halos", "Dwarf galaxies.", ["astro-ph.GA"], NEW, {GALAXY: 1}),
    "2603.00006": ("Qubit errors", "Error rates.", ["quant-ph"], NEW, {QUANTUM: 1, ERRORS: 0.4}),
    "2603.00007": ("Graphene sheets", "Of carbon.", ["cond-mat"], NEW, {GRAPH: 0.5, CARBON: 1}),
    "2603.00009": ("Quantum gates", "On qubits.", ["quant-ph"], NEW, {QUANTUM: 1, GATES: 0.5}),
}
GRAPH_OLD, PROTEIN_OLD, GALAXY_OLD = "2501.00001", "2501.00002", "2501.00003"
QUANTUM_OLD = "2501.00004"
MODEL = "hand-made"


def vector(axes: dict[int, float]) -> np.ndarray:
    found = np.zeros(16, np.float32)
    for axis, weight in axes.items():
        found[axis] = weight
    return found / np.linalg.norm(found)


def add_papers(engine: Engine, folder: Path, items: dict[str, tuple]) -> None:
    """Store the papers with their vectors and bring the index in ``folder`` up to date."""
    records = [
        paper(key, title=t, abstract=a, categories=c, announced=day)
        for key, (t, a, c, day, _) in items.items()
    ]
    ingest(engine, MemorySource(records), batch_size=100)
    path = folder / "vectors.npz"
    np.savez(path, ids=list(items), vectors=np.stack([vector(item[4]) for item in items.values()]))
    import_vectors(engine, MODEL, path)
    VectorIndex(folder / "dense").update(engine, MODEL)


@pytest.fixture
def recommender(engine: Engine, tmp_path: Path) -> Recommender:
    """A recommender over PAPERS, with users 1 and 2."""
    add_papers(engine, tmp_path, PAPERS)
    now = datetime.now(UTC)
    for user_id in (1, 2):
        row = {"id": user_id, "email": f"u{user_id}@example.org", "name": "u", "created_at": now}
        _insert(engine, users, password_hash="-", **row)
    return Recommender(engine, LiveVectors(tmp_path / "dense"))


def _insert(engine: Engine, table: Table, **row) -> None:
    with engine.begin() as conn:
        conn.execute(insert(table).values(row))


def _paper_id(engine: Engine, arxiv_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar_one()


def mark(engine: Engine, table: Table, arxiv_id: str, user_id: int = 1) -> None:
    """Save, upvote or reject (by ``table``) a paper for the user."""
    now = datetime.now(UTC)
    _insert(engine, table, user_id=user_id, paper_id=_paper_id(engine, arxiv_id), created_at=now)


def tag(engine: Engine, name: str, arxiv_id: str, user_id: int = 1) -> None:
    """File a saved paper under a tag (created if new)."""
    mark(engine, saved_papers, arxiv_id, user_id)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        query = select(tags.c.id).where(tags.c.user_id == user_id, tags.c.name == name)
        tag_id = conn.execute(query).scalar()
        if tag_id is None:
            row = {"user_id": user_id, "name": name, "created_at": now}
            tag_id = conn.execute(insert(tags).values(row)).inserted_primary_key[0]
        row = {"tag_id": tag_id, "paper_id": _paper_id(engine, arxiv_id), "created_at": now}
        conn.execute(insert(paper_tags).values(row))


def ids(found: list[recommend.Recommendation]) -> list[str]:
    return [item.arxiv_id for item in found]


def test_rank_scores_candidates_like_the_positives_first_and_names_the_nearest() -> None:
    positives = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], np.float32)
    negatives = np.array([[0, 0, 1, 0]], np.float32)
    candidates = np.array([[0, 0, 1, 0], [0.6, 0.8, 0, 0], [0, 0, 0, 1], [0.8, 0, 0.6, 0]])
    scores, because = rank(positives, negatives, candidates.astype(np.float32))
    assert np.argsort(-scores).tolist() == [1, 3, 2, 0]
    assert because.tolist() == [0, 1, 0, 0]


def test_saved_papers_pull_similar_recent_papers_up(recommender: Recommender) -> None:
    mark(recommender.engine, saved_papers, PROTEIN_OLD)
    assert ids(recommender.recommend(1, limit=2)) == ["2603.00004", "2603.00003"]


def test_upvoted_papers_count_as_positives(recommender: Recommender) -> None:
    mark(recommender.engine, votes, GALAXY_OLD)
    assert ids(recommender.recommend(1, limit=1)) == ["2603.00005"]


def test_a_not_interested_paper_pushes_its_neighbours_down(recommender: Recommender) -> None:
    engine = recommender.engine
    mark(engine, saved_papers, QUANTUM_OLD)
    assert ids(recommender.recommend(1, limit=2)) == ["2603.00006", "2603.00009"]
    mark(engine, not_interested, "2502.00001")  # an older paper on quantum errors
    assert ids(recommender.recommend(1, limit=2)) == ["2603.00009", "2603.00006"]


def test_papers_the_user_has_are_never_recommended(recommender: Recommender) -> None:
    engine = recommender.engine
    mark(engine, saved_papers, GRAPH_OLD)
    mark(engine, saved_papers, "2603.00001")
    mark(engine, votes, "2603.00002")
    mark(engine, not_interested, "2603.00007")
    found = ids(recommender.recommend(1))
    assert sorted(found) == ["2603.00003", "2603.00004", "2603.00005", "2603.00006", "2603.00009"]
    seeded = ids(recommender.recommend(2, seed_ids=["2603.00001"]))
    assert "2603.00001" not in seeded
    assert seeded[0] == "2603.00002"


def test_the_window_is_the_last_30_days_unless_since_is_given(recommender: Recommender) -> None:
    mark(recommender.engine, saved_papers, GRAPH_OLD)
    assert "2602.00001" not in ids(recommender.recommend(1))
    earlier = ids(recommender.recommend(1, since=date(2026, 1, 1)))
    assert "2602.00001" in earlier and GRAPH_OLD not in earlier
    assert PROTEIN_OLD in ids(recommender.recommend(1, since=date(2025, 1, 1)))


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["q-bio.BM"], ["2603.00003", "2603.00004"]),
        (["astro-ph"], ["2603.00005"]),  # a whole archive
        (["quant-ph", "astro-ph.GA"], ["2603.00005", "2603.00006", "2603.00009"]),
    ],
)
def test_categories_keep_papers_listed_in_any(
    recommender: Recommender, categories: list[str], expected: list[str]
) -> None:
    mark(recommender.engine, saved_papers, GRAPH_OLD)
    assert sorted(ids(recommender.recommend(1, categories=categories))) == expected


def test_exclude_drops_papers_with_the_words_ignoring_case(recommender: Recommender) -> None:
    mark(recommender.engine, saved_papers, GRAPH_OLD)
    found = ids(recommender.recommend(1, exclude=["GRAPH", "amino acids", "gates"]))
    assert sorted(found) == ["2603.00004", "2603.00005", "2603.00006", "2603.00007"]


def test_preferences_are_the_default_filters(recommender: Recommender) -> None:
    engine = recommender.engine
    mark(engine, saved_papers, GRAPH_OLD)
    with engine.begin() as conn:
        filters = {"categories": ["cs.LG", "cond-mat"], "exclude": ["transformers"]}
        conn.execute(users.update().where(users.c.id == 1).values(preferences=filters))
    assert ids(recommender.recommend(1)) == ["2603.00002", "2603.00007"]
    assert len(recommender.recommend(1, categories=[], exclude=[])) == 8


def test_because_names_the_nearest_positive(recommender: Recommender) -> None:
    mark(recommender.engine, saved_papers, GRAPH_OLD)
    mark(recommender.engine, votes, PROTEIN_OLD)
    because = {
        item.arxiv_id: (item.because, item.because_title) for item in recommender.recommend(1)
    }
    assert because["2603.00002"] == (GRAPH_OLD, "Graph networks")
    assert because["2603.00003"] == (PROTEIN_OLD, "Protein folding")


def test_a_user_with_no_positives_gets_nothing(recommender: Recommender) -> None:
    mark(recommender.engine, not_interested, GRAPH_OLD)
    assert recommender.recommend(1) == []
    assert recommender.recommend(1, tag="unknown") == []


def test_seeds_start_a_profile(recommender: Recommender) -> None:
    found = recommender.recommend(1, seed_ids=[GALAXY_OLD], limit=1)
    assert [(i.arxiv_id, i.because) for i in found] == [("2603.00005", GALAXY_OLD)]
    found = recommender.recommend(1, seed_vectors=vector({GATES: 1, QUANTUM: 1}), limit=1)
    assert [(i.arxiv_id, i.because, i.because_title) for i in found] == [("2603.00009", None, None)]


def test_a_tag_feed_learns_from_that_tag_only(recommender: Recommender) -> None:
    engine = recommender.engine
    tag(engine, "proteins", PROTEIN_OLD)
    tag(engine, "graphs", GRAPH_OLD)
    mark(engine, saved_papers, "2603.00003")
    found = recommender.recommend(1, tag="Proteins", limit=2)
    assert [(i.arxiv_id, i.because) for i in found] == [
        ("2603.00004", PROTEIN_OLD),
        (found[1].arxiv_id, PROTEIN_OLD),
    ]
    assert "2603.00003" not in ids(recommender.recommend(1, tag="proteins"))


def test_hidden_papers_are_left_out(recommender: Recommender) -> None:
    mark(recommender.engine, saved_papers, PROTEIN_OLD)
    recommender.catalogue()
    set_hidden(recommender.engine, "2603.00004", True)
    assert ids(recommender.recommend(1, limit=1)) == ["2603.00003"]


def test_a_newer_index_is_picked_up(
    recommender: Recommender, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("paperfeed.index.live.RECHECK", 0)
    engine = recommender.engine
    mark(engine, saved_papers, QUANTUM_OLD)
    assert ids(recommender.recommend(1, limit=1)) == ["2603.00006"]
    quantum = ("Quantum codes", "Error correction.", ["quant-ph"], NEW, {QUANTUM: 1})
    add_papers(engine, tmp_path, {"2603.00008": quantum})
    assert ids(recommender.recommend(1, limit=2)) == ["2603.00008", "2603.00006"]


def test_vectors_are_read_from_the_index_file_a_chunk_at_a_time(
    recommender: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    mark(recommender.engine, saved_papers, PROTEIN_OLD)
    mark(recommender.engine, not_interested, "2603.00004")
    expected = ids(recommender.recommend(1, categories=[]))
    monkeypatch.setattr(recommend, "CHUNK", 2)
    read: list[int] = []
    take = VectorIndex.take
    monkeypatch.setattr(
        VectorIndex, "take", lambda self, rows: read.append(len(rows)) or take(self, rows)
    )
    assert ids(recommender.recommend(1, categories=[])) == expected
    catalogue = recommender.catalogue()
    assert max(read[:-1]) <= 2 and read[-1] == len(expected)  # scored in chunks; then those shown
    assert len(catalogue) == len(PAPERS)
    held = [value for value in vars(catalogue).values() if isinstance(value, np.ndarray)]
    assert not any(array.ndim == 2 for array in held)  # no copy of the vectors in memory
