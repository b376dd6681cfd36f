"""What goes into a digest: the period's papers for one subscription, best first, and never
a paper an earlier digest of the same subscription carried.

Each kind of subscription has its ranker in ``RANKERS``. A run builds thousands of digests
over a few periods, so what a period shares is computed once: its papers and their cards,
their trending order, their vectors for saved searches, and what each subscription was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property
from itertools import islice
from typing import Any

from sqlalchemy import Engine

from paperfeed.digest.schedule import Period
from paperfeed.index.query import Filters, parse_query
from paperfeed.ranking.following import followed_papers, ranked
from paperfeed.ranking.recommend import Recommender
from paperfeed.ranking.search import Searcher, Window
from paperfeed.ranking.trend import trends
from paperfeed.ranking.trending import arrival, trending_score
from paperfeed.store.feed import arrived_papers
from paperfeed.store.follows import user_follows
from paperfeed.store.outbox import carried_papers
from paperfeed.store.schema import DigestKind, Frequency
from paperfeed.text import sparkline

SIZE = {Frequency.DAILY: 10, Frequency.WEEKLY: 20}
TREND_WEEKS = 12  # a saved search's papers per week shown in its digest, as a text sparkline


@dataclass
class Digest:
    """One subscription's digest for one period: its papers, best first (maybe none)."""

    subscription: dict[str, Any]
    period: Period
    papers: list[dict[str, Any]]
    # a saved search's papers per week over the last TREND_WEEKS weeks (▁▃█), mail clients
    # showing no drawn chart reliably
    trend: str = ""


class PeriodPapers:
    """The visible papers that arrived in a period's days (newest first), and what every
    subscription's earlier digests carried of them."""

    def __init__(self, contents: Contents, period: Period) -> None:
        self.contents = contents
        self.period = period
        start = datetime.combine(period.first, time(), UTC)
        self.cards = arrived_papers(contents.engine, period.first, period.day, start, contents.now)
        self.by_id = {card["arxiv_id"]: card for card in self.cards}
        self.ids = tuple(self.by_id)
        self.sent = carried_papers(contents.engine, [card["id"] for card in self.cards])

    @cached_property
    def trending(self) -> list[dict[str, Any]]:
        """By trending score; papers nobody upvoted yet follow, newest first, so a morning
        with new papers but no votes still has a digest."""
        now = self.contents.now
        return sorted(self.cards, key=lambda c: -trending_score(c["upvotes"], arrival(c), now))

    @cached_property
    def window(self) -> Window | None:
        """The papers with their vectors, for saved searches (whose queries, if the run
        said which, are embedded in one go)."""
        searcher = self.contents.searcher
        if searcher is None:
            return None
        window = searcher.window(list(self.by_id))
        if searcher.embedder is not None and len(window.found):
            queries = [parse_query(text).text for text in self.contents.queries]
            window.embed(queries, searcher.embedder)
        return window


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
        self.queries: list[str] = []  # the run's saved searches, to embed at once
        self._periods: dict[str, PeriodPapers] = {}
        self._trends: dict[tuple[str, str, date], str] = {}

    def digest(self, subscription: dict[str, Any], period: Period) -> Digest:
        """The subscription's digest for ``period``: up to 10 papers a day, 20 a week."""
        if period.key not in self._periods:
            self._periods[period.key] = PeriodPapers(self, period)
        found = self._periods[period.key]
        sent = found.sent.get(subscription["id"], set())
        fresh = set(found.by_id) - sent
        ranked = RANKERS[subscription["kind"]](self, subscription, found, fresh) if fresh else []
        trend = ""
        if ranked and subscription["kind"] == DigestKind.SEARCH:
            trend = self._trend(subscription, period)
        return Digest(subscription, period, ranked[: SIZE[subscription["frequency"]]], trend)

    def _trend(self, subscription: dict[str, Any], period: Period) -> str:
        """The saved search's papers per week as a text sparkline (once per search a run)."""
        filters = _filters(subscription)
        key = (subscription["query"], repr(filters), period.day)
        if key not in self._trends and self.searcher is not None:
            found = trends(self.searcher.lexical, [subscription["query"]], filters, period.day)
            self._trends[key] = sparkline(found.series[0].per_week[-TREND_WEEKS:])
        return self._trends.get(key, "")


Ranker = Callable[[Contents, dict[str, Any], PeriodPapers, set[str]], list[dict[str, Any]]]


def _trending(
    contents: Contents, subscription: dict[str, Any], found: PeriodPapers, fresh: set[str]
) -> list[dict[str, Any]]:
    """The fresh papers by trending score (in the subscription's categories, if it has any)."""
    wanted = set((subscription["filters"] or {}).get("categories") or ())
    chosen = (
        card
        for card in found.trending
        if card["arxiv_id"] in fresh and (not wanted or wanted & set(card["categories"]))
    )
    return list(islice(chosen, SIZE[subscription["frequency"]]))


def _search(
    contents: Contents, subscription: dict[str, Any], found: PeriodPapers, fresh: set[str]
) -> list[dict[str, Any]]:
    """The fresh papers the saved search finds, best first."""
    if contents.searcher is None or found.window is None:
        return []
    ranked = contents.searcher.match(subscription["query"], found.window, _filters(subscription))
    return [found.by_id[key] for key, _ in ranked if key in fresh]


def _filters(subscription: dict[str, Any]) -> Filters:
    """A saved search's filters."""
    options = subscription["filters"] or {}
    return Filters(
        categories=options.get("categories") or (),
        authors=options.get("authors") or (),
        organisation=options.get("organisation"),
    )


def _recommend(
    contents: Contents, subscription: dict[str, Any], found: PeriodPapers, fresh: set[str]
) -> list[dict[str, Any]]:
    """The fresh papers the subscriber's account would be recommended, each with the paper of
    theirs it is most like; none for an account with nothing saved or upvoted yet."""
    if contents.recommender is None or subscription["user_id"] is None:
        return []
    chosen = contents.recommender.recommend(
        subscription["user_id"],
        within=found.ids,
        skip=found.sent.get(subscription["id"], set()),
        limit=SIZE[subscription["frequency"]],
        known=found.by_id,
    )
    return [
        {**found.by_id[item.arxiv_id], "because": item.because, "because_title": item.because_title}
        for item in chosen
    ]


def _following(
    contents: Contents, subscription: dict[str, Any], found: PeriodPapers, fresh: set[str]
) -> list[dict[str, Any]]:
    """The fresh papers of what the subscriber's account follows, ranked as on its home page,
    each with the follows it matched."""
    user_id = subscription["user_id"]
    follows = user_follows(contents.engine, user_id) if user_id is not None else []
    if not follows:
        return []
    period = found.period
    matched = followed_papers(
        contents.engine,
        contents.searcher,
        follows,
        period.first,
        period.day,
        known=found.by_id,
        window=found.window,
    )
    chosen = [paper for paper in matched if paper.card["arxiv_id"] in fresh]
    return [paper.shown() for paper in ranked(contents.recommender, user_id, chosen, contents.now)]


RANKERS: dict[DigestKind, Ranker] = {
    DigestKind.TRENDING: _trending,
    DigestKind.SEARCH: _search,
    DigestKind.RECOMMEND: _recommend,
    DigestKind.FOLLOWING: _following,
}
