"""Browsing the papers: the daily feed, trending and the week's or month's tops, and the
papers of an organisation or an author; the feed and trending have JSON twins under ``/api``."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from paperfeed.index.query import read_categories
from paperfeed.ingest.sync import HF_DAILY
from paperfeed.ranking.trending import trending_cards
from paperfeed.services import Services
from paperfeed.store import feed
from paperfeed.store.changes import shown_version
from paperfeed.store.follows import user_follows
from paperfeed.store.runs import last_completed
from paperfeed.store.schema import FollowKind, papers
from paperfeed.web.api_docs import documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.follows import follow_option
from paperfeed.web.kept import Kept
from paperfeed.web.render import page, visitor_page
from paperfeed.web.security import current_user
from paperfeed.web.views import (
    ISO_DAY,
    MAX_CATEGORY_VALUES,
    CategoryParam,
    CategoryValue,
    PageNumber,
    api_categories,
    entry_json,
    latest_day,
    with_marks,
)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["papers"])
PER_DAY = 100  # a busy arXiv day has ~1,000 papers
TRENDING = 50
MAX_PAGE = 1_000  # with a limit of 100, as deep as any offset the API takes
DAY = "YYYY-MM-DD: 2025-02-27"
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
SortParam = Annotated[
    str | None,
    Query(max_length=20, description="trending (most upvoted), newest or id (arXiv's order)"),
]


@router.get("/papers")
def latest(
    request: Request,
    services: ServicesDep,
    number: PageNumber = 1,
    cat: CategoryParam = (),
    sort: SortParam = None,
) -> HTMLResponse:
    return _day_page(request, services, None, number, cat, sort)


@router.get("/papers/date/{day}")
def on_day(
    request: Request,
    services: ServicesDep,
    day: str,
    number: PageNumber = 1,
    cat: CategoryParam = (),
    sort: SortParam = None,
) -> HTMLResponse:
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise HTTPException(404, f"{day!r} is not a date (YYYY-MM-DD).") from None
    return _day_page(request, services, wanted, number, cat, sort)


@router.get("/papers/trending")
def trending_page(
    request: Request,
    services: ServicesDep,
    period: str = "now",
    cat: CategoryParam = (),
) -> HTMLResponse:
    if period not in ("now", "week", "month"):
        raise HTTPException(404, "period is now, week or month")
    categories, notes = page_categories(cat)
    items = trending_cards(services.engine, period, TRENDING, categories)
    shown = with_marks(services, current_user(request), items)
    return page(
        request,
        "trending.html",
        papers=shown,
        period=period,
        categories=categories,
        notes=notes,
        hf_synced=last_completed(services.engine, HF_DAILY),
    )


@router.get("/org/{handle}")
def organisation_page(
    request: Request,
    services: ServicesDep,
    handle: str,
    cat: CategoryParam = (),
) -> HTMLResponse:
    organisation = feed.organisation(services.engine, handle)
    if organisation is None:
        raise HTTPException(404, f"There is no organisation {handle!r} here.")
    categories, notes = page_categories(cat)
    listed = feed.in_categories(categories)
    items = feed.organisation_papers(services.engine, handle, *listed)
    following = (FollowKind.ORGANISATION, handle)
    return _listing(request, services, organisation["name"], items, categories, notes, following)


@router.get("/author/{name:path}")
def author_page(
    request: Request,
    services: ServicesDep,
    name: str,
    cat: CategoryParam = (),
) -> HTMLResponse:
    categories, notes = page_categories(cat)
    items = feed.author_papers(services.engine, name, *feed.in_categories(categories))
    if not items and not (categories and feed.author_papers(services.engine, name, limit=1)):
        raise HTTPException(404, f"There are no papers by {name!r} here.")
    following = (FollowKind.AUTHOR, name)
    return _listing(request, services, name, items, categories, notes, following)


def _listing(
    request: Request,
    services: Services,
    heading: str,
    items: list[dict[str, Any]],
    categories: list[str],
    notes: list[str],
    following: tuple[str, str],
) -> HTMLResponse:
    user = current_user(request)
    return page(
        request,
        "listing.html",
        heading=heading,
        papers=with_marks(services, user, items),
        categories=categories,
        notes=notes,
        follow=follow_option(services, user, *following),
    )


def page_categories(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """The categories a page's ``cat`` parameter names, and a note for each it ignores."""
    names, problems = read_categories(values)
    return names, [f"Ignored: {problem}." for problem in problems]


@api_router.get(
    "/daily_papers",
    summary="The daily papers of a day, ISO week or month (default: the newest day), as "
    "Hugging Face's API gives them",
    **documented(400),
)
def daily_papers(
    services: ServicesDep,
    p: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    date_: Annotated[str | None, Query(alias="date", max_length=20, description=DAY)] = None,
    week: Annotated[str | None, Query(max_length=20, description="YYYY-Www: 2025-W09")] = None,
    month: Annotated[str | None, Query(max_length=20, description="YYYY-MM: 2025-02")] = None,
    submitter: Annotated[
        str | None, Query(max_length=200, description="Hugging Face user who submitted it")
    ] = None,
    sort: Annotated[
        Literal["publishedAt", "trending"],
        Query(description="publishedAt: newest day first; trending: most upvoted first"),
    ] = "publishedAt",
    cat: Annotated[
        Sequence[CategoryValue],
        Query(
            max_length=MAX_CATEGORY_VALUES,
            description="A paperfeed extra: only papers in any of these arXiv categories or "
            "archives (cs.CL, cs); repeat it, or separate them by commas",
        ),
    ] = (),
) -> list[dict[str, Any]]:
    categories = api_categories(cat)
    period = daily_period(services.engine, date_, week, month)
    if period is None:
        return []
    where = [papers.c.submitted_by == submitter] if submitter else []
    where += feed.in_categories(categories)
    found = feed.period_papers(
        services.engine,
        *period,
        *where,
        by_votes=sort == "trending",
        limit=limit,
        offset=p * limit,
    )
    return [entry_json(card) for card in found]


def daily_period(
    engine: Engine, day: str | None, week: str | None, month: str | None
) -> tuple[date, date] | None:
    """The first and last day that ``date``, ``week`` or ``month`` names (none: the newest
    day; ``None`` for an empty store); a 400 saying why for a bad one."""
    given = [value for value in (day, week, month) if value]
    if len(given) > 1:
        raise HTTPException(400, "Give one of date, week and month, not several.")
    try:
        if day:
            return _one_day(day)
        if week:
            return _week(week)
        if month:
            return _month(month)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    newest = latest_day(engine)
    return (newest, newest) if newest else None


def _one_day(text: str) -> tuple[date, date]:
    try:
        day = date.fromisoformat(text) if ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"date {text!r} is not a date: YYYY-MM-DD, e.g. 2025-02-27.")
    return day, day


def _week(text: str) -> tuple[date, date]:
    found = _WEEK.fullmatch(text)
    try:
        monday = date.fromisocalendar(int(found[1]), int(found[2]), 1) if found else None
    except ValueError:
        monday = None
    if monday is None:
        raise ValueError(f"week {text!r} is not an ISO week: YYYY-Www, e.g. 2025-W09.")
    return monday, monday + timedelta(days=6)


def _month(text: str) -> tuple[date, date]:
    found = _MONTH.fullmatch(text)
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
        raise ValueError(f"month {text!r} is not a month: YYYY-MM, e.g. 2025-02.")
    year, number = int(found[1]), int(found[2])
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


@api_router.get(
    "/papers/trending",
    summary="Trending papers, or the week's or month's tops",
    **documented(400),
)
def trending_papers(
    services: ServicesDep,
    period: Literal["now", "week", "month"] = "now",
    limit: Annotated[int, Query(ge=1, le=200)] = TRENDING,
    cat: CategoryParam = (),
) -> list[dict[str, Any]]:
    found = trending_cards(services.engine, period, limit, api_categories(cat))
    return [trending_entry(card) for card in found]


def trending_entry(card: dict[str, Any]) -> dict[str, Any]:
    """A trending paper's entry with, as a paperfeed extra, where its upvotes come from."""
    entry = entry_json(card)
    entry["paper"]["upvotesFrom"] = {"huggingFace": card["hf_upvotes"] or 0, "here": card["votes"]}
    return entry


@dataclass(frozen=True)
class DayListing:
    """A page of a day's papers and where it sits: what every visitor of the page sees alike."""

    day: date | None
    cards: list[dict[str, Any]]
    total: int
    before: date | None
    after: date | None


def day_listing(
    kept: Kept[DayListing],
    engine: Engine,
    day: date | None,
    offset: int,
    categories: Sequence[str] = (),
    order: str = "trending",
) -> DayListing:
    """The page at ``offset`` of ``day`` (``None``: the newest), only papers in any of
    ``categories`` (all without), in ``order``, read once and ``kept`` until the store
    changes: every change to a paper moves :func:`shown_version`. The newest day's first page
    is what most visitors open, and reading it was half its time."""
    today = datetime.now(UTC).date()

    def read() -> DayListing:
        shown = day or feed.latest_day(engine, today)
        if shown is None:
            return DayListing(None, [], 0, None, None)
        listed = feed.in_categories(categories)
        items = feed.day_papers(engine, shown, *listed, order=order, limit=PER_DAY, offset=offset)
        total = feed.day_count(engine, shown, *listed)
        return DayListing(shown, items, total, *feed.neighbour_days(engine, shown))

    listed = tuple(sorted({name.lower() for name in categories}))  # matched in any case
    return kept.get((day or today, day is None, offset, listed, order, shown_version(engine)), read)


def _day_page(
    request: Request,
    services: Services,
    day: date | None,
    number: int,
    cat: Sequence[str],
    sort: str | None,
) -> HTMLResponse:
    categories, notes = page_categories(cat)
    order = _day_order(request, sort, notes)
    return visitor_page(
        request,
        # the URL names the rest: the day, its page, categories and an asked-for order; today
        # for the newest day (day_listing's, as of today)
        lambda: (order, datetime.now(UTC).date(), shown_version(services.engine)),
        "day.html",
        lambda: _day_context(request, services, day, number, categories, notes, order),
    )


def _day_context(
    request: Request,
    services: Services,
    day: date | None,
    number: int,
    categories: list[str],
    notes: list[str],
    order: str,
) -> dict[str, Any]:
    offset = (number - 1) * PER_DAY
    listing = day_listing(request.app.state.days, services.engine, day, offset, categories, order)
    items = [dict(card) for card in listing.cards]  # the marks go on copies
    user = current_user(request)
    return dict(
        day=listing.day,
        papers=with_marks(services, user, items),
        total=listing.total,
        number=number,
        more=offset + len(items) < listing.total,
        before=listing.before,
        after=listing.after,
        quiet=_quiet(listing.day) if listing.day and not listing.total else None,
        categories=categories,
        category_query=f"?{urlencode([('cat', c) for c in categories])}" if categories else "",
        notes=notes,
        order=order,
        orders=DAY_SORTS,
        follow_buttons=[follow_option(services, user, FollowKind.CATEGORY, c) for c in categories],
        follows=len(user_follows(services.engine, user["id"])) if user else None,
    )


DAY_SORTS = {"trending": "Most upvoted", "newest": "Newest", "id": "arXiv order"}


def _day_order(request: Request, asked: str | None, notes: list[str]) -> str:
    """The order of a day page: the one ``asked`` for, remembered in the visitor's session (a
    signed cookie, signed in or not), else the one remembered, else most upvoted first."""
    if asked in feed.DAY_ORDERS:
        request.session["day_sort"] = asked
        return asked
    if asked:
        notes.append(f"Ignored: sort {asked!r} is not one of {', '.join(feed.DAY_ORDERS)}.")
    remembered = request.session.get("day_sort")
    return remembered if remembered in feed.DAY_ORDERS else "trending"


def _quiet(day: date) -> str:
    """Why a day has no papers."""
    if day.weekday() >= 5:
        return f"arXiv does not announce papers on {calendar.day_name[day.weekday()]}s."
    return "No papers were announced on this day (a holiday, or not loaded yet)."
