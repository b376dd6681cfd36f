"""Durable vectors, resumable embedding and the HNSW index, with a deterministic fake embedder."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select

from hash_embedder import HashEmbedder
from memory_source import MemorySource, paper
from paperfeed.index.dense import IndexUpdate, VectorIndex, VectorIndexError, embed_pending
from paperfeed.ingest.pipeline import ingest
from paperfeed.records import Withdrawal
from paperfeed.store.accounts import create_user
from paperfeed.store.activity import record_submission
from paperfeed.store.schema import embeddings
from paperfeed.store.vectors import Coverage, count_to_embed, coverage, document_text

TOPICS = {
    "2501.00001": ("Graph neural networks", "Message passing between graph nodes."),
    "2501.00002": ("Graph attention networks", "Attention over graph neighbours."),
    "2501.00003": ("Protein folding", "Predicting protein structure from sequences."),
    "2501.00004": ("Galaxy clusters", "Dark matter maps from weak lensing."),
    "2501.00005": ("Surface codes", "Quantum error correction of logical qubits."),
}


def add(engine: Engine, *items) -> None:
    ingest(engine, MemorySource(items), batch_size=100)


def add_topics(engine: Engine) -> None:
    add(engine, *(paper(i, title=t, abstract=a) for i, (t, a) in TOPICS.items()))


def text_of(arxiv_id: str) -> str:
    return document_text(*TOPICS[arxiv_id])


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(embeddings)).scalar_one()


def ids(results: list[tuple[str, float]]) -> list[str]:
    return [arxiv_id for arxiv_id, _ in results]


def test_every_paper_is_embedded_once_newest_first(engine: Engine) -> None:
    add_topics(engine)
    embedder = HashEmbedder()
    progress: list[tuple[int, int | None]] = []
    done = embed_pending(engine, embedder, batch_size=2, on_progress=lambda *a: progress.append(a))
    assert done == 5
    assert embedder.texts == [text_of(i) for i in sorted(TOPICS, reverse=True)]
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert embed_pending(engine, embedder) == 0
    assert embedder.calls == 3


def test_a_crash_loses_at_most_one_batch_and_a_rerun_embeds_only_the_rest(engine: Engine) -> None:
    add_topics(engine)
    with pytest.raises(RuntimeError, match="embedder crashed"):
        embed_pending(engine, HashEmbedder(fail_on=2), batch_size=2)
    assert stored_count(engine) == 2
    embedder = HashEmbedder()
    assert embed_pending(engine, embedder, batch_size=2) == 3
    assert embedder.texts == [text_of("2501.00003"), text_of("2501.00002"), text_of("2501.00001")]


def test_a_new_abstract_is_reembedded_and_other_changes_are_not(engine: Engine) -> None:
    add_topics(engine)
    embed_pending(engine, HashEmbedder())
    add(
        engine,
        paper("2501.00001", version=2, title="Graph neural networks", abstract="Revised."),
        paper("2501.00002", title=TOPICS["2501.00002"][0], abstract=TOPICS["2501.00002"][1]),
        paper("2501.00003", upvotes=7, title="x", abstract="y"),  # not newer: fills upvotes only
    )
    assert count_to_embed(engine, HashEmbedder.model) == 2
    embedder = HashEmbedder()
    assert embed_pending(engine, embedder) == 1
    assert embedder.texts == ["Graph neural networks. Revised."]
    assert count_to_embed(engine, HashEmbedder.model) == 0


def test_withdrawn_papers_are_not_embedded(engine: Engine) -> None:
    add_topics(engine)
    add(engine, Withdrawal("2501.00002"))
    embedder = HashEmbedder()
    assert embed_pending(engine, embedder) == 4
    assert text_of("2501.00002") not in embedder.texts


@pytest.fixture
def index(engine: Engine, tmp_path: Path) -> VectorIndex:
    add_topics(engine)
    embed_pending(engine, HashEmbedder())
    index = VectorIndex(tmp_path / "dense")
    assert index.update(engine, HashEmbedder.model) == IndexUpdate(added=5, removed=0)
    return index


def test_search_finds_the_nearest_paper_first_with_exact_cosines(index: VectorIndex) -> None:
    query = HashEmbedder().embed_query("graph neural message passing")
    results = index.search(query, k=3)
    assert ids(results)[:2] == ["2501.00001", "2501.00002"]
    vectors = {i: HashEmbedder().embed_query(text_of(i)) for i in TOPICS}
    for arxiv_id, score in results:
        assert score == pytest.approx(float(vectors[arxiv_id] @ query), abs=2e-3)
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


def test_similar_papers_never_include_the_paper_itself(index: VectorIndex) -> None:
    for arxiv_id in TOPICS:
        assert arxiv_id not in ids(index.similar(arxiv_id, k=10))
        assert len(index.similar(arxiv_id, k=10)) == 4
    assert ids(index.similar("2501.00001v3", k=1)) == ["2501.00002"]


def test_similar_to_a_paper_without_a_vector_is_a_key_error(index: VectorIndex) -> None:
    with pytest.raises(KeyError, match=r"2501\.09999"):
        index.similar("2501.09999")


def test_stored_vectors_and_cosines_are_looked_up_by_id_in_any_version(
    index: VectorIndex,
) -> None:
    query = HashEmbedder().embed_query("protein structure")
    wanted = ["2501.00003v2", "2501.09999", "2501.00001"]
    vectors = index.vectors_of(wanted)
    assert vectors.shape == (2, HashEmbedder.dim)
    expected = [HashEmbedder().embed_query(text_of(i)) for i in ("2501.00003", "2501.00001")]
    assert np.allclose(vectors, expected, atol=2e-3)
    cosines = index.cosines(query, wanted)
    assert ids(cosines) == ["2501.00003v2", "2501.00001"]
    assert cosines[0][1] == pytest.approx(float(expected[0] @ query), abs=2e-3)


@pytest.mark.parametrize("view", [False, True])
def test_a_saved_index_loads_with_identical_results(index: VectorIndex, view: bool) -> None:
    query = HashEmbedder().embed_query("protein structure")
    loaded = VectorIndex(index.folder, view=view)
    assert (len(loaded), loaded.model, loaded.dim) == (5, HashEmbedder.model, 64)
    assert loaded.search(query, k=5) == index.search(query, k=5)
    assert loaded.similar("2501.00004") == index.similar("2501.00004")


def test_a_viewed_index_is_read_only(engine: Engine, index: VectorIndex) -> None:
    viewed = VectorIndex(index.folder, view=True)
    with pytest.raises(RuntimeError, match="read-only"):
        viewed.update(engine, HashEmbedder.model)


def test_update_adds_new_and_reembedded_papers_and_drops_withdrawn_ones(
    engine: Engine, index: VectorIndex
) -> None:
    add(
        engine,
        paper("2501.00006", title="Sourdough bread", abstract="Wild yeast fermentation."),
        paper("2501.00001", version=2, title="Sourdough starters", abstract="Yeast feeding."),
        Withdrawal("2501.00005"),
    )
    embed_pending(engine, HashEmbedder())
    assert index.update(engine, HashEmbedder.model) == IndexUpdate(added=2, removed=2)
    assert index.update(engine, HashEmbedder.model) == IndexUpdate(added=0, removed=0)
    query = HashEmbedder().embed_query("sourdough yeast")
    assert ids(index.search(query, k=2)) == ["2501.00001", "2501.00006"]
    assert "2501.00005" not in ids(index.search(query, k=10))
    assert len(index) == 5
    assert VectorIndex(index.folder).search(query, k=10) == index.search(query, k=10)


def test_rebuild_gives_the_updated_results_and_compacts(engine: Engine, index: VectorIndex) -> None:
    add(engine, paper("2501.00001", version=2, title="Sourdough", abstract="Yeast."))
    embed_pending(engine, HashEmbedder())
    index.update(engine, HashEmbedder.model)
    query = HashEmbedder().embed_query("graph attention")
    before = index.search(query, k=5)
    assert index.rebuild(engine, HashEmbedder.model) == IndexUpdate(added=5, removed=5)
    assert index.search(query, k=5) == before
    files = {path.name: path.stat().st_size for path in index.folder.iterdir()}
    assert sorted(files) == ["index-3.usearch", "meta.json", "rows-3.npz", "vectors-3.f16"]
    assert files["vectors-3.f16"] == 5 * 64 * 2  # the replaced vector's row is gone


def test_a_crash_while_saving_leaves_the_last_saved_index(
    engine: Engine, index: VectorIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = HashEmbedder().embed_query("sourdough graph")
    before = index.search(query, k=5)
    add(engine, paper("2501.00006", title="Sourdough graph", abstract="Yeast."))
    embed_pending(engine, HashEmbedder())

    def crash(*args) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("paperfeed.index.dense.os.replace", crash)
        with pytest.raises(KeyboardInterrupt):
            index.update(engine, HashEmbedder.model)
    reopened = VectorIndex(index.folder)
    assert reopened.search(query, k=5) == before
    assert reopened.update(engine, HashEmbedder.model) == IndexUpdate(added=1, removed=0)
    assert ids(reopened.search(query, k=1)) == ["2501.00006"]
    assert len(list(index.folder.iterdir())) == 4


def test_another_instance_picks_up_saved_changes_before_searching_or_updating(
    engine: Engine, index: VectorIndex
) -> None:
    other = VectorIndex(index.folder)
    add(engine, paper("2501.00006", title="Sourdough bread", abstract="Yeast."))
    embed_pending(engine, HashEmbedder())
    index.update(engine, HashEmbedder.model)
    assert (other.refresh(), other.refresh()) == (True, False)
    assert ids(other.similar("2501.00006", k=10)) == ids(index.similar("2501.00006", k=10))
    add(engine, paper("2501.00007", title="Rye bread", abstract="Yeast."))
    embed_pending(engine, HashEmbedder())
    other.update(engine, HashEmbedder.model)
    assert index.update(engine, HashEmbedder.model) == IndexUpdate(added=0, removed=0)
    assert len(index) == 7


def test_a_reader_keeps_its_results_while_the_index_is_rebuilt(
    engine: Engine, index: VectorIndex
) -> None:
    reader = VectorIndex(index.folder)
    query = HashEmbedder().embed_query("protein folding")
    before = reader.search(query, k=5)
    add(engine, paper("2501.00003", version=2, title="Sourdough", abstract="Yeast."))
    embed_pending(engine, HashEmbedder())
    index.rebuild(engine, HashEmbedder.model)
    assert reader.search(query, k=5) == before
    assert ids(index.search(query, k=1)) != ids(before[:1])


def test_vectors_of_another_size_under_the_same_model_need_a_rebuild(
    engine: Engine, index: VectorIndex
) -> None:
    class Smaller(HashEmbedder):
        dim = 32

    with engine.begin() as conn:
        conn.execute(delete(embeddings))
    add(engine, paper("2501.00006"))
    embed_pending(engine, Smaller())
    with pytest.raises(VectorIndexError, match=r"have 32 dimensions, the index in .* 64: rebuild"):
        index.update(engine, HashEmbedder.model)
    assert index.rebuild(engine, HashEmbedder.model) == IndexUpdate(added=6, removed=5)
    assert VectorIndex(index.folder).dim == 32


def test_an_index_of_another_model_is_rebuilt(engine: Engine, index: VectorIndex) -> None:
    assert index.update(engine, "other-model") == IndexUpdate(added=0, removed=5)
    assert len(VectorIndex(index.folder)) == 0
    assert index.search(np.ones(64), k=3) == []


def test_an_empty_folder_is_an_empty_index(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "nothing")
    assert (len(index), index.search(np.ones(8))) == (0, [])
    assert not (tmp_path / "nothing").exists()


def test_the_queue_takes_submitted_papers_then_the_newest_announced_then_undated(
    engine: Engine,
) -> None:
    days = {"2401.00001": date(2024, 1, 2), "2501.00001": date(2025, 1, 6)}
    days |= {"2501.00002": date(2025, 1, 7), "2501.00003": date(2025, 1, 7)}
    add(engine, *(paper(i, announced=day) for i, day in days.items()), paper("2301.00001"))
    user = create_user(engine, "reader@example.org", "a long passphrase")
    record_submission(engine, user["id"], "2401.00001")  # an old paper, submitted on the site
    embedder = HashEmbedder()
    embed_pending(engine, embedder, batch_size=2)
    order = ["2401.00001", "2501.00003", "2501.00002", "2501.00001", "2301.00001"]
    assert embedder.texts == [document_text(f"Paper {i}", f"Abstract of {i}.") for i in order]


def test_a_run_bounded_by_limit_or_day_embeds_the_newest_and_coverage_says_so(
    engine: Engine,
) -> None:
    add(engine, *(paper(f"2501.0000{d}", announced=date(2025, 1, d)) for d in range(1, 6)))
    add(engine, paper("2301.00001"))  # no announcement day
    embedder = HashEmbedder()
    assert embed_pending(engine, embedder, batch_size=3, limit=2) == 2
    assert coverage(engine, embedder.model) == Coverage(
        embedded=2,
        pending=4,
        oldest_embedded=date(2025, 1, 4),
        newest_embedded=date(2025, 1, 5),
        newest_pending=date(2025, 1, 3),
    )
    assert embed_pending(engine, embedder, since=date(2025, 1, 2)) == 2
    assert embed_pending(engine, embedder) == 2
    assert coverage(engine, embedder.model).complete
    assert len(embedder.texts) == len(set(embedder.texts)) == 6


def test_a_stopped_run_commits_the_batch_it_finished_and_no_more(engine: Engine) -> None:
    add_topics(engine)
    stop = threading.Event()

    class Stopping(HashEmbedder):
        def embed_documents(self, texts):
            stop.set()  # asked to stop while this batch is embedded
            return super().embed_documents(texts)

    assert embed_pending(engine, Stopping(), batch_size=2, stop=stop) == 2
    assert stored_count(engine) == 2
