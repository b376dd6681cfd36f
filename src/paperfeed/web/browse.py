"""Browsing the papers: the daily feed, trending and the week's or month's tops, and the
papers of an organisation or an author; the feed and trending have JSON twins under ``/api``."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Engine

from paperfeed.ranking.trending import trending_cards
from paperfeed.services import Services
from paperfeed.store import feed
from paperfeed.web.api_docs import documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import current_user
from paperfeed.web.views import IsoDate, PageNumber, entry_json, latest_day, with_marks

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["papers"])
PER_DAY = 100  # a busy arXiv day has ~1,000 papers
TRENDING = 50


def day_cards(
    engine: Engine, day: date | None, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """The papers of announcement day ``day``, most upvoted first (none without a day: the
    store is empty)."""
    return feed.day_papers(engine, day, limit, offset) if day else []


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/papers", 307)


@router.get("/papers")
def latest(request: Request, services: ServicesDep, number: PageNumber = 1) -> HTMLResponse:
    return _day_page(request, services, latest_day(services.engine), number)


@router.get("/papers/date/{day}")
def on_day(
    request: Request, services: ServicesDep, day: str, number: PageNumber = 1
) -> HTMLResponse:
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise HTTPException(404, f"{day!r} is not a date (YYYY-MM-DD).") from None
    return _day_page(request, services, wanted, number)


@router.get("/papers/trending")
def trending_page(request: Request, services: ServicesDep, period: str = "now") -> HTMLResponse:
    if period not in ("now", "week", "month"):
        raise HTTPException(404, "period is now, week or month")
    items = trending_cards(services.engine, period, TRENDING)
    shown = with_marks(services, current_user(request), items)
    return page(request, "trending.html", papers=shown, period=period)


@router.get("/org/{handle}")
def organisation_page(request: Request, services: ServicesDep, handle: str) -> HTMLResponse:
    organisation = feed.organisation(services.engine, handle)
    if organisation is None:
        raise HTTPException(404, f"There is no organisation {handle!r} here.")
    items = with_marks(
        services, current_user(request), feed.organisation_papers(services.engine, handle)
    )
    return page(request, "listing.html", heading=organisation["name"], papers=items)


@router.get("/author/{name:path}")
def author_page(request: Request, services: ServicesDep, name: str) -> HTMLResponse:
    items = feed.author_papers(services.engine, name)
    if not items:
        raise HTTPException(404, f"There are no papers by {name!r} here.")
    shown = with_marks(services, current_user(request), items)
    return page(request, "listing.html", heading=name, papers=shown)


@api_router.get(
    "/daily_papers",
    summary="The papers of an announcement day (default: the newest)",
    **documented(),
)
def daily_papers(
    services: ServicesDep,
    date_: Annotated[IsoDate | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PER_DAY,
) -> list[dict[str, Any]]:
    day = date_ or latest_day(services.engine)
    return [entry_json(card) for card in day_cards(services.engine, day, limit)]


@api_router.get(
    "/papers/trending", summary="Trending papers, or the week's or month's tops", **documented()
)
def trending_papers(
    services: ServicesDep,
    period: Literal["now", "week", "month"] = "now",
    limit: Annotated[int, Query(ge=1, le=200)] = TRENDING,
) -> list[dict[str, Any]]:
    return [entry_json(card) for card in trending_cards(services.engine, period, limit)]


def _day_page(request: Request, services: Services, day: date | None, number: int) -> HTMLResponse:
    engine, offset = services.engine, (number - 1) * PER_DAY
    items = day_cards(engine, day, PER_DAY, offset)
    total = feed.day_count(engine, day) if day else 0
    before, after = feed.neighbour_days(engine, day) if day else (None, None)
    return page(
        request,
        "day.html",
        day=day,
        papers=with_marks(services, current_user(request), items),
        total=total,
        number=number,
        more=offset + len(items) < total,
        before=before,
        after=after,
        quiet=_quiet(day) if day and not total else None,
    )


def _quiet(day: date) -> str:
    """Why a day has no papers."""
    if day.weekday() >= 5:
        return f"arXiv does not announce papers on {calendar.day_name[day.weekday()]}s."
    return "No papers were announced on this day (a holiday, or not loaded yet)."
