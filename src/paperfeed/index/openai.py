"""The ``openai`` embedding backend: an OpenAI-compatible ``/v1/embeddings`` endpoint.

Texts go in requests of ``batch_size``, up to ``concurrency`` of them in flight at once (threads
sharing one connection pool). A request that meets 429, 5xx, a timeout or a dropped connection
is tried again after an exponential, jittered backoff, or as long as ``Retry-After`` asks,
up to ``attempts`` times and ``max_wait`` seconds of waiting; other answers fail at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import orjson

from paperfeed.index.embedding import EmbeddingError
from paperfeed.sources.http import RETRY_STATUSES, retry_after
from paperfeed.store.vectors import unit_rows

log = logging.getLogger("paperfeed.index")

ATTEMPTS = 5  # tries of one request: waits of ~1, 2, 4, 8 s between them
BACKOFF = 1.0  # seconds before the first retry, doubled before each next one
MAX_WAIT = 60.0  # seconds of waiting in all for one request (a longer Retry-After gives up)


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
        concurrency: int = 4,
        timeout: float = 60.0,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        max_wait: float = MAX_WAIT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.url = (
            url if url.rstrip("/").endswith("/embeddings") else f"{url.rstrip('/')}/embeddings"
        )
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
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
        requests = [texts[i : i + step] for i in range(0, len(texts), step)]
        if len(requests) == 1 or self.concurrency == 1:
            return np.concatenate([self._post(batch) for batch in requests])
        pool = ThreadPoolExecutor(min(self.concurrency, len(requests)), "paperfeed-embed")
        try:
            return np.concatenate(list(pool.map(self._post, requests)))
        finally:  # after a failure, requests not yet sent are not sent
            pool.shutdown(cancel_futures=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)  # an endpoint embeds queries and documents alike

    def close(self) -> None:
        self._client.close()

    def _post(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of ``texts`` from one request, tried again while that may help."""
        body = {"model": self.model, "input": list(texts), "encoding_format": "float"}
        waited = 0.0
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TransportError as exc:  # refused, dropped, timed out
                problem, asked = f"cannot reach {self.url} ({type(exc).__name__}: {exc})", None
            else:
                if response.status_code == 200:
                    vectors = self._parse(response, len(texts))
                    self._dim = vectors.shape[1]
                    return vectors
                problem = f"{self.url} answered HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    raise EmbeddingError(f"{problem}: {response.text[:300]}")
                asked = retry_after(response)
                if asked is not None:
                    problem += f" (Retry-After: {asked:.0f} s)"
            wait = asked if asked is not None else self._backoff(attempt)
            if attempt == self.attempts or waited + wait > self.max_wait:
                break
            log.warning(
                "%s; attempt %d of %d, next in %.1f s", problem, attempt, self.attempts, wait
            )
            time.sleep(wait)
            waited += wait
        tries = f"{attempt} attempt{'s' if attempt > 1 else ''} over {waited:.0f} s"
        raise EmbeddingError(
            f"{problem}; gave up after {tries}. Check that the endpoint is up and try again: "
            "papers already embedded are kept, and `paperfeed index` embeds the rest"
        )

    def _backoff(self, attempt: int) -> float:
        """Doubling waits, each scaled by 0.5-1.5 so that clients do not retry in step."""
        return self.backoff * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.5)

    def _parse(self, response: httpx.Response, count: int) -> np.ndarray:
        try:
            items = sorted(orjson.loads(response.content)["data"], key=lambda item: item["index"])
            vectors = np.array([item["embedding"] for item in items], np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"{self.url}: not an embeddings response ({exc!r})") from None
        if vectors.ndim != 2 or len(vectors) != count:
            raise EmbeddingError(f"{self.url}: {count} texts sent, {len(vectors)} vectors back")
        return unit_rows(vectors)
