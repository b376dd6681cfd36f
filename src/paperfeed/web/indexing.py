"""Bringing the words index up to date from the web process (after a submission).

Embedding is never done here: it takes the background worker (``paperfeed worker``), which
embeds submitted papers before the rest. A submission is found by its words at once."""

from __future__ import annotations

import logging

from paperfeed.services import Services

log = logging.getLogger("paperfeed.web")

AT_ONCE = 1_000  # changed papers beyond which the words index is left to the worker too


def index_soon(services: Services) -> None:
    """Index the papers changed in the store by their words, unless the backlog is long (a
    bulk import not indexed yet) or another process holds the index writer: the worker (or
    `paperfeed index`) indexes them then."""
    lexical, engine = services.lexical, services.engine
    if (backlog := lexical.backlog(engine)) > AT_ONCE:
        log.info("%s papers changed: left to the worker (`paperfeed worker`)", backlog)
        return
    try:
        lexical.update(engine)
    except ValueError as exc:  # another writer at work
        log.info("words index busy (%s); left to the other writer", exc)
