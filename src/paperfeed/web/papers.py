"""One paper: its page and JSON, the papers like it, upvotes, saving and hiding it, and
submitting a paper by arXiv id or URL. Pages change things with POST forms (CSRF token,
then 303 back); the API with POST and DELETE."""

from __future__ import annotations

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.ingest.submit import SubmitError, Submitted, fetch, submit_paper
from paperfeed.library.export import to_bibtex
from paperfeed.markdown import paper_markdown
from paperfeed.ranking.search import Hit
from paperfeed.services import Services
from paperfeed.store import feed
from paperfeed.store.activity import set_hidden, set_saved, set_vote
from paperfeed.store.changes import shown_version
from paperfeed.store.queries import cards, cards_in_order, get_paper, is_stored
from paperfeed.store.schema import papers
from paperfeed.urls import hub_repo, safe_urls
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.cite import citation_meta, coins, reference_file
from paperfeed.web.comments import discussion
from paperfeed.web.deps import ServicesDep
from paperfeed.web.indexing import index_soon
from paperfeed.web.render import page, visitor_page
from paperfeed.web.security import acting_user, current_user, rate_limit
from paperfeed.web.views import (
    CsrfField,
    OnField,
    PaperId,
    hit_json,
    iso,
    mark_from_form,
    paper_json,
    with_marks,
)
from paperfeed.web.views import canonical_id as _canonical

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["papers"])
SIMILAR_SHOWN = 8


class Submission(BaseModel):
    id: str = Field(max_length=500, description="An arXiv id or abs/PDF URL")


class ToIndex(BaseModel):
    """Hugging Face's "index this paper" body."""

    arxivId: str = Field(
        max_length=10, pattern=r"^\d{4}\.\d{4,5}$", description="A new-style arXiv id"
    )


def card_of(engine: Engine, arxiv_id: str) -> dict[str, Any] | None:
    """The paper's card (visible papers only)."""
    found = cards(engine, papers.c.arxiv_id == arxiv_id)
    return found[0] if found else None


def similar_hits(services: Services, arxiv_id: str, limit: int) -> list[Hit]:
    """The papers most like ``arxiv_id`` as kept in the store (see
    :mod:`paperfeed.ranking.similar`); none if the store does not hold it."""
    try:
        return services.searcher.similar(arxiv_id, limit)
    except KeyError:
        return []


def similar_cards(services: Services, arxiv_id: str, limit: int) -> list[dict[str, Any]]:
    """The cards of :func:`similar_hits`, each with ``why``, as lists of cards render them
    (a visitor's kept once per version: :func:`~paperfeed.web.render.anonymous_cards`)."""
    try:
        found = services.searcher.neighbours(arxiv_id, limit)
    except KeyError:
        return []
    why = {near.arxiv_id: list(near.why) for near in found}
    return [
        {**card, "why": why[card["arxiv_id"]]}
        for card in cards_in_order(services.engine, list(why))
    ]


def accept_submission(
    request: Request,
    services: Services,
    background: BackgroundTasks,
    user: dict[str, Any],
    text: str,
) -> Submitted:
    """Store the paper ``text`` names (fetched from arXiv if new) as submitted by ``user``
    unless it was here already, rate-limited per user, and index it after the response.
    Raises :class:`SubmitError` for the user to fix."""
    settings = services.settings
    rate_limit(request, settings.submit_rate, "submit", key=str(user["id"]))
    submitted = submit_paper(
        services.engine, services.http(), settings.arxiv_api_url, text, user["id"]
    )
    if submitted.new:
        background.add_task(index_soon, services)
    return submitted


# the pages --------------------------------------------------------------------------------


@router.get("/papers/{arxiv_id:path}.md")
def paper_markdown_page(request: Request, services: ServicesDep, arxiv_id: str) -> Response:
    """The paper as Markdown (Hugging Face's ``/papers/<id>.md``, which ``read_paper`` reads)."""
    return _paper_file(request, services, arxiv_id, "md")


@router.get("/papers/{arxiv_id:path}.bib")
def paper_bibtex(request: Request, services: ServicesDep, arxiv_id: str) -> Response:
    return _paper_file(request, services, arxiv_id, "bib")


@router.get("/papers/{arxiv_id:path}.ris")
def paper_ris(request: Request, services: ServicesDep, arxiv_id: str) -> Response:
    return _paper_file(request, services, arxiv_id, "ris")


@router.get("/papers/{arxiv_id:path}")
def paper_page(request: Request, services: ServicesDep, arxiv_id: str) -> Response:
    canonical = _canonical(arxiv_id)
    if canonical != arxiv_id:
        return RedirectResponse(f"/papers/{canonical}", 301)
    if "text/markdown" in request.headers.get("accept", ""):
        return _markdown(shown_paper(request, services, canonical))
    return visitor_page(
        request,
        # every change to a paper, its comments included, moves shown_version; its similar
        # papers come from the vector index in use
        lambda: (shown_version(services.engine), services.searcher.window_version()),
        "paper.html",
        lambda: _paper_context(request, services, canonical),
    )


def _paper_context(request: Request, services: Services, canonical: str) -> dict[str, Any]:
    """What the paper's page shows (a 404 for a paper it may not show)."""
    stored = shown_paper(request, services, canonical)
    card = card_of(services.engine, canonical)
    user = current_user(request)
    extra = with_marks(services, user, [card])[0] if card else {}
    return {
        "paper": {**stored, **extra},
        "similar": similar_cards(services, canonical, SIMILAR_SHOWN),
        "meta": citation_meta(stored),
        "coins": coins(stored),
        "bibtex": to_bibtex([stored]),
        "comments": discussion(services, canonical, user),
    }


def _paper_file(request: Request, services: Services, arxiv_id: str, extension: str) -> Response:
    """The paper as Markdown, or as a BibTeX or RIS file for a reference manager."""
    canonical = _canonical(arxiv_id)
    if canonical != arxiv_id:
        return RedirectResponse(f"/papers/{canonical}.{extension}", 301)
    stored = shown_paper(request, services, canonical)
    if extension == "md":
        return _markdown(stored)
    return reference_file([stored], extension, canonical.replace("/", "_"))


@router.post("/papers/{arxiv_id:path}/upvote")
def upvote_form(
    request: Request,
    services: ServicesDep,
    arxiv_id: str,
    csrf_token: CsrfField = "",
    on: OnField = True,
) -> RedirectResponse:
    return mark_from_form(request, services, set_vote, arxiv_id, csrf_token, on)


@router.post("/papers/{arxiv_id:path}/save")
def save_form(
    request: Request,
    services: ServicesDep,
    arxiv_id: str,
    csrf_token: CsrfField = "",
    on: OnField = True,
) -> RedirectResponse:
    return mark_from_form(request, services, set_saved, arxiv_id, csrf_token, on)


@router.post("/papers/{arxiv_id:path}/hide")
def hide(
    request: Request,
    services: ServicesDep,
    arxiv_id: str,
    csrf_token: CsrfField = "",
    on: OnField = True,
) -> RedirectResponse:
    if not acting_user(request, csrf_token)["is_admin"]:
        raise HTTPException(403, "Only an admin can hide papers.")
    set_hidden(services.engine, arxiv_id, on)
    return RedirectResponse("/papers" if on else f"/papers/{arxiv_id}", 303)


@router.get("/submit")
def submit_form(request: Request) -> HTMLResponse:
    return page(request, "submit.html", error=None, value="")


@router.post("/submit")
def submit_page(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    paper: Annotated[str, Form(max_length=500)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    user = acting_user(request, csrf_token)
    try:
        submitted = accept_submission(request, services, background, user, paper)
    except SubmitError as exc:
        return page(request, "submit.html", 400, error=str(exc), value=paper)
    if submitted.new:
        return RedirectResponse(f"/papers/{submitted.arxiv_id}", 303)
    card = card_of(services.engine, submitted.arxiv_id)
    return page(request, "submit.html", error=None, value="", already=submitted, card=card)


def shown_paper(request: Request, services: Services, canonical: str) -> dict[str, Any]:
    """The stored paper a page shows; a 404 when it is not here, withdrawn, or hidden (except
    from an admin)."""
    stored = get_paper(services.engine, canonical)
    user = current_user(request)
    if (
        stored is None
        or stored["withdrawn"]
        or (stored["hidden"] and not (user and user["is_admin"]))
    ):
        raise HTTPException(404, f"{canonical} is not in this feed; signed-in users can submit it.")
    return stored


def _markdown(stored: dict[str, Any]) -> Response:
    text = paper_markdown(stored)
    return Response(text, media_type="text/markdown; charset=utf-8", headers={"Vary": "Accept"})


# the API ----------------------------------------------------------------------------------


@api_router.post(
    "/papers/submit",
    summary="Submit a paper by arXiv id or URL",
    status_code=201,
    **documented(
        400,
        403,
        413,
        429,
        auth=Auth.SIGNED_IN,
        ok={"description": "The paper was here already: not your submission"},
    ),
)
def submit(
    request: Request,
    response: Response,
    services: ServicesDep,
    body: Submission,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """201 when you are the paper's submitter now; 200 when it was here already (submitted
    before, by you or another user, or announced on the feed's newest day)."""
    user = acting_user(request, None)
    try:
        submitted = accept_submission(request, services, background, user, body.id)
    except SubmitError as exc:
        raise HTTPException(400, str(exc)) from None
    if not submitted.new:
        response.status_code = 200
    return _paper(services.engine, submitted.arxiv_id)


@api_router.get(
    "/papers",
    summary="Every paper, newest first, a page at a time: the next page's address is in the "
    'Link header (rel="next")',
    **documented(400),
)
def list_papers(
    request: Request,
    response: Response,
    services: ServicesDep,
    cursor: Annotated[
        str | None, Query(max_length=400, description="Where the last page ended")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[dict[str, Any]]:
    found = feed.newest_papers(services.engine, limit, _read_cursor(cursor) if cursor else None)
    if len(found) == limit:
        last = found[-1]
        following = request.url.include_query_params(cursor=_cursor(last), limit=limit)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return [paper_json(card) for card in found]


@api_router.post(
    "/papers/index",
    summary="Bring an arXiv paper here (fetched from arXiv unless stored)",
    **documented(400, 403, 413, 429, auth=Auth.SIGNED_IN),
)
def index_paper(
    request: Request, services: ServicesDep, body: ToIndex, background: BackgroundTasks
) -> dict[str, Any]:
    """Hugging Face's answer: ``{}`` once the paper is here."""
    user, settings = acting_user(request, None), services.settings
    if not is_stored(services.engine, body.arxivId):
        rate_limit(request, settings.submit_rate, "submit", key=str(user["id"]))
        try:
            fetch(services.engine, services.http(), settings.arxiv_api_url, body.arxivId)
        except SubmitError as exc:
            raise HTTPException(400, str(exc)) from None
        background.add_task(index_soon, services)
    return {}


@api_router.get(
    "/arxiv/{arxiv_id:path}/repos",
    summary="The Hugging Face models, datasets and Spaces the paper links to",
    **documented(404),
)
def repos(services: ServicesDep, arxiv_id: PaperId) -> dict[str, list[dict[str, str]]]:
    """As Hugging Face's: lists, empty for a paper that is not here."""
    stored = get_paper(services.engine, _canonical(arxiv_id)) or {}
    found: dict[str, list[dict[str, str]]] = {"models": [], "datasets": [], "spaces": []}
    for url in safe_urls(stored.get("links")):
        if kind := hub_repo(url):
            found[kind[0]].append({"id": kind[1]})
    return found


@api_router.get(
    "/papers/{arxiv_id:path}/similar",
    summary="The papers most like this one: by meaning, words, authors, categories, co-saves",
    **documented(404),
)
def similar(
    request: Request,
    services: ServicesDep,
    arxiv_id: PaperId,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    canonical = _canonical(arxiv_id)
    _paper(services.engine, canonical)
    hits = similar_hits(services, canonical, limit)
    return [hit_json(hit) | {"why": hit.why} for hit in hits]


@api_router.post(
    "/papers/{arxiv_id:path}/upvote",
    summary="Upvote (once per user)",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def upvote(request: Request, services: ServicesDep, arxiv_id: PaperId) -> dict[str, Any]:
    return _vote(request, services, arxiv_id, True)


@api_router.delete(
    "/papers/{arxiv_id:path}/upvote",
    summary="Take an upvote back",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def remove_upvote(request: Request, services: ServicesDep, arxiv_id: PaperId) -> dict[str, Any]:
    return _vote(request, services, arxiv_id, False)


@api_router.post(
    "/papers/{arxiv_id:path}/save",
    summary="Save to read later",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def save(request: Request, services: ServicesDep, arxiv_id: PaperId) -> dict[str, Any]:
    return _save(request, services, arxiv_id, True)


@api_router.delete(
    "/papers/{arxiv_id:path}/save",
    summary="Remove from saved papers",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def unsave(request: Request, services: ServicesDep, arxiv_id: PaperId) -> dict[str, Any]:
    return _save(request, services, arxiv_id, False)


@api_router.get("/papers/{arxiv_id:path}", summary="One paper", **documented(404))
def paper(services: ServicesDep, arxiv_id: PaperId) -> dict[str, Any]:
    return _paper(services.engine, _canonical(arxiv_id))


def _vote(request: Request, services: Services, arxiv_id: str, on: bool) -> dict[str, Any]:
    user, canonical = acting_user(request, None), _canonical(arxiv_id)
    total = set_vote(services.engine, user["id"], canonical, on)
    return {"id": canonical, "upvotes": total, "upvoted": on}


def _save(request: Request, services: Services, arxiv_id: str, on: bool) -> dict[str, Any]:
    user, canonical = acting_user(request, None), _canonical(arxiv_id)
    set_saved(services.engine, user["id"], canonical, on)
    return {"id": canonical, "saved": on}


def _paper(engine: Engine, arxiv_id: str) -> dict[str, Any]:
    stored, card = get_paper(engine, arxiv_id), card_of(engine, arxiv_id)
    if card is None:
        raise HTTPException(404, f"{arxiv_id} is not in this feed")
    stored = stored or {}
    return {
        **paper_json(card),
        "arxivComment": stored.get("comments"),
        "doi": stored.get("doi"),
        "journalRef": stored.get("journal_ref"),
        "updatedAt": iso(stored.get("updated")),
    }


def _cursor(card: dict[str, Any]) -> str:
    announced = card["announced"]
    plain = f"{announced.isoformat() if announced else ''}~{card['arxiv_id']}"
    return urlsafe_b64encode(plain.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[date | None, str]:
    """The day and id of the paper a page ended at; a 400 for what no page gave."""
    try:
        day, arxiv_id = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("~")
        return (date.fromisoformat(day) if day else None), parse_arxiv_id(arxiv_id).id
    except (ValueError, InvalidArxivId):
        raise HTTPException(400, "The cursor is not one this API gave.") from None
