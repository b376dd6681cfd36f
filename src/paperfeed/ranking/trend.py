"""The trend of a search: how many papers it finds each month and each week of the last year,
for up to ``MAX_QUERIES`` searches on one time axis (counted by the lexical index, every paper
with the query's words, not one page of results)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.query import NO_FILTERS, Filters, parse_query

MAX_QUERIES = 3  # searches compared on one chart: more lines than this no one tells apart
WEEKS = 52  # the weekly counts cover the last year
MAX_MONTHS = 240  # the monthly counts reach back 20 years at most


@dataclass(frozen=True)
class Series:
    """One search's counts, on its :class:`Trends`' axes."""

    query: str
    per_month: list[int]
    per_week: list[int]
    total: int  # every match, those before the first month shown too


@dataclass(frozen=True)
class Trends:
    """Searches counted on one time axis: from the first month any of them finds a paper to
    the feed's newest day (or the filters' end), and the ``WEEKS`` weeks up to that day."""

    months: list[date]  # the first day of each month, oldest first
    weeks: list[date]  # the Monday of each week, oldest first
    series: list[Series]


def trends(
    lexical: LexicalIndex,
    queries: Sequence[str],
    filters: Filters = NO_FILTERS,
    newest: date | None = None,
) -> Trends:
    """The trends of ``queries`` (at most ``MAX_QUERIES``), with the same ``filters``, up to
    the feed's ``newest`` day (by default the index's, which it reads through)."""
    if len(queries) > MAX_QUERIES:
        raise ValueError(f"at most {MAX_QUERIES} searches are compared, not {len(queries)}")
    counts = [lexical.day_counts(parse_query(query), filters) for query in queries]
    newest = newest or lexical.newest_day()
    if newest is None or not queries:
        return Trends([], [], [Series(query, [], [], 0) for query in queries])
    end = min(newest, filters.date_to) if filters.date_to else newest
    first = min((min(days) for days in counts if days), default=end)
    months = month_starts(max(first, _months_before(end, MAX_MONTHS - 1)), end)
    weeks = [_monday(end) - timedelta(weeks=back) for back in reversed(range(WEEKS))]
    series = [
        Series(query, _binned(days, months, _month), _binned(days, weeks, _monday), days.total())
        for query, days in zip(queries, counts, strict=True)
    ]
    return Trends(months, weeks, series)


def month_starts(start: date, end: date) -> list[date]:
    """The first day of each month from ``start``'s to ``end``'s."""
    months, month = [], _month(start)
    while month <= end:
        months.append(month)
        month = (month + timedelta(days=31)).replace(day=1)
    return months


def _binned(days: Counter[date], starts: list[date], start_of: Callable[[date], date]) -> list[int]:
    """The papers of each period beginning on one of ``starts`` (``start_of`` gives the
    beginning of a day's period); days outside them are left out."""
    position = {start: at for at, start in enumerate(starts)}
    counts = [0] * len(starts)
    for day, papers in days.items():
        at = position.get(start_of(day))
        if at is not None:
            counts[at] += papers
    return counts


def _month(day: date) -> date:
    return day.replace(day=1)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _months_before(day: date, months: int) -> date:
    """The first day of the month ``months`` before ``day``'s."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
