"""Atom and RSS feeds of the daily feed, trending, any search (``feedgen``), and each
account's secret Atom feed of what it follows."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, time
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from feedgen.feed import FeedGenerator

from paperfeed.ranking.trending import trending
from paperfeed.store import feed
from paperfeed.store.follows import feed_owner, user_follows
from paperfeed.text import plain
from paperfeed.web.deps import ServicesDep
from paperfeed.web.follows import recent_followed
from paperfeed.web.search_form import SearchForm, run_search
from paperfeed.web.views import latest_day

router = APIRouter(prefix="/feeds", include_in_schema=False)
FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml"}
ITEMS = 50
FOLLOWED_DAYS = 14  # a feed reader that looks weekly misses nothing
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # an empty feed's "updated"
# characters XML 1.0 cannot hold (lxml refuses them): control characters, lone surrogates
NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@router.get("/daily.{kind}")
def daily(request: Request, services: ServicesDep, kind: str) -> Response:
    day = latest_day(services.engine)
    items = feed.day_papers(services.engine, day, limit=ITEMS) if day else []
    title = f"paperfeed: papers of {day.isoformat()}" if day else "paperfeed: daily papers"
    return _render(request, kind, title, "/papers", items)


@router.get("/trending.{kind}")
def trending_feed(request: Request, services: ServicesDep, kind: str) -> Response:
    items = trending(services.engine, latest_day(services.engine), ITEMS)
    return _render(request, kind, "paperfeed: trending papers", "/papers/trending", items)


@router.get("/search.{kind}")
def search_feed(
    request: Request, services: ServicesDep, kind: str, form: Annotated[SearchForm, Query()]
) -> Response:
    hits, _ = run_search(services.searcher, form, ITEMS)
    items = [vars(hit) for hit in hits]
    query = request.url.query
    return _render(request, kind, f"paperfeed: {form.q or 'search'}", f"/search?{query}", items)


@router.get("/{key}.atom")
def following_feed(request: Request, services: ServicesDep, key: str) -> Response:
    """The papers of what the account whose feed URL holds ``key`` follows, newest first."""
    owner = feed_owner(services.engine, key) if len(key) <= 64 else None
    if owner is None:
        raise HTTPException(
            404,
            "This feed address is not valid: it may have been replaced by a new one (see the "
            "Following page of your account).",
        )
    follows = user_follows(services.engine, owner)
    found, _ = recent_followed(services, follows, request.app.state.weeks, FOLLOWED_DAYS)
    items = [paper.shown() for paper in found[:ITEMS]]
    return _render(request, "atom", "paperfeed: papers you follow", "/", items)


def _render(
    request: Request, kind: str, title: str, page: str, items: list[dict[str, Any]]
) -> Response:
    if kind not in FORMATS:
        raise HTTPException(404, "feeds come as .atom or .rss")
    base = str(request.base_url).rstrip("/")
    generator = FeedGenerator()
    generator.id(base + page)
    title = _xml(title)
    generator.title(title)
    generator.link(href=base + page, rel="alternate")
    generator.link(href=str(request.url), rel="self")
    generator.description(title)
    days = {card["arxiv_id"]: _announced(card) for card in items}
    # the newest paper's day, not the request's time: an unchanged feed reads the same
    updated = max((day for day in days.values() if day), default=EPOCH)
    generator.updated(updated)
    generator.lastBuildDate(updated)
    for card in reversed(items):  # feedgen prepends: the first item ends up on top
        entry = generator.add_entry()
        link = f"{base}/papers/{card['arxiv_id']}"
        entry.id(link)
        entry.title(_xml(plain(card.get("title"))))
        entry.link(href=link)
        abstract = _xml(plain(card.get("abstract"))) or " "
        if card.get("reasons"):  # a followed paper: why it is in the feed
            abstract = _xml(f"Because {' and '.join(card['reasons'])}.\n\n{abstract}")
        # RSS readers decode <description> as HTML: the text is escaped once more for them, so
        # that an abstract's "<img onerror=...>" shows as text; Atom's content is type text
        entry.description(html.escape(abstract) if kind == "rss" else abstract)
        for name in (card.get("authors") or [])[:20]:
            entry.author(name=_xml(name))
        entry.updated(days[card["arxiv_id"]] or updated)
        if days[card["arxiv_id"]]:
            entry.published(days[card["arxiv_id"]])
    body = generator.atom_str(pretty=True) if kind == "atom" else generator.rss_str(pretty=True)
    headers = {
        "ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
        "Last-Modified": format_datetime(updated, usegmt=True),
    }
    # only the ETag decides: trending reorders by votes without a newer paper
    if headers["ETag"] in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=FORMATS[kind], headers=headers)


def _announced(card: dict[str, Any]) -> datetime | None:
    day = card.get("announced")
    return datetime.combine(day, time(), UTC) if day else None


def _xml(text: str) -> str:
    """``text`` without the characters an XML document cannot contain (a query may have any)."""
    return NOT_XML.sub("", text)
