"""The ``openai`` embedding backend: an OpenAI-compatible ``/v1/embeddings`` endpoint."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from paperfeed.index.embedding import EmbeddingError
from paperfeed.store.vectors import unit_rows


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
