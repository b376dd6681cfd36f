""" "For you": recent papers recommended from what the user saved, upvoted and rejected, for
the whole library or one tag, with why; the page and its JSON twin under ``/api``, both from
:meth:`Services.recommendations
<paperfeed.services.Services.recommendations>`.

A new user with nothing saved yet starts from a few words about their interests (kept as
the ``seed`` preference, embedded like a search query) or by saving a few papers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from paperfeed.ranking.recommend import Recommendation
from paperfeed.ranking.search import coverage_note
from paperfeed.services import Services
from paperfeed.store.accounts import set_preferences
from paperfeed.store.library import user_tags
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import acting_user, current_user, require_user
from paperfeed.web.views import CsrfField, TagParam, paper_json, with_marks

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/recommendations", tags=["library"])
SHOWN = 30
MAX_SEED = 500


class Preferences(BaseModel):
    categories: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=30
    )
    exclude: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    seed: str = Field("", max_length=MAX_SEED, description="Interests in words, for a start")


@router.get("/for-you")
def for_you(request: Request, services: ServicesDep, tag: str | None = None) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/for-you", 303)
    found = services.recommendations(user, tag, SHOWN)
    items = with_marks(services, user, [_card(item) for item in found])
    preferences = Preferences(**(user.get("preferences") or {}))
    tags = user_tags(services.engine, user["id"])
    return page(
        request,
        "for_you.html",
        papers=items,
        tag=tag,
        tags=tags,
        preferences=preferences,
        indexing=not found and still_indexing(services),
    )


def still_indexing(services: Services) -> bool:
    """Whether papers are still waiting to be indexed by meaning (recommendations need it)."""
    if services.vectors is None:
        return False
    index = services.vectors.current()
    return coverage_note(index if len(index) else None) is not None  # what search says too


@router.post("/for-you/preferences")
def save_preferences(
    request: Request,
    services: ServicesDep,
    categories: Annotated[str, Form(max_length=1000)] = "",
    exclude: Annotated[str, Form(max_length=2000)] = "",
    seed: Annotated[str, Form(max_length=MAX_SEED)] = "",
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    chosen = Preferences(
        categories=_listed(categories), exclude=_listed(exclude), seed=seed.strip()
    )
    set_preferences(services.engine, user["id"], chosen.model_dump())
    return RedirectResponse("/for-you", 303)


@api_router.get(
    "",
    summary="Recent papers recommended for the signed-in user, with why",
    **documented(auth=Auth.SIGNED_IN),
)
def api_recommendations(
    request: Request,
    services: ServicesDep,
    tag: TagParam = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    user = require_user(request)
    found = services.recommendations(user, tag, limit)
    return [
        {
            "paper": paper_json(item.card),
            "score": round(item.score, 4),
            "because": {"id": item.because, "title": item.because_title} if item.because else None,
        }
        for item in found
    ]


@api_router.put(
    "/preferences",
    summary="Categories, words to exclude, and a seed",
    **documented(400, 403, 413, auth=Auth.SIGNED_IN),
)
def api_preferences(request: Request, services: ServicesDep, body: Preferences) -> dict[str, Any]:
    user = acting_user(request, None)
    set_preferences(services.engine, user["id"], body.model_dump())
    return body.model_dump()


def _card(item: Recommendation) -> dict[str, Any]:
    return {**item.card, "because": item.because, "because_title": item.because_title}


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
