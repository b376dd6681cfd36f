"""paperfeed: a self-hosted research-paper discovery service.

The Python API in one place; the store and models open on first use, not at import::

    import paperfeed
    results = paperfeed.search("sparse attention", mode="hybrid", limit=10)
    neighbours = paperfeed.similar("2503.11731")
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paperfeed.ranking.search import Hit, SearchResults
    from paperfeed.services import Services

__all__ = ["default_services", "search", "similar"]


@cache
def default_services() -> Services:
    """The services over the store and indexes configured by ``PAPERFEED_*`` / config.toml."""
    from paperfeed.services import Services

    return Services.from_settings()


def search(text: str, **options: Any) -> SearchResults:
    """Search papers; options as :meth:`paperfeed.ranking.search.Searcher.search`."""
    return default_services().searcher.search(text, **options)


def similar(arxiv_id: str, limit: int = 10) -> list[Hit]:
    """Papers nearest to ``arxiv_id`` by embedding, never the paper itself."""
    return default_services().searcher.similar(arxiv_id, limit)
