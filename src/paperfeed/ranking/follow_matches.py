"""The papers that match a follow and arrived in a time range.

A stand-in for ``paperfeed.ranking.following.followed_papers``, built at the same time for the
home feed: the webhooks call this one function, which that one replaces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Engine

from paperfeed.index.query import Filters
from paperfeed.ranking.search import Searcher
from paperfeed.store.feed import arrived_papers
from paperfeed.store.schema import FollowKind


def followed_papers(
    engine: Engine,
    searcher: Searcher | None,
    follow: dict[str, Any],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """The cards of the papers announced from ``start``'s day to ``end``'s, or submitted from
    ``start`` to ``end``, that ``follow`` matches; a search's best first, others newest first."""
    cards = arrived_papers(engine, start.date(), end.date(), start, end)
    target = follow["target"]
    if follow["kind"] == FollowKind.AUTHOR:
        return [card for card in cards if target in (card["authors"] or ())]
    if follow["kind"] == FollowKind.ORGANISATION:
        return [card for card in cards if card["organisation"] == target]
    if follow["kind"] == FollowKind.CATEGORY:
        name = target.lower()
        return [
            card
            for card in cards
            if any(
                c.lower() == name or c.lower().startswith(f"{name}.") for c in card["categories"]
            )
        ]
    if searcher is None or not cards:
        return []
    fields = parse_qs(target)
    by_id = {card["arxiv_id"]: card for card in cards}
    filters = Filters(categories=fields.get("cat", []))
    ranked = searcher.match(" ".join(fields.get("q", [])), searcher.window(list(by_id)), filters)
    return [by_id[key] for key, _ in ranked if key in by_id]
