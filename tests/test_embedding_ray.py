"""Embedding on a real local Ray instance (2 CPUs), started once for the module."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
from click.testing import CliRunner
from sqlalchemy import Engine, select

import paperfeed
from conftest import SAMPLE
from hash_embedder import HashEmbedder
from memory_source import MemorySource, paper
from paperfeed.cli import cli
from paperfeed.index.dense import embed_pending
from paperfeed.index.distributed import RayEmbedder
from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import EmbeddingError
from paperfeed.ingest.pipeline import ingest
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.schema import embeddings, papers
from paperfeed.store.vectors import document_text, load_vectors

PAPERS = 300


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """A Ray instance of 2 CPUs whose workers import this checkout's paperfeed and the tests'
    helpers, as the test process does."""
    path = [str(Path(paperfeed.__file__).parents[1]), str(Path(__file__).parent)]
    ray.init(
        num_cpus=2,
        object_store_memory=150 * 2**20,
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(path)}},
    )
    yield
    ray.shutdown()


def hashing(**options: Any) -> RayEmbedder:
    """HashEmbedders on the local Ray's workers."""
    return RayEmbedder(Settings(), "local", build=lambda settings: HashEmbedder(), **options)


class Recorder:
    """The texts an embedder was given (here, in the process that commits the vectors)."""

    def __init__(self, embedder: RayEmbedder) -> None:
        self.embedder = embedder
        self.model = embedder.model
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += texts
        return self.embedder.embed_documents(texts)


@pytest.fixture
def synthetic(engine: Engine) -> list[str]:
    """A store of PAPERS papers of a few words each; their texts."""
    records = [
        paper(f"2601.{n:05d}", title=f"Paper {n}", abstract=f"Words {n} and {n % 7} more.")
        for n in range(1, PAPERS + 1)
    ]
    ingest(engine, MemorySource(records), batch_size=100)
    return [document_text(r.title, r.abstract) for r in records]


def stored(engine: Engine, model: str) -> dict[str, np.ndarray]:
    """The vectors stored under ``model``, by arXiv id."""
    with engine.connect() as conn:
        ids = np.array(conn.execute(select(embeddings.c.paper_id)).scalars().all())
    return {
        arxiv_id: vector
        for batch in load_vectors(engine, model, ids)
        for arxiv_id, vector in zip(batch.arxiv_ids, batch.vectors, strict=True)
    }


def test_index_on_ray_stores_the_vectors_the_model_gives_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # float32: an int8 vector depends slightly on the batch it was embedded in (cosine ~0.996)
    monkeypatch.setenv("PAPERFEED_EMBEDDING_BACKEND", "onnx")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "jsonl", str(SAMPLE)]).exit_code == 0
    result = runner.invoke(cli, ["index", "--ray-address", "local"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "200 papers embedded" in result.output

    settings = Settings()
    engine = open_store(settings.database)
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.title, papers.c.abstract)).all()
    vectors = stored(engine, settings.embedding_model)
    assert sorted(vectors) == sorted(row.arxiv_id for row in rows)
    here = make_embedder(settings).embed_documents([document_text(*row[1:]) for row in rows])
    cosines = [
        float(vectors[row.arxiv_id] @ vector) for row, vector in zip(rows, here, strict=True)
    ]
    assert min(cosines) >= 0.999
    engine.dispose()


def test_an_interrupted_run_goes_on_and_embeds_every_paper_once(
    engine: Engine, synthetic: list[str]
) -> None:
    with hashing() as workers:
        first = Recorder(workers)

        def interrupt(done: int, total: int | None) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            embed_pending(engine, first, batch_size=100, on_progress=interrupt)
        assert len(stored(engine, HashEmbedder.model)) == 100  # the first round is kept

        second = Recorder(workers)
        assert embed_pending(engine, second, batch_size=100) == PAPERS - 100

    texts = first.texts + second.texts
    assert sorted(texts) == sorted(synthetic)  # each once
    vectors = stored(engine, HashEmbedder.model)
    assert len(vectors) == PAPERS
    expected = HashEmbedder().embed_documents(synthetic)
    found = np.stack([vectors[f"2601.{n:05d}"] for n in range(1, PAPERS + 1)])
    assert np.allclose(found, expected, atol=1e-3)  # float16 in the store


def test_a_worker_that_dies_fails_the_round_and_a_new_run_does_the_rest(
    engine: Engine, synthetic: list[str]
) -> None:
    with hashing(workers=2) as workers:
        assert embed_pending(engine, workers, batch_size=100) == PAPERS
    ingest(engine, MemorySource([paper(f"2602.{n:05d}") for n in range(1, 101)]))
    with hashing(workers=2) as workers:
        ray.kill(workers._actors[0])
        with pytest.raises(EmbeddingError, match="a Ray worker stopped"):
            embed_pending(engine, workers, batch_size=100)
    assert len(stored(engine, HashEmbedder.model)) == PAPERS
    with hashing() as workers:
        assert embed_pending(engine, workers, batch_size=100) == 100


def test_workers_that_do_not_fit_the_cluster_are_refused() -> None:
    with pytest.raises(
        EmbeddingError, match="has 2 CPUs and 0 GPUs: too few for a worker of 1 CPU and 1 GPUs"
    ):
        hashing(gpus=1)
    with pytest.raises(EmbeddingError, match="too few for 3 workers of 1 CPU and 0 GPUs each"):
        hashing(workers=3)


def test_without_ray_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as when not installed
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "jsonl", str(SAMPLE)]).exit_code == 0
    result = runner.invoke(cli, ["index", "--ray-address", "auto"])
    assert result.exit_code == 1
    assert "pip install 'paperfeed[ray]'" in result.output
