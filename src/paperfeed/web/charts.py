"""Charts of counts over time, drawn on the server as SVG by ``_charts.html``: a bar chart for
one series, lines (each with its own dash and marker, so that colour is not needed to tell
them apart) for up to three, and sparklines for lists. This module does the geometry: nice
ticks, bar and line coordinates in the SVG's user units, the words a screen reader reads and
the data table every chart carries. No script, no inline style: classes in ``style.css``.

A small hand-written template rather than a charting library: pygal (the usual Python one)
puts a ``<style>`` element in each SVG, which the site's CSP refuses, and its tooltips need a
script from a CDN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from paperfeed.text import counted

Period = Literal["month", "week"]
MAX_SERIES = 3  # one dash pattern and marker shape each (``series-1`` … in the stylesheet)
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 44  # room for the axes' ticks and labels
MAX_X_TICKS = 8
Y_TICKS = 4
MAX_MARKED = 36  # points per line drawn with markers; more would cover the line
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)  # months between date ticks
SPARK_WIDTH, SPARK_HEIGHT = 120, 24
UNITS = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k"))


@dataclass(frozen=True)
class Tick:
    at: float  # a position along the axis, in user units
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the period and its count, for the tooltip


@dataclass(frozen=True)
class Line:
    name: str
    number: int  # 1 to MAX_SERIES: its dash and marker
    points: list[tuple[float, float]]
    marked: bool  # whether each point gets a marker

    @property
    def path(self) -> str:
        """The points as an SVG ``points`` attribute."""
        return " ".join(f"{x},{y}" for x, y in self.points)


@dataclass(frozen=True)
class Chart:
    """A chart of counts per period, ready for the ``chart`` macro."""

    key: str  # unique on the page: the ids of the chart's title and description
    title: str
    description: str
    x_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bars: list[Bar]
    lines: list[Line]
    header: list[str]  # the data table's
    rows: list[list[str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def bottom(self) -> int:
        return self.height - BOTTOM


@dataclass(frozen=True)
class Sparkline:
    """A small line of counts without axes, for lists; ``label`` is what it says in words."""

    points: str
    label: str
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


def counts_chart(
    key: str,
    title: str,
    periods: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    period: Period,
    x_label: str | None = None,
) -> Chart:
    """A chart of ``series`` (each a name and its count for each of ``periods``): bars for
    one series, lines for more; ``x_label`` names the periods' axis when they are not calendar
    months or weeks from Monday. Raises ``ValueError`` beyond ``MAX_SERIES`` series or when a
    series does not have one count per period."""
    if not 0 < len(series) <= MAX_SERIES:
        raise ValueError(f"a chart shows 1 to {MAX_SERIES} series, not {len(series)}")
    if any(len(counts) != len(periods) for _, counts in series):
        raise ValueError("each series needs one count per period")
    top = _nice_top(max((max(counts, default=0) for _, counts in series), default=0))
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    slot = (plot[2] - plot[0]) / max(len(periods), 1)

    def y(count: int) -> float:
        return round(plot[3] - count / top * (plot[3] - plot[1]), 1)

    def x(at: int) -> float:
        return round(plot[0] + (at + 0.5) * slot, 1)

    names = [_period_name(day, period) for day in periods]
    bars, lines = [], []
    if len(series) == 1:
        width = round(max(slot * 0.8, 0.5), 1)
        bars = [
            Bar(
                round(x(at) - width / 2, 1), y(n), width, round(plot[3] - y(n), 1), f"{name}: {n:,}"
            )
            for at, (name, n) in enumerate(zip(names, series[0][1], strict=True))
        ]
    else:
        marked = len(periods) <= MAX_MARKED
        lines = [
            Line(name, number, [(x(at), y(n)) for at, n in enumerate(counts)], marked)
            for number, (name, counts) in enumerate(series, start=1)
        ]
    return Chart(
        key=key,
        title=title,
        description=_described(periods, series, period),
        x_label=x_label or f"{period.capitalize()}{' (from Monday)' if period == 'week' else ''}",
        x_ticks=[Tick(x(at), label) for at, label in _date_ticks(periods)],
        y_ticks=[Tick(y(value), _short(value)) for value in _steps(top)],
        bars=bars,
        lines=lines,
        header=[period.capitalize(), *(name for name, _ in series)],
        rows=[
            [name, *(f"{counts[at]:,}" for _, counts in series)] for at, name in enumerate(names)
        ],
    )


def sparkline(counts: Sequence[int], label: str) -> Sparkline:
    """A small line of ``counts`` (oldest first), the highest touching the top."""
    top = max(max(counts, default=0), 1)
    step = SPARK_WIDTH / max(len(counts) - 1, 1)
    points = " ".join(
        f"{round(at * step, 1)},{round(SPARK_HEIGHT - 1 - n / top * (SPARK_HEIGHT - 2), 1)}"
        for at, n in enumerate(counts)
    )
    return Sparkline(points, label)


def _nice_top(highest: int) -> int:
    """The top of the count axis: ``highest`` rounded up to a multiple of a 1-2-5 step."""
    return _step(highest) * max(math.ceil(highest / _step(highest)), 1)


def _step(highest: int) -> int:
    """The 1, 2 or 5 times a power of ten that splits ``highest`` in about ``Y_TICKS``."""
    rough = max(highest / Y_TICKS, 1)
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)


def _steps(top: int) -> list[int]:
    return list(range(0, top + 1, _step(top)))


def _short(count: int) -> str:
    """A count in at most four or five characters: 950, 1.2k, 12k, 3.4M."""
    for size, unit in UNITS:
        if count >= size:
            value = count / size
            return f"{value:.1f}".removesuffix(".0") + unit if value < 10 else f"{value:.0f}{unit}"
    return str(count)


def _date_ticks(periods: Sequence[date]) -> list[tuple[int, str]]:
    """Ticks at the first period of every 1, 2, 3, 6… months (of every year or more for
    long spans), as few steps as keep them to ``MAX_X_TICKS``; each labelled by its month,
    with the year at January and at the first tick (by the year alone past a year a step)."""
    starts = [
        (at, day)
        for at, day in enumerate(periods)
        if day.day <= 7 and (at == 0 or periods[at - 1].month != day.month)
    ]
    for step in MONTH_STEPS:
        chosen = [(at, day) for at, day in starts if (day.year * 12 + day.month - 1) % step == 0]
        if len(chosen) <= MAX_X_TICKS:
            break
    if step >= 12:
        return [(at, str(day.year)) for at, day in chosen]
    return [
        (at, f"{day:%b %Y}" if day.month == 1 or number == 0 else f"{day:%b}")
        for number, (at, day) in enumerate(chosen)
    ]


def _period_name(day: date, period: Period) -> str:
    return f"{day:%b %Y}" if period == "month" else f"{day.day} {day:%b %Y}"


def _described(
    periods: Sequence[date], series: Sequence[tuple[str, Sequence[int]]], period: Period
) -> str:
    """The chart in words: its span and, for each series, its total and its highest period."""
    if not periods:
        return "No papers to count yet."
    span = f"Papers per {period}, {_period_name(periods[0], period)} to "
    span += f"{_period_name(periods[-1], period)}."
    said = []
    for name, counts in series:
        total = sum(counts)
        if not total:
            said.append(f"{name}: no papers.")
            continue
        peak = max(range(len(counts)), key=counts.__getitem__)
        said.append(
            f"{name}: {counted(total, 'paper')}, the most ({counts[peak]:,}) in "
            f"{'the week of ' if period == 'week' else ''}{_period_name(periods[peak], period)}."
        )
    return " ".join([span, *said])
