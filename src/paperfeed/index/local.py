"""The ``local`` embedding backend: a sentence-transformers model in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from paperfeed.index.embedding import (
    PACKAGED_MODEL,
    EmbeddingError,
    load_sentence_transformer,
)
from paperfeed.store.vectors import unit_rows

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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
        self._loaded: SentenceTransformer | None = None

    @property
    def dim(self) -> int:
        dim = self._transformer().get_embedding_dimension()
        if dim is None:  # sentence-transformers finds no module that fixes it
            raise EmbeddingError(f"{self.model} has no fixed vector size")
        return dim

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

    def _transformer(self) -> SentenceTransformer:
        if self._loaded is None:
            self._loaded = load_sentence_transformer(self.model, device=self.device)
        return self._loaded
