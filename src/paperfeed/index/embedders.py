"""The embedding backends by name: :func:`make_embedder` builds the one settings choose.

Backends are factories in :data:`EMBEDDERS`, keyed by the ``embedding_backend`` setting; the
built-ins register with :func:`register_embedder` exactly as a plugin would.
"""

from __future__ import annotations

from collections.abc import Callable

from paperfeed.index.embedding import Embedder
from paperfeed.index.local import LocalEmbedder
from paperfeed.index.onnx import OnnxEmbedder
from paperfeed.index.openai import OpenAIEmbedder
from paperfeed.settings import Settings

EmbedderFactory = Callable[[Settings], Embedder]
EMBEDDERS: dict[str, EmbedderFactory] = {}


def register_embedder(name: str) -> Callable[[EmbedderFactory], EmbedderFactory]:
    """Make ``factory(settings)`` the embedder of ``embedding_backend = name``."""

    def add(factory: EmbedderFactory) -> EmbedderFactory:
        EMBEDDERS[name] = factory
        return factory

    return add


def make_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.embedding_backend`` names (default ``"onnx-int8"``)."""
    backend = settings.embedding_backend
    if backend not in EMBEDDERS:
        known = ", ".join(sorted(EMBEDDERS))
        raise ValueError(f"unknown embedding backend {backend!r} (known: {known})")
    return EMBEDDERS[backend](settings)


@register_embedder("local")
def _local(settings: Settings) -> LocalEmbedder:
    return LocalEmbedder(settings.embedding_model, batch_size=settings.embedding_batch_size)


@register_embedder("onnx")
def _onnx(settings: Settings) -> OnnxEmbedder:
    return OnnxEmbedder(
        settings.embedding_model, settings.model_dir, batch_size=settings.embedding_batch_size
    )


@register_embedder("onnx-int8")
def _onnx_int8(settings: Settings) -> OnnxEmbedder:
    """``onnx`` with documents run in int8 (~2x as fast, mean cosine 0.994), queries as is."""
    return OnnxEmbedder(
        settings.embedding_model,
        settings.model_dir,
        batch_size=settings.embedding_batch_size,
        int8_documents=True,
    )


@register_embedder("openai")
def _openai(settings: Settings) -> OpenAIEmbedder:
    if not settings.embedding_url:
        raise ValueError(
            "the openai embedding backend needs embedding_url (PAPERFEED_EMBEDDING_URL), "
            "e.g. http://localhost:8080/v1"
        )
    return OpenAIEmbedder(
        settings.embedding_url,
        settings.embedding_model,
        api_key=settings.embedding_api_key,
        batch_size=settings.embedding_batch_size,
        concurrency=settings.embedding_concurrency,
        timeout=settings.http_timeout,
    )
