"""The embedding backends by name: :func:`make_embedder` builds the one settings choose.

Backends are factories in :data:`EMBEDDERS`, keyed by the ``embedding_backend`` setting; the
built-ins register with :func:`register_embedder` exactly as a plugin would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paperfeed.index.embedding import PACKAGED_MODEL, Embedder
from paperfeed.index.local import LocalEmbedder
from paperfeed.index.onnx import OnnxEmbedder
from paperfeed.index.openai import OpenAIEmbedder
from paperfeed.settings import default_home

EmbedderFactory = Callable[[Any], Embedder]  # settings -> embedder
EMBEDDERS: dict[str, EmbedderFactory] = {}


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


@register_embedder("local")
def _local(settings: Any) -> LocalEmbedder:
    return LocalEmbedder(
        getattr(settings, "embedding_model", PACKAGED_MODEL),
        batch_size=getattr(settings, "embedding_batch_size", 32),
    )


@register_embedder("onnx")
def _onnx(settings: Any) -> OnnxEmbedder:
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
