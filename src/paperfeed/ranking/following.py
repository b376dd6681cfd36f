"""What a user's follows bring: the papers that came to the feed in a range of days and match
any of them, each with the follows it matched (the reason a page or mail shows), and their
order on the home feed.

Authors, organisations and categories are matched by one store query over the days' arrivals
(:func:`paperfeed.store.feed.period_papers`); a followed search by the ``Searcher``'s
saved-search matching, as a saved-search digest is. A followed search is kept as the search
page's query string in the one form :func:`search_target` writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import ColumnElement, Engine

from paperfeed.index.query import Filters, read_categories
from paperfeed.ranking.recommend import Recommender
from paperfeed.ranking.search import Searcher, Window
from paperfeed.ranking.trending import arrival, trending_score
from paperfeed.store.feed import by_any, period_papers
from paperfeed.store.schema import FollowKind


@dataclass(frozen=True)
class SavedSearch:
    """A followed search: its words and the search page's filters."""

    q: str
    categories: tuple[str, ...] = ()
    author: str = ""
    org: str = ""

    @property
    def target(self) -> str:
        """The canonical query string (``q=diffusion&cat=cs.CV``)."""
        return search_target(self.q, self.categories, self.author, self.org)

    @property
    def filters(self) -> Filters:
        return Filters.typed(" ".join(self.categories), self.author, self.org)

    @property
    def label(self) -> str:
        """In words: ``“diffusion” in cs.CV by Ada Lovelace``."""
        words = f"“{self.q}”"
        if self.categories:
            words += f" in {' or '.join(self.categories)}"
        if self.author:
            words += f" by {self.author}"
        if self.org:
            words += f" from {self.org}"
        return words


def search_target(q: str, categories: Sequence[str] = (), author: str = "", org: str = "") -> str:
    """A search as a follow keeps it: the search page's parameters ``q``, ``cat`` (each once,
    whatever their case, in alphabetical order), ``author`` and ``org``, white space collapsed,
    empty ones left out; the same search always gives the same text."""
    names, _ = read_categories(categories)
    params = [("q", " ".join(q.split()))]
    params += [("cat", name) for name in sorted(names, key=str.lower)]
    params += [("author", " ".join(author.split())), ("org", org.strip())]
    return urlencode([(key, value) for key, value in params if value])


def read_search_target(target: str) -> SavedSearch:
    """The search a query string names (as the search page reads it: ``cat`` may repeat or
    list several; what is not a category is left out); other parameters are ignored."""
    given = parse_qs(target.lstrip("?"))

    def first(key: str) -> str:
        return " ".join(given.get(key, [""])[0].split())

    names, _ = read_categories(given.get("cat", []))
    categories = tuple(sorted(names, key=str.lower))
    return SavedSearch(first("q"), categories, first("author"), first("org"))


def label(follow: Mapping[str, Any]) -> str:
    """What a follow watches, in words."""
    if follow["kind"] == FollowKind.SEARCH:
        return f"the search {read_search_target(follow['target']).label}"
    return str(follow["target"])


def reason(follow: Mapping[str, Any]) -> str:
    """Why a paper is shown: ``you follow cs.CL``."""
    return f"you follow {label(follow)}"


@dataclass
class FollowedPaper:
    """A paper that came to the feed, and the follows it matched (in the user's order)."""

    card: dict[str, Any]
    follows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [reason(follow) for follow in self.follows]

    def shown(self) -> dict[str, Any]:
        """Its card with the reasons, as pages and mails show it."""
        return {**self.card, "reasons": self.reasons}


def followed_papers(
    engine: Engine,
    searcher: Searcher | None,
    follows: Sequence[Mapping[str, Any]],
    first: date,
    last: date,
    *,
    known: Mapping[str, dict[str, Any]] | None = None,
    window: Window | None = None,
) -> list[FollowedPaper]:
    """The visible papers that came to the feed from day ``first`` to ``last`` (announced,
    submitted here or to Hugging Face's daily papers) and match any of ``follows`` (rows of
    ``follows``, one user's or a single one), newest day first, each with the follows it
    matched. A caller that has the days' cards and their :class:`Window` (a digest run) gives
    them as ``known`` and ``window``; searches are not matched without a ``searcher``."""
    found: dict[str, FollowedPaper] = {}
    plain = [dict(f) for f in follows if f["kind"] != FollowKind.SEARCH]
    if plain:
        for card in period_papers(engine, first, last, _any_of(plain)):
            hits = [follow for follow in plain if _matches(follow, card)]
            if hits:
                found[card["arxiv_id"]] = FollowedPaper(card, hits)
    searches = [dict(f) for f in follows if f["kind"] == FollowKind.SEARCH]
    if searches and searcher is not None:
        if known is None or window is None:
            known = {card["arxiv_id"]: card for card in period_papers(engine, first, last)}
            window = searcher.window(list(known))
        for follow in searches:
            saved = read_search_target(follow["target"])
            for key, _ in searcher.match(saved.q, window, saved.filters):
                if key in known:
                    found.setdefault(key, FollowedPaper(known[key])).follows.append(follow)
    order = {follow["id"]: n for n, follow in enumerate(follows)}
    for paper in found.values():
        paper.follows.sort(key=lambda follow: order.get(follow["id"], 0))
    return sorted(found.values(), key=lambda p: (arrival(p.card), p.card["arxiv_id"]), reverse=True)


def _any_of(follows: Sequence[Mapping[str, Any]]) -> ColumnElement[bool]:
    """Papers by any followed author, of any followed organisation or in any followed
    category."""

    def targets(kind: FollowKind) -> list[str]:
        return [f["target"] for f in follows if f["kind"] == kind]

    kinds = (FollowKind.AUTHOR, FollowKind.ORGANISATION, FollowKind.CATEGORY)
    return by_any(*(targets(kind) for kind in kinds))


def _matches(follow: Mapping[str, Any], card: Mapping[str, Any]) -> bool:
    target, kind = follow["target"], follow["kind"]
    if kind == FollowKind.AUTHOR:
        return target in (card["authors"] or ())
    if kind == FollowKind.ORGANISATION:
        return bool(card["organisation"] == target)
    wanted = target.lower()
    return any(
        name.lower() == wanted or name.lower().startswith(f"{wanted}.")
        for name in card["categories"] or ()
    )


def ranked(
    recommender: Recommender | None,
    user_id: int,
    found: Sequence[FollowedPaper],
    now: datetime,
) -> list[FollowedPaper]:
    """``found`` best first for the user: those the recommender ranks (it learns from the
    user's library), then the rest by trending score, newest first among equals; all by
    trending score for a user with an empty library or a site with no vector index yet."""
    by_id = {paper.card["arxiv_id"]: paper for paper in found}
    chosen: list[str] = []
    if recommender is not None and by_id:
        recommended = recommender.recommend(
            user_id,
            within=tuple(sorted(by_id)),
            limit=len(by_id),
            categories=(),
            known={key: paper.card for key, paper in by_id.items()},
        )
        chosen = [item.arxiv_id for item in recommended]
    picked = set(chosen)
    rest = sorted(
        (paper for key, paper in by_id.items() if key not in picked),
        key=lambda p: (trending_score(p.card["upvotes"], arrival(p.card), now), arrival(p.card)),
        reverse=True,
    )
    return [by_id[key] for key in chosen] + rest
