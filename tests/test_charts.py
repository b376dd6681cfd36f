"""Charts of counts over time: the SVG parses, says what it shows in words, labels its axes
with readable dates and counts, and carries its numbers in a table; the text sparkline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lxml import etree, html

from paperfeed.ranking.trend import month_starts
from paperfeed.text import sparkline as text_sparkline
from paperfeed.web.charts import Chart, counts_chart, sparkline
from paperfeed.web.render import TEMPLATES

SVG = "{http://www.w3.org/2000/svg}"
MACROS = TEMPLATES.env.get_template("_charts.html").module
MONTHS = month_starts(date(2024, 11, 1), date(2025, 2, 1))  # Nov, Dec, Jan, Feb
WEEKS = [date(2024, 3, 18) + timedelta(weeks=k) for k in range(52)]


def figure(chart: Chart) -> html.HtmlElement:
    """The chart as rendered, its SVG checked to parse as XML on its own."""
    rendered = str(MACROS.chart(chart))  # type: ignore[attr-defined]
    found = html.fragment_fromstring(rendered)
    start, end = rendered.index("<svg viewBox"), rendered.index("</svg>\n  <details") + 6
    svg = etree.fromstring(
        rendered[start:end].replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    )
    assert svg.find(f"{SVG}title") is not None
    return found


def texts(found: html.HtmlElement, group: str) -> list[str]:
    return [t.text_content() for t in found.xpath(f"//g[@class='{group}']/text")]


def test_a_bar_chart_of_one_search_reads_as_a_titled_labelled_table() -> None:
    chart = counts_chart("t", "Papers per month", MONTHS, [("graph", [1, 0, 4, 2])], "month")
    found = figure(chart)
    assert found.xpath("//svg/title/text()") == ["Papers per month"]
    assert found.xpath("//svg/@aria-labelledby") == ["t-title t-desc"]
    assert found.xpath("//svg/desc/text()") == [
        "Papers per month, Nov 2024 to Feb 2025. graph: 7 papers, the most (4) in Jan 2025."
    ]
    assert texts(found, "x-ticks") == ["Nov 2024", "Dec", "Jan 2025", "Feb"]
    assert texts(found, "y-ticks") == ["0", "1", "2", "3", "4"]
    assert [t.text for t in found.xpath("//text[@class='axis-label']")] == ["Month", "Papers"]
    assert found.xpath("//g[@class='bars']/rect/title/text()") == [
        "Nov 2024: 1",
        "Dec 2024: 0",
        "Jan 2025: 4",
        "Feb 2025: 2",
    ]
    heights = [float(h) for h in found.xpath("//g[@class='bars']/rect/@height")]
    assert heights[1] == 0 and heights[2] == max(heights) == 2 * heights[3]
    assert [th.text for th in found.xpath("//table/thead//th")] == ["Month", "graph"]
    assert [[c.text for c in row] for row in found.xpath("//table/tbody/tr")] == [
        ["Nov 2024", "1"],
        ["Dec 2024", "0"],
        ["Jan 2025", "4"],
        ["Feb 2025", "2"],
    ]


def test_three_searches_are_lines_told_apart_by_dash_and_marker() -> None:
    series = [("graph", [1, 2, 3, 4]), ("diffusion", [0, 0, 1, 0]), ("agents", [4, 3, 2, 1])]
    found = figure(counts_chart("t", "Papers per month", MONTHS, series, "month"))
    groups = found.xpath("//svg[@role='img']/g[starts-with(@class, 'series-')]")
    assert [g.get("class") for g in groups] == ["series-1", "series-2", "series-3"]
    assert [g[1].tag for g in groups] == ["circle", "rect", "path"]  # each its own marker
    assert [len(g.xpath("polyline")[0].get("points").split()) for g in groups] == [4, 4, 4]
    assert [li.text_content().strip() for li in found.xpath("//ul[@class='legend']/li")] == [
        "graph",
        "diffusion",
        "agents",
    ]
    assert found.xpath("//g[@class='bars']") == []
    assert [th.text for th in found.xpath("//table/thead//th")] == [
        "Month",
        "graph",
        "diffusion",
        "agents",
    ]


def test_a_year_of_weeks_is_ticked_at_months() -> None:
    found = figure(counts_chart("t", "Per week", WEEKS, [("q", list(range(52)))], "week"))
    assert texts(found, "x-ticks") == ["May 2024", "Jul", "Sep", "Nov", "Jan 2025", "Mar"]
    assert found.xpath("//text[@class='axis-label']/text()")[0] == "Week (from Monday)"
    assert found.xpath("//table/tbody/tr[1]/th/text()") == ["18 Mar 2024"]


def test_twenty_years_of_months_are_ticked_by_years() -> None:
    months = month_starts(date(2006, 9, 1), date(2026, 8, 1))
    found = figure(counts_chart("t", "Per month", months, [("q", [1] * 240)], "month"))
    assert texts(found, "x-ticks") == ["2010", "2015", "2020", "2025"]


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, ["0", "1"]),
        (7, ["0", "2", "4", "6", "8"]),
        (1_234, ["0", "500", "1k", "1.5k"]),
        (10**9, ["0", "500M", "1B"]),
        (987_654_321_012, ["0", "500B", "1T"]),
    ],
)
def test_counts_are_ticked_in_round_short_numbers(highest: int, ticks: list[str]) -> None:
    found = figure(counts_chart("t", "Per month", MONTHS, [("q", [0, highest, 0, 0])], "month"))
    assert texts(found, "y-ticks") == ticks
    bars = found.xpath("//g[@class='bars']/rect")
    assert all(float(bar.get("y")) >= 12 for bar in bars)  # inside the plot


def test_no_data_and_one_point() -> None:
    empty = figure(counts_chart("t", "Per month", [], [("q", [])], "month"))
    assert empty.xpath("//svg/desc/text()") == ["No papers to count yet."]
    assert empty.xpath("//table/tbody/tr") == []
    nothing = figure(counts_chart("t", "Per month", MONTHS[:1], [("q", [0])], "month"))
    assert nothing.xpath("//svg/desc/text()") == [
        "Papers per month, Nov 2024 to Nov 2024. q: no papers."
    ]
    one = figure(counts_chart("t", "Per month", MONTHS[:1], [("a", [3]), ("b", [1])], "month"))
    assert texts(one, "x-ticks") == ["Nov 2024"]
    assert len(one.xpath("//g[@class='series-1']/circle")) == 1


def test_a_chart_refuses_more_series_than_it_can_tell_apart() -> None:
    with pytest.raises(ValueError, match="1 to 3 series"):
        counts_chart("t", "Per month", MONTHS, [(str(n), [0] * 4) for n in range(4)], "month")
    with pytest.raises(ValueError, match="one count per period"):
        counts_chart("t", "Per month", MONTHS, [("q", [1])], "month")


def test_a_sparkline_spans_its_box() -> None:
    rendered = str(MACROS.sparkline(sparkline([0, 5, 10], "10 papers this week")))  # type: ignore[attr-defined]
    svg = etree.fromstring(rendered.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    assert svg.get("aria-label") == "10 papers this week"
    assert svg.find(f"{SVG}polyline").get("points") == "0.0,23.0 60.0,12.0 120.0,1.0"


@pytest.mark.parametrize(
    ("counts", "line"),
    [
        ([], ""),
        ([0, 0], "\u2581\u2581"),
        ([0, 1, 50, 100], "\u2581\u2582\u2585\u2588"),
        ([10**12], "\u2588"),
    ],
)
def test_a_text_sparkline(counts: list[int], line: str) -> None:
    assert text_sparkline(counts) == line
