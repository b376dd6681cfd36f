"""Bringing the search indexes up to date from the web process (after a submission)."""

from __future__ import annotations

import logging

from paperfeed.index.dense import VectorIndex, embed_pending
from paperfeed.services import Services

log = logging.getLogger("paperfeed.web")


def index_soon(services: Services) -> None:
    """Index what changed in the store: words first (searchable at once), then embeddings.
    If another process holds the index writer, it will index these papers itself."""
    searcher, engine = services.searcher, services.engine
    try:
        searcher.lexical.update(engine)
    except ValueError as exc:  # another writer at work
        log.info("lexical index busy (%s); left to the other writer", exc)
    if searcher.embedder is None or searcher.vectors is None:
        return
    try:
        embed_pending(engine, searcher.embedder, batch_size=services.settings.embedding_batch_size)
        # a copy, saved as a new generation: searches running now keep the index they hold
        VectorIndex(searcher.vectors.folder).update(engine, searcher.embedder.model)
    except Exception:  # the paper stays lexically searchable; `paperfeed index` retries
        log.exception("embedding new papers failed; run `paperfeed index`")
