"""Hybrid search and similar papers through the Searcher, as the CLI and web use it."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hash_embedder import HashEmbedder, indexed_searcher
from memory_source import MemorySource, paper
from paperfeed.index.dense import VectorIndex, embed_pending, saved_coverage
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import RECHECK, LiveVectors
from paperfeed.index.query import Filters
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.store.vectors import coverage

PAPERS = {
    "2501.00001": ("Graph neural networks", "Message passing between graph nodes.", "cs.LG"),
    "2501.00002": ("Graph attention networks", "Attention over graph neighbours.", "cs.LG"),
    "2501.00003": ("Protein folding", "Predicting protein structure from sequences.", "q-bio.BM"),
    "2501.00004": ("Galaxy clusters", "Dark matter maps from weak lensing.", "astro-ph.CO"),
    "2501.00005": ("Surface codes", "Quantum error correction of logical qubits.", "quant-ph"),
}


@pytest.fixture
def searcher(engine: Engine, tmp_path: Path) -> Searcher:
    records = [
        paper(key, title=t, abstract=a, categories=[c], announced=date(2025, 1, int(key[-1])))
        for key, (t, a, c) in PAPERS.items()
    ]
    ingest(engine, MemorySource(records))
    return indexed_searcher(engine, tmp_path, Tuning(depth=10))


def ids(results) -> list[str]:
    return [hit.arxiv_id for hit in results.hits]


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_each_mode_finds_the_matching_paper_first(searcher: Searcher, mode: str) -> None:
    assert ids(searcher.search("protein structure", mode=mode))[0] == "2501.00003"


def test_hits_carry_the_card_and_an_escaped_snippet(searcher: Searcher) -> None:
    hit = searcher.search("protein structure").hits[0]
    assert (hit.title, hit.categories, hit.announced) == (
        "Protein folding",
        ["q-bio.BM"],
        date(2025, 1, 3),
    )
    assert hit.snippet is not None
    assert "<b>protein</b>" in hit.snippet.html().lower()


def test_filters_apply_to_the_dense_side_too(searcher: Searcher) -> None:
    found = ids(searcher.search("graph networks", mode="dense", filters=Filters(categories=["cs"])))
    assert sorted(found) == ["2501.00001", "2501.00002"]


def test_query_filters_work_without_words(searcher: Searcher) -> None:
    assert ids(searcher.search("cat:quant-ph")) == ["2501.00005"]


def test_sort_by_date_lists_text_matches_newest_first(searcher: Searcher) -> None:
    assert ids(searcher.search("graph", sort="date")) == ["2501.00002", "2501.00001"]


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_a_keyword_query_lists_papers_with_all_its_words_first(
    searcher: Searcher, mode: str
) -> None:
    found = ids(searcher.search("graph attention", mode=mode))
    assert found[:2] == ["2501.00002", "2501.00001"]


def test_paging_continues_where_the_last_page_ended(searcher: Searcher) -> None:
    first = ids(searcher.search("graph networks", mode="lexical", limit=1))
    second = ids(searcher.search("graph networks", mode="lexical", limit=1, offset=1))
    assert sorted(first + second) == ["2501.00001", "2501.00002"]


def test_similar_papers_never_include_the_paper(searcher: Searcher) -> None:
    similar = [hit.arxiv_id for hit in searcher.similar("2501.00001v2", 3)]
    assert "2501.00001" not in similar
    assert similar[0] == "2501.00002"


def test_without_embeddings_search_falls_back_to_words_and_says_so(
    engine: Engine, tmp_path: Path
) -> None:
    ingest(engine, MemorySource([paper("2501.00001", title="Graph neural networks")]))
    lexical = LexicalIndex.open(tmp_path / "lexical")
    lexical.update(engine)
    searcher = Searcher(engine, lexical, LiveVectors(tmp_path / "dense"), HashEmbedder())
    for mode in ("hybrid", "dense"):
        results = searcher.search("graph", mode=mode)
        assert ids(results) == ["2501.00001"]
        assert results.notes == [
            "Meaning-based search is being prepared: for now papers are found by their words."
        ]


def test_partly_embedded_search_says_since_when_meaning_counts(
    engine: Engine, tmp_path: Path
) -> None:
    days = {"2501.00001": date(2025, 1, 6), "2501.00002": date(2025, 1, 7)}
    ingest(engine, MemorySource([paper(i, announced=day) for i, day in days.items()]))
    ingest(engine, MemorySource([paper("2501.00003", announced=date(2025, 1, 8))]))
    embed_pending(engine, HashEmbedder(), limit=1)  # the newest only
    VectorIndex(tmp_path / "dense").update(engine, HashEmbedder.model)
    assert saved_coverage(tmp_path / "dense") == coverage(engine, HashEmbedder.model)
    lexical = LexicalIndex.open(tmp_path / "lexical")
    lexical.update(engine)
    searcher = Searcher(engine, lexical, LiveVectors(tmp_path / "dense"), HashEmbedder())
    assert searcher.search("graph").notes == [
        "Meaning-based results cover papers announced since 8 Jan 2025; older ones are found "
        "by their words."
    ]
    embed_pending(engine, HashEmbedder())
    VectorIndex(tmp_path / "dense").update(engine, HashEmbedder.model)
    time.sleep(RECHECK)
    assert searcher.search("graph").notes == []


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "x" * 10_000, "the of and", "🤖🔥", "'; DROP TABLE papers; --", "\x00\x1f"],
)
def test_hostile_queries_return_results_or_nothing(searcher: Searcher, query: str) -> None:
    assert isinstance(searcher.search(query).hits, list)


def test_a_running_searcher_sees_papers_another_process_embedded(
    searcher: Searcher, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("paperfeed.index.live.RECHECK", 0.0)
    assert searcher.vectors is not None
    held = searcher.vectors.current()
    ingest(engine, MemorySource([paper("2501.00009", title="Sourdough", abstract="Wild yeast.")]))
    embed_pending(engine, HashEmbedder())
    VectorIndex(held.folder).update(engine, HashEmbedder.model)  # as `paperfeed index` would
    found = searcher.search("wild yeast sourdough", mode="dense", limit=1)
    assert ids(found) == ["2501.00009"]
    assert len(held) == 5  # the index a search was holding was left as it was
