"""What goes into a digest: the period's papers for one subscription, best first, and never
a paper an earlier digest of the same subscription carried.

Each kind of subscription has its ranker in ``RANKERS``; a run builds thousands of digests,
so the papers of a period and what was already sent are read once per period and shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Engine, select

from paperfeed.digest.schedule import Period
from paperfeed.index.query import Filters
from paperfeed.ranking.recommend import Recommender
from paperfeed.ranking.search import Searcher
from paperfeed.ranking.trending import arrival, trending_score
from paperfeed.store.feed import arrived_between
from paperfeed.store.papers import papers
from paperfeed.store.queries import cards
from paperfeed.store.schema import DigestPaper

digest_papers = DigestPaper.__table__
SIZE = {"daily": 10, "weekly": 20}


@dataclass
class Digest:
    """One subscription's digest for one period: its papers, best first (maybe none)."""

    subscription: dict[str, Any]
    period: Period
    papers: list[dict[str, Any]]


class Contents:
    """Builds the digests of one run at one moment."""

    def __init__(
        self,
        engine: Engine,
        searcher: Searcher | None,
        now: datetime,
        recommender: Recommender | None = None,
    ) -> None:
        self.engine = engine
        self.searcher = searcher
        self.recommender = recommender
        self.now = now
        self._windows: dict[str, list[dict[str, Any]]] = {}
        self._sent: dict[str, dict[int, set[str]]] = {}

    def digest(self, subscription: dict[str, Any], period: Period) -> Digest:
        """The subscription's digest for ``period``: up to 10 papers a day, 20 a week."""
        sent = self.sent(period).get(subscription["id"], set())
        fresh = [card for card in self.window(period) if card["arxiv_id"] not in sent]
        ranked = RANKERS[subscription["kind"]](self, subscription, fresh) if fresh else []
        return Digest(subscription, period, ranked[: SIZE[subscription["frequency"]]])

    def window(self, period: Period) -> list[dict[str, Any]]:
        """The visible papers that arrived in the period's days, newest first."""
        if period.key not in self._windows:
            start = datetime.combine(period.first, time(), UTC)
            arrived = arrived_between(period.first, period.day, start, self.now)
            order = [papers.c.announced.desc().nulls_last(), papers.c.arxiv_id.desc()]
            self._windows[period.key] = cards(self.engine, arrived, order_by=order)
        return self._windows[period.key]

    def sent(self, period: Period) -> dict[int, set[str]]:
        """The papers of the period's window each subscription's digests already carried."""
        if period.key not in self._sent:
            ids = [card["id"] for card in self.window(period)]
            found: dict[int, set[str]] = {}
            query = (
                select(digest_papers.c.subscription_id, papers.c.arxiv_id)
                .join(papers, papers.c.id == digest_papers.c.paper_id)
                .where(digest_papers.c.paper_id.in_(ids))
            )
            with self.engine.connect() as conn:
                for subscription_id, arxiv_id in conn.execute(query):
                    found.setdefault(subscription_id, set()).add(arxiv_id)
            self._sent[period.key] = found
        return self._sent[period.key]


Ranker = Callable[[Contents, dict[str, Any], list[dict[str, Any]]], list[dict[str, Any]]]


def _trending(
    contents: Contents, subscription: dict[str, Any], fresh: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """By trending score; papers nobody upvoted yet follow, newest first, so a morning with
    new papers but no votes still has a digest."""
    wanted = set((subscription["filters"] or {}).get("categories") or ())
    chosen = [card for card in fresh if not wanted or wanted & set(card["categories"])]
    return sorted(
        chosen, key=lambda card: -trending_score(card["upvotes"], arrival(card), contents.now)
    )


def _search(
    contents: Contents, subscription: dict[str, Any], fresh: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The papers the saved search finds among the fresh ones, best first."""
    if contents.searcher is None:
        return []
    options = subscription["filters"] or {}
    filters = Filters(
        categories=options.get("categories") or (),
        authors=options.get("authors") or (),
        organisation=options.get("organisation"),
    )
    by_id = {card["arxiv_id"]: card for card in fresh}
    hits = contents.searcher.match(
        subscription["query"], list(by_id), filters, SIZE[subscription["frequency"]]
    )
    return [{**by_id[hit.arxiv_id], "snippet": hit.snippet} for hit in hits]


def _recommend(
    contents: Contents, subscription: dict[str, Any], fresh: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The fresh papers the subscriber's account would be recommended, each with the paper of
    theirs it is most like; none for an account with nothing saved or upvoted yet."""
    if contents.recommender is None or subscription["user_id"] is None:
        return []
    by_id = {card["arxiv_id"]: card for card in fresh}
    found = contents.recommender.recommend(
        subscription["user_id"],
        within=list(by_id),
        limit=SIZE[subscription["frequency"]],
    )
    return [
        {**by_id[item.arxiv_id], "because": item.because, "because_title": item.because_title}
        for item in found
    ]


RANKERS: dict[str, Ranker] = {"trending": _trending, "search": _search, "recommend": _recommend}
