"""Rising topics: this week's papers and upvotes against the topic's previous 8 weeks.

``growth = (n + v / VOTES_PER_PAPER + DAMPING) / (m + DAMPING)`` where ``n`` and ``v`` are the
papers of the topic that came this week (the 7 days up to the newest announcement day) and
their upvotes (ours plus Hugging Face's), and ``m`` is the weekly mean of the same activity,
``n_w + v_w / VOTES_PER_PAPER``, over the 8 weeks before it. Ten upvotes count as one paper;
``DAMPING`` keeps a topic going from 0 to 2 papers from outranking one going from 40 to 80.
Older weeks' papers have had longer to gather upvotes, so the score leans against a week's
votes rather than for them. Ties: more papers this week first, then the lower id.

Weeks end on the clock's day (as :func:`~paperfeed.ranking.trending.clock`: the newest
announcement day up to today), so "this week" is always a full week of the store's papers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine

from paperfeed.ranking.trend import month_starts
from paperfeed.store.schema import TopicLevel
from paperfeed.store.topics import StoredTopic, arrivals, live_topics, topic_days

WEEKS = 8  # the weeks a topic's week is compared with
VOTES_PER_PAPER = 10
DAMPING = 2.0


@dataclass(frozen=True)
class Rising:
    """A topic's growth and its weekly papers, oldest week first (this week last)."""

    topic: StoredTopic
    growth: float
    papers: int  # this week
    upvotes: int  # of this week's papers
    baseline: float  # the mean weekly n + v / VOTES_PER_PAPER of the WEEKS weeks before
    weekly: list[int]  # papers in each of the WEEKS + 1 weeks


def week_of(day: date, end: date) -> int:
    """How many weeks before the week ending on ``end`` the day falls (0: that week)."""
    return (end - day).days // 7


def baseline(before: Sequence[tuple[int, int]]) -> float:
    """The mean weekly activity of weeks of ``before`` ``(papers, upvotes)``."""
    return sum(n + v / VOTES_PER_PAPER for n, v in before) / max(len(before), 1)


def growth(papers: int, upvotes: int, before: Sequence[tuple[int, int]]) -> float:
    """The growth score of a week of ``papers`` with ``upvotes`` after weeks of ``before``
    ``(papers, upvotes)``."""
    return (papers + upvotes / VOTES_PER_PAPER + DAMPING) / (baseline(before) + DAMPING)


def rising_topics(engine: Engine, level: TopicLevel, end: date | None) -> list[Rising]:
    """The live topics at ``level`` by growth in the week ending on ``end``, best first
    (none without a day)."""
    if end is None:
        return []
    counts: dict[int, list[list[int]]] = defaultdict(lambda: [[0, 0] for _ in range(WEEKS + 1)])
    for topic_id, day, upvotes in arrivals(engine, level, end - timedelta(weeks=WEEKS + 1), end):
        week = week_of(day, end)
        if week <= WEEKS:
            counts[topic_id][WEEKS - week][0] += 1
            counts[topic_id][WEEKS - week][1] += upvotes
    found = []
    for topic in live_topics(engine, level=level):
        weeks = counts[topic.id]
        (papers, upvotes), before = weeks[-1], [(n, v) for n, v in weeks[:-1]]
        score = growth(papers, upvotes, before)
        weekly = [n for n, _ in weeks]
        found.append(Rising(topic, score, papers, upvotes, baseline(before), weekly))
    return sorted(found, key=lambda r: (-r.growth, -r.papers, r.topic.id))


def history(
    engine: Engine, topic: StoredTopic, end: date
) -> tuple[list[tuple[date, int]], list[tuple[date, int]]]:
    """The topic's papers per week and per month over its whole history, up to ``end``
    (:func:`per_week`, :func:`per_month`), from one reading of its days."""
    days = topic_days(engine, topic)
    return per_week(days, end), per_month(days, end)


def per_week(days: Iterable[date], end: date) -> list[tuple[date, int]]:
    """``(last day of the week, papers)`` of each week from the first of ``days``' to the one
    ending on ``end``, oldest first (days after ``end`` left out)."""
    weeks: dict[int, int] = defaultdict(int)
    for day in days:
        if day <= end:
            weeks[week_of(day, end)] += 1
    oldest = max(weeks, default=0)
    return [(end - timedelta(weeks=w), weeks.get(w, 0)) for w in range(oldest, -1, -1)]


def per_month(days: Iterable[date], end: date) -> list[tuple[date, int]]:
    """``(first day of the month, papers)`` of each month from the first of ``days``' to
    ``end``'s, oldest first (days after ``end`` left out)."""
    months: dict[date, int] = defaultdict(int)
    for day in days:
        if day <= end:
            months[day.replace(day=1)] += 1
    first = min(months, default=end)
    return [(month, months.get(month, 0)) for month in month_starts(first, end)]
