"""The JSON API under ``/api``. Shapes follow Hugging Face's paper API where the two overlap
(``/api/daily_papers``, ``/api/papers/{id}``, ``/api/papers/search``), so clients carry over."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request
from pydantic import BaseModel, Field

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.ingest.submit import SubmitError, submit_paper
from paperfeed.ranking.search import Hit
from paperfeed.ranking.trending import top, trending
from paperfeed.store import feed
from paperfeed.store.activity import set_saved, set_vote
from paperfeed.store.queries import cards, get_paper
from paperfeed.store.schema import papers
from paperfeed.web.indexing import index_soon
from paperfeed.web.search_form import SearchForm, run_search
from paperfeed.web.security import acting_user, rate_limit

router = APIRouter(prefix="/api", tags=["papers"])


def paper_json(card: dict[str, Any]) -> dict[str, Any]:
    """A paper as Hugging Face's API gives it (``id``, ``title``, ``summary``, ``authors``
    as ``[{"name"}]``, ``publishedAt``, ``upvotes``, ``githubRepo``…) plus our own fields."""
    announced = card.get("announced")
    published = card.get("published") or (
        datetime.combine(announced, time(), UTC) if announced else None
    )
    github = next((link for link in card.get("links") or () if "github.com" in link), None)
    return {
        "id": card["arxiv_id"],
        "title": card["title"],
        "summary": card.get("abstract"),
        "authors": [{"name": name} for name in card.get("authors") or ()],
        "publishedAt": _iso(published),
        "announcedOn": announced.isoformat() if announced else None,
        "upvotes": card.get("upvotes") or 0,
        "categories": card.get("categories") or [],
        "githubRepo": github,
        "links": card.get("links") or [],
        "organization": {"name": card["organisation"]} if card.get("organisation") else None,
        "submittedAt": _iso(card.get("submitted_at")),
    }


def entry_json(card: dict[str, Any]) -> dict[str, Any]:
    """A daily-papers entry: ``{"paper": {...}, "title", "summary", "publishedAt", ...}``."""
    paper = paper_json(card)
    return {
        "paper": paper,
        "title": paper["title"],
        "summary": paper["summary"],
        "publishedAt": paper["publishedAt"],
        "numComments": 0,
        "organization": paper["organization"],
    }


@router.get("/daily_papers", summary="The papers of an announcement day (default: the newest)")
def daily_papers(
    request: Request,
    date_: Annotated[date | None, Query(alias="date")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    engine = request.app.state.engine
    day = date_ or feed.latest_day(engine, datetime.now(UTC).date())
    return [entry_json(card) for card in (feed.day_papers(engine, day, limit) if day else [])]


@router.get("/papers/trending", summary="Trending papers, or the week's or month's tops")
def trending_papers(
    request: Request,
    period: Annotated[str, Query(pattern="^(now|week|month)$")] = "now",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    engine = request.app.state.engine
    latest_day = feed.latest_day(engine, datetime.now(UTC).date())
    found = (
        trending(engine, latest_day, limit)
        if period == "now"
        else top(engine, latest_day, period, limit)
    )
    return [entry_json(card) for card in found]


@router.get("/papers/search", summary="Hybrid search with filters and sorts")
def search_papers(
    request: Request,
    form: Annotated[SearchForm, Query()],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    hits, _ = run_search(request.app.state.services.searcher, form, limit)
    return [_hit_json(request, hit) for hit in hits]


class Submission(BaseModel):
    id: str = Field(max_length=500, description="An arXiv id or abs/PDF URL")


@router.post("/papers/submit", summary="Submit a paper by arXiv id or URL", status_code=201)
def submit(request: Request, body: Submission, background: BackgroundTasks) -> dict[str, Any]:
    user = acting_user(request, None)
    services = request.app.state.services
    rate_limit(request, services.settings.submit_rate, "submit", key=str(user["id"]))
    try:
        arxiv_id = submit_paper(
            services.engine, services.http(), services.settings.arxiv_api_url, body.id, user["id"]
        )
    except SubmitError as exc:
        raise HTTPException(400, str(exc)) from None
    background.add_task(index_soon, services)
    return _paper(request, arxiv_id)


@router.get("/papers/{arxiv_id:path}/similar", summary="The papers nearest by embedding")
def similar(
    request: Request, arxiv_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> list[dict[str, Any]]:
    canonical = _canonical(arxiv_id)
    _paper(request, canonical)
    try:
        hits = request.app.state.services.searcher.similar(canonical, limit)
    except KeyError:
        return []
    return [_hit_json(request, hit) for hit in hits]


@router.post("/papers/{arxiv_id:path}/upvote", summary="Upvote (once per user)")
def upvote(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _vote(request, arxiv_id, True)


@router.delete("/papers/{arxiv_id:path}/upvote", summary="Take an upvote back")
def remove_upvote(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _vote(request, arxiv_id, False)


@router.post("/papers/{arxiv_id:path}/save", summary="Save to read later")
def save(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _save(request, arxiv_id, True)


@router.delete("/papers/{arxiv_id:path}/save", summary="Remove from saved papers")
def unsave(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _save(request, arxiv_id, False)


@router.get("/papers/{arxiv_id:path}", summary="One paper")
def paper(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _paper(request, _canonical(arxiv_id))


def _vote(request: Request, arxiv_id: str, on: bool) -> dict[str, Any]:
    user, canonical = acting_user(request, None), _canonical(arxiv_id)
    total = set_vote(request.app.state.engine, user["id"], canonical, on)
    return {"id": canonical, "upvotes": total, "upvoted": on}


def _save(request: Request, arxiv_id: str, on: bool) -> dict[str, Any]:
    user, canonical = acting_user(request, None), _canonical(arxiv_id)
    set_saved(request.app.state.engine, user["id"], canonical, on)
    return {"id": canonical, "saved": on}


def _canonical(arxiv_id: str) -> str:
    try:
        return parse_arxiv_id(arxiv_id).id
    except InvalidArxivId:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv id") from None


def _paper(request: Request, arxiv_id: str) -> dict[str, Any]:
    found = cards(request.app.state.engine, papers.c.arxiv_id == arxiv_id)
    if not found:
        raise HTTPException(404, f"{arxiv_id} is not in this feed")
    stored = get_paper(request.app.state.engine, arxiv_id) or {}
    return {
        **paper_json(found[0]),
        "comments": stored.get("comments"),
        "doi": stored.get("doi"),
        "journalRef": stored.get("journal_ref"),
        "updatedAt": _iso(stored.get("updated")),
    }


def _hit_json(request: Request, hit: Hit) -> dict[str, Any]:
    entry = entry_json(vars(hit))
    entry["highlight"] = hit.snippet
    entry["score"] = hit.score
    return entry


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None
