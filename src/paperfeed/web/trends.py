"""The trend of searches: ``/trends?q=…&q=…`` compares up to three on one chart of papers per
month and per week, ``/api/trends`` is its JSON twin, and the search page shows its query's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from paperfeed.ranking.trend import MAX_QUERIES, WEEKS, Trends, trends
from paperfeed.services import Services
from paperfeed.web.api_docs import documented
from paperfeed.web.charts import Chart, counts_chart
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.search_form import FilterForm
from paperfeed.web.views import api_categories, latest_day

MAX_QUERY = 250  # characters of one search, as the search API's
FILTERS_ONLY = "Papers in the filters"  # the name of a search without words

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["papers"])


class TrendsForm(FilterForm):
    """``/trends?q=…&q=…`` and the filters each search is counted with."""

    q: list[Annotated[str, Field(max_length=MAX_QUERY)]] = Field(
        default=[],
        max_length=MAX_QUERIES,
        description=f"Up to {MAX_QUERIES} searches to compare (repeat it), each of at most "
        f"{MAX_QUERY} characters; empty ones are skipped",
    )

    def queries(self) -> list[str]:
        return [query.strip() for query in self.q if query.strip()]


def search_trends(services: Services, form: FilterForm, queries: list[str]) -> Trends:
    """How many papers each of ``queries`` finds per month and week, with ``form``'s filters:
    every paper with the query's words, counted by the lexical index."""
    return trends(services.lexical, queries, form.filters(), latest_day(services.engine))


def trend_charts(found: Trends, key: str) -> list[Chart]:
    """The monthly and the weekly chart of ``found``, their ids starting with ``key``."""
    names = [series.query or FILTERS_ONLY for series in found.series]
    return [
        counts_chart(
            f"{key}-months",
            "Papers per month",
            found.months,
            [(name, s.per_month) for name, s in zip(names, found.series, strict=True)],
            "month",
        ),
        counts_chart(
            f"{key}-weeks",
            f"Papers per week, the last {WEEKS} weeks",
            found.weeks,
            [(name, s.per_week) for name, s in zip(names, found.series, strict=True)],
            "week",
        ),
    ]


@router.get("/trends")
def trends_page(
    request: Request, services: ServicesDep, form: Annotated[TrendsForm, Query()]
) -> HTMLResponse:
    queries = form.queries()
    found = search_trends(services, form, queries) if queries else None
    categories, ignored = form.categories()
    return page(
        request,
        "trends.html",
        compared=form,  # not ``form``: the header's search box would show its queries
        queries=queries,
        found=found,
        charts=trend_charts(found, "trend") if found else [],
        categories=categories,
        notes=[f"Ignored: {problem}." for problem in ignored],
        slots=[*queries, *[""] * (MAX_QUERIES - len(queries))],
    )


@api_router.get(
    "/trends", summary="Papers per month and week for up to 3 searches", **documented(400)
)
def trends_api(services: ServicesDep, form: Annotated[TrendsForm, Query()]) -> dict[str, Any]:
    api_categories(form.cat)
    return trends_json(search_trends(services, form, form.queries()))


def trends_json(found: Trends) -> dict[str, Any]:
    return {
        "months": [f"{month:%Y-%m}" for month in found.months],
        "weeks": [week.isoformat() for week in found.weeks],
        "series": [
            {
                "q": series.query,
                "total": series.total,
                "per_month": series.per_month,
                "per_week": series.per_week,
            }
            for series in found.series
        ],
    }
