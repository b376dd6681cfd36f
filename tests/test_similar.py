"""Similar papers from several signals, through the Searcher as the page, API and CLI use it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hash_embedder import indexed_searcher
from memory_source import MemorySource, paper
from paperfeed.index.lexical import LexicalIndex
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.search import Searcher
from paperfeed.ranking.similar import OLDER_AGE, refresh_similar
from paperfeed.records import Withdrawal
from paperfeed.store.accounts import create_user
from paperfeed.store.activity import set_hidden, set_saved
from paperfeed.store.similar import stored_similar

GRAPHS = "Message passing over graph nodes and edges with neural networks."
PAPERS = {
    "2501.00001": ("Graph neural networks", GRAPHS, ["Ada Lovelace"], "cs.LG"),
    "2501.00002": ("Graph attention", "Attention over graph nodes and edges.", ["B"], "cs.LG"),
    "2501.00003": ("Graph pooling", "Pooling graph nodes and edges in networks.", ["C"], "cs.LG"),
    "2501.00004": ("Galaxy clusters", "Dark matter maps from weak lensing.", ["D"], "astro-ph.CO"),
    # shares no word with the first paper, only its author
    "2501.00005": (
        "Surface codes",
        "Quantum error correction of qubits.",
        ["Ada Lovelace"],
        "quant-ph",
    ),
    "2501.00006": ("Protein folding", "Structure from amino acid sequences.", ["E"], "q-bio.BM"),
}


def ids(hits) -> list[str]:
    return [hit.arxiv_id for hit in hits]


def refresh(searcher: Searcher, now: datetime | None = None) -> int:
    """What the worker does: recompute the missing and stale similar papers."""
    vectors = searcher.vectors.current() if searcher.vectors else None
    return refresh_similar(searcher.engine, searcher.lexical, vectors, limit=100, now=now)


@pytest.fixture
def searcher(engine: Engine, tmp_path: Path) -> Searcher:
    records = [
        paper(key, title=t, abstract=a, authors=names, categories=[c])
        for key, (t, a, names, c) in PAPERS.items()
    ]
    ingest(engine, MemorySource(records))
    return indexed_searcher(engine, tmp_path)


def test_papers_alike_in_words_and_meaning_come_first_never_the_paper(searcher: Searcher) -> None:
    found = ids(searcher.similar("2501.00001v2", 3))
    assert "2501.00001" not in found
    assert sorted(found[:2]) == ["2501.00002", "2501.00003"]


def test_a_paper_sharing_an_author_shows_though_its_text_differs(searcher: Searcher) -> None:
    hits = searcher.similar("2501.00001", 3)
    assert ids(hits)[2] == "2501.00005"
    assert hits[2].why == ["shares 1 author"]


def test_papers_saved_together_show_once_the_worker_recomputes(
    engine: Engine, searcher: Searcher
) -> None:
    before = ids(searcher.similar("2501.00001", 5))
    assert before[:3] == ["2501.00002", "2501.00003", "2501.00005"]
    for number in range(2):
        reader = create_user(engine, f"reader{number}@example.org", "a long passphrase")
        set_saved(engine, reader["id"], "2501.00001", True)
        set_saved(engine, reader["id"], "2501.00006", True)
    assert ids(searcher.similar("2501.00001", 5)) == before  # kept, until stale
    refresh(searcher, datetime.now(UTC) + OLDER_AGE + timedelta(minutes=1))
    hits = searcher.similar("2501.00001", 5)
    assert "2501.00006" not in before  # nothing links them but the readers
    assert ids(hits)[: len(before)] == before
    assert ids(hits)[len(before)] == "2501.00006"
    assert "saved with it by 2 readers" in next(h.why for h in hits if h.arxiv_id == "2501.00006")


def test_without_vectors_words_and_authors_still_find_similar_papers(
    engine: Engine, searcher: Searcher, tmp_path: Path
) -> None:
    words_only = Searcher(engine, LexicalIndex.open(tmp_path / "lexical"))
    found = ids(words_only.similar("2501.00001", 5))
    assert found[0] == "2501.00002"
    assert sorted(found) == ["2501.00002", "2501.00003", "2501.00005"]


def test_hidden_and_withdrawn_papers_are_left_out(engine: Engine, searcher: Searcher) -> None:
    set_hidden(engine, "2501.00002", True)
    ingest(engine, MemorySource([Withdrawal("2501.00005")], "oai"))
    found = ids(searcher.similar("2501.00001", 5))
    assert "2501.00002" not in found
    assert "2501.00005" not in found
    assert "2501.00003" in found


def test_a_paper_not_in_the_store_is_a_key_error(searcher: Searcher) -> None:
    with pytest.raises(KeyError):
        searcher.similar("2501.09999")


def test_words_many_papers_share_still_count(engine: Engine, tmp_path: Path) -> None:
    # "language models" is in 12 of these 33 papers: a rule leaving out words that common
    # (cheaper to score) cost a fifth of co-list precision in bench/similar.py
    records = [
        paper(f"2502.{n:05d}", title=f"Topic {n}", abstract=f"Work on subject{n}.")
        for n in range(1, 19)
    ] + [
        paper(f"2502.{n:05d}", title=f"Language models {n}", abstract=f"Language models on {n}.")
        for n in range(19, 31)
    ]
    records += [
        paper("2503.00001", title="Reasoning", abstract="Language models reasoning in chains."),
        paper("2503.00002", title="Reasoning", abstract="Language models reasoning in steps."),
        paper("2503.00003", title="Reasoning", abstract="Reasoning in geometry."),
    ]
    ingest(engine, MemorySource(records))
    lexical = LexicalIndex.open(tmp_path / "lexical")
    lexical.update(engine)
    found = ids(Searcher(engine, lexical).similar("2503.00001", 3))
    assert found[:2] == ["2503.00002", "2503.00003"]


def test_similar_papers_once_computed_are_read_from_the_store(
    engine: Engine, searcher: Searcher, tmp_path: Path
) -> None:
    assert stored_similar(engine, "2501.00001").neighbours is None  # type: ignore[union-attr]
    first = searcher.similar("2501.00001", 5)
    kept = stored_similar(engine, "2501.00001")
    assert kept is not None and [key for key, _, _ in kept.neighbours or []][:5] == ids(first)
    # another process, which would compute them otherwise (words only, an empty index), reads
    # the same papers with the same reasons
    other = Searcher(engine, LexicalIndex.open(tmp_path / "other"))
    again = other.similar("2501.00001", 5)
    assert [(h.arxiv_id, h.why) for h in again] == [(h.arxiv_id, h.why) for h in first]
    assert refresh(searcher) == 0  # current: nothing for the worker


def test_two_first_visits_at_once_both_answer_and_one_row_is_kept(
    engine: Engine, searcher: Searcher
) -> None:
    start = threading.Barrier(4)

    def visit(_: int) -> list[str]:
        start.wait()
        return ids(searcher.similar("2501.00002", 3))

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(visit, range(4)))
    assert answers[0] and all(answer == answers[0] for answer in answers)
    kept = stored_similar(engine, "2501.00002")
    assert kept is not None and [key for key, _, _ in kept.neighbours or []][:3] == answers[0]
