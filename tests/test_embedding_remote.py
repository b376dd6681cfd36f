"""The ``openai`` backend against a real local HTTP server: the packaged model served, requests
in parallel, faults retried, a dead endpoint survived and resumed from."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from sqlalchemy import Engine, func, select

from conftest import SAMPLE
from embedding_server import EmbeddingServer
from hash_embedder import HashEmbedder
from memory_source import MemorySource, paper
from paperfeed.index.dense import embed_pending
from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import EmbeddingError
from paperfeed.index.openai import OpenAIEmbedder
from paperfeed.ingest.pipeline import ingest
from paperfeed.settings import Settings
from paperfeed.store.database import open_store
from paperfeed.store.schema import embeddings, papers
from paperfeed.store.vectors import document_text, load_vectors

PAPERS = [orjson.loads(line) for line in SAMPLE.read_text().splitlines()[:20]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite store of 20 real papers, none embedded yet."""
    engine = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    records = [paper(p["id"], title=p["title"], abstract=p["abstract"]) for p in PAPERS]
    ingest(engine, MemorySource(records), batch_size=100)
    yield engine
    engine.dispose()


def remote(server: EmbeddingServer, **options: Any) -> OpenAIEmbedder:
    """A client of ``server``: 2 texts a request, 2 requests at once, retries without delay."""
    defaults = {"batch_size": 2, "concurrency": 2, "backoff": 0.01}
    return OpenAIEmbedder(server.url, server.embedder.model, **(defaults | options))


def texts(engine: Engine) -> dict[str, str]:
    """The text embedded for each paper, by arXiv id."""
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.title, papers.c.abstract)).all()
    return {row.arxiv_id: document_text(row.title, row.abstract) for row in rows}


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(embeddings)).scalar_one()


def embedded_once(server: EmbeddingServer, engine: Engine) -> bool:
    """Whether the server embedded each paper of the store exactly once."""
    return sorted(server.texts) == sorted(texts(engine).values())


def test_vectors_from_the_served_model_equal_the_in_process_ones(store: Engine) -> None:
    # float32: an int8 vector depends slightly on the batch it was embedded in (cosine ~0.996)
    local = make_embedder(Settings(embedding_backend="onnx"))
    with EmbeddingServer(local) as server:
        client = OpenAIEmbedder(server.url, local.model, batch_size=4, concurrency=3)
        with closing(client) as embedder:
            assert embed_pending(store, embedder, batch_size=12) == len(PAPERS)
    assert embedded_once(server, store)
    by_id = texts(store)
    for batch in load_vectors(store, local.model):
        expected = local.embed_documents([by_id[i] for i in batch.arxiv_ids])
        assert np.all(np.sum(batch.vectors * expected, axis=1) >= 0.999)
    assert stored_count(store) == len(PAPERS)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_requests_overlap_up_to_the_concurrency_and_vectors_keep_input_order(
    concurrency: int,
) -> None:
    documents = [document_text(p["title"], p["abstract"]) for p in PAPERS[:16]]
    server = EmbeddingServer(HashEmbedder(), delay=0.1)
    with server, closing(remote(server, concurrency=concurrency)) as embedder:
        vectors = embedder.embed_documents(documents)
    assert np.allclose(vectors, HashEmbedder().embed_queries(documents), atol=1e-6)
    assert server.requests == 8
    assert server.max_in_flight == concurrency


def test_rate_limits_server_errors_and_dropped_connections_are_retried(
    store: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with EmbeddingServer(HashEmbedder()) as server:
        server.fail(1, status=429, retry_after=1)
        server.fail(2, status=503)
        server.drop(1)
        with (
            caplog.at_level(logging.WARNING, logger="paperfeed.index"),
            closing(remote(server, concurrency=1)) as embedder,
        ):
            done = embed_pending(store, embedder, batch_size=4)
    assert done == stored_count(store) == len(PAPERS)
    assert embedded_once(server, store)
    assert server.requests == len(PAPERS) // 2 + 4
    assert server.request_times[1] - server.request_times[0] >= 1.0  # as Retry-After asked
    retried = [record.getMessage() for record in caplog.records]
    assert len(retried) == 4  # all on the first request: its attempts 1 to 4 of 5
    assert "answered HTTP 429 (Retry-After: 1 s); attempt 1 of 5, next in 1.0 s" in retried[0]
    assert "answered HTTP 503; attempt 2 of 5" in retried[1]
    assert "answered HTTP 503; attempt 3 of 5" in retried[2]
    assert "RemoteProtocolError" in retried[3] and "attempt 4 of 5" in retried[3]


def test_a_dead_endpoint_fails_the_run_and_a_rerun_embeds_exactly_the_rest(
    store: Engine,
) -> None:
    with EmbeddingServer(HashEmbedder()) as server, closing(remote(server, attempts=3)) as embedder:
        server.die_after(4)  # requests of 2 texts: 2 batches of 4 papers
        failure = rf"cannot reach {server.url}/embeddings .*gave up after 3 attempts"
        with pytest.raises(EmbeddingError, match=failure + r".*`paperfeed index` embeds the rest"):
            embed_pending(store, embedder, batch_size=4)
        assert stored_count(store) == len(server.texts) == 8
        server.start()  # on the same port
        assert embed_pending(store, embedder, batch_size=4) == len(PAPERS) - 8
    assert stored_count(store) == len(PAPERS)
    assert embedded_once(server, store)


@pytest.mark.parametrize(
    ("status", "retry_after", "message"),
    [
        (400, None, r"answered HTTP 400: .*injected HTTP 400"),
        (429, 120, r"answered HTTP 429 \(Retry-After: 120 s\); gave up after 1 attempt over 0 s"),
    ],
)
def test_a_refused_request_or_a_long_retry_after_fails_at_once(
    store: Engine, status: int, retry_after: int | None, message: str
) -> None:
    with EmbeddingServer(HashEmbedder()) as server:
        server.fail(3, status=status, retry_after=retry_after)
        with (
            pytest.raises(EmbeddingError, match=message),
            closing(remote(server, concurrency=1)) as embedder,
        ):
            embed_pending(store, embedder, batch_size=4)
    assert server.requests == 1
    assert stored_count(store) == 0
