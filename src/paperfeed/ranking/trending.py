"""Trending: community upvotes with time decay.

``score = upvotes / (hours + 2) ** GRAVITY`` where ``hours`` is the time since the paper came
to the feed (midnight UTC of its announcement day, or when a user submitted it here or to
Hugging Face's daily papers, whichever is latest) and upvotes count ours plus those from
Hugging Face: the Hacker News formula (gravity 1.8). A vote counts most on a fresh paper: a
day-old paper needs ~3x the votes of one 12 hours old to rank level with it, a week-old one
~29x the votes of a day-old one.

The clock is the earlier of now and the end of the newest announcement day, so a store that
has not been fed for a while still shows what was trending at its newest day, not an empty
page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from paperfeed.store.feed import (
    announced_papers,
    in_categories,
    latest_day,
    top_papers,
    voted_papers,
)

GRAVITY = 1.8
WINDOW = timedelta(days=14)  # older papers have decayed out of any top list
PERIODS = {"week": 7, "month": 30}


def trending_score(upvotes: int, arrived: datetime, now: datetime) -> float:
    """The trending score of a paper with ``upvotes`` that came to the feed at ``arrived``."""
    hours = max((now - arrived).total_seconds() / 3600, 0)
    return upvotes / (hours + 2) ** GRAVITY


def arrival(card: dict[str, Any]) -> datetime:
    """When a paper came to the feed: announced, or submitted by a user (here or on Hugging
    Face) if that was later."""
    announced = card["announced"]
    moments = [datetime.combine(announced, time(), UTC)] if announced else []
    moments += [card[k] for k in ("submitted_at", "submitted_on_daily_at") if card.get(k)]
    return max(moments, default=datetime.min.replace(tzinfo=UTC))


def clock(latest_day: date | None, now: datetime | None = None) -> datetime:
    """The moment trending is computed for: now, or the end of a stale store's newest day."""
    now = now or datetime.now(UTC)
    if latest_day is None:
        return now
    return min(now, datetime.combine(latest_day + timedelta(days=1), time(), UTC))


def trending(
    engine: Engine,
    latest_day: date | None,
    limit: int = 50,
    now: datetime | None = None,
    categories: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The papers (listed in any of ``categories``, if given) by trending score, best first;
    the newest day's papers fill in when too few have votes (ties: newer first)."""
    if latest_day is None:
        return []
    moment = clock(latest_day, now)
    since = (moment - WINDOW).date()
    listed = in_categories(categories)
    voted = voted_papers(engine, since, moment.date(), moment - WINDOW, moment, *listed)
    ranked = sorted(
        voted, key=lambda c: (-trending_score(c["upvotes"], arrival(c), moment), c["arxiv_id"])
    )[:limit]
    if len(ranked) < limit:
        seen = {card["arxiv_id"] for card in ranked}
        newest = announced_papers(engine, latest_day, *listed)
        ranked += [card for card in newest if card["arxiv_id"] not in seen][: limit - len(ranked)]
    return ranked


def top(
    engine: Engine,
    latest_day: date | None,
    period: str,
    limit: int = 50,
    categories: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The most upvoted papers (listed in any of ``categories``, if given) announced in the
    ``period`` ("week" or "month") up to the newest day."""
    if latest_day is None:
        return []
    since = latest_day - timedelta(days=PERIODS[period] - 1)
    return top_papers(engine, since, latest_day, limit, *in_categories(categories))


def trending_cards(
    engine: Engine, period: str, limit: int = 50, categories: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Trending papers (``period`` "now"), or the most upvoted of the "week" or "month", as of
    the newest announcement day up to today; only those in any of ``categories``, if given."""
    newest = latest_day(engine, datetime.now(UTC).date())
    if period == "now":
        return trending(engine, newest, limit, categories=categories)
    return top(engine, newest, period, limit, categories)
