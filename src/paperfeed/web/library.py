"""The personal library: saved papers by tag with notes, tagging and notes from the paper
page and the cards, and "not interested"; the pages and their JSON twin under
``/api/library``, both listing :func:`library_cards`.

Pages change things with POST forms carrying the session's CSRF token that redirect back
(303), as upvoting does. API changes need the signed-in user: an API token
(``Authorization: Bearer …``), or the session cookie with its CSRF token in the
``X-CSRF-Token`` header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from paperfeed.services import Services
from paperfeed.store.activity import set_saved
from paperfeed.store.library import (
    MAX_NOTE,
    MAX_TAG,
    MAX_TAGS,
    delete_tag,
    library_ids,
    set_not_interested,
    set_note,
    set_tags,
    user_tags,
)
from paperfeed.store.queries import cards_in_order
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import acting_user, current_user, require_user
from paperfeed.web.views import (
    PER_PAGE,
    CsrfField,
    Offset,
    OnField,
    PageNumber,
    PaperId,
    TagParam,
    TagPath,
    back,
    change,
    mark_from_form,
    paper_json,
    sign_in_first,
    with_marks,
)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["library"])


class Tagging(BaseModel):
    tags: list[Annotated[str, Field(max_length=MAX_TAG)]] = Field(
        default_factory=list, max_length=MAX_TAGS, description="Tag names"
    )


class NoteText(BaseModel):
    text: str = Field(max_length=MAX_NOTE, description="The note; empty removes it")


def library_cards(
    services: Services, user: dict[str, Any], tag: str | None, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """Cards of the user's library (under ``tag``), most recently saved first, each with its
    tags, note and the user's other marks."""
    ids = library_ids(services.engine, user["id"], tag, limit, offset)
    return with_marks(services, user, cards_in_order(services.engine, ids))


def library_entry(card: dict[str, Any]) -> dict[str, Any]:
    """A paper of the library: the paper as everywhere in the API, and what the user keeps."""
    return {
        **paper_json(card),
        "tags": card["tags"],
        "note": card["note"],
        "notInterested": card["not_interested"],
    }


# the pages --------------------------------------------------------------------------------


@router.get("/library")
def library_page(
    request: Request, services: ServicesDep, tag: str | None = None, number: PageNumber = 1
) -> Response:
    user = current_user(request)
    if user is None:
        return sign_in_first(request)
    items = library_cards(services, user, tag, PER_PAGE + 1, (number - 1) * PER_PAGE)
    return page(
        request,
        "library.html",
        papers=items[:PER_PAGE],
        more=len(items) > PER_PAGE,
        number=number,
        tag=tag,
        tags=user_tags(services.engine, user["id"]),
    )


@router.post("/papers/{arxiv_id:path}/tags")
def tag_paper(
    request: Request,
    services: ServicesDep,
    arxiv_id: str,
    tags: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    change(set_tags, services.engine, user["id"], arxiv_id, tags.split(","))
    return back(request, f"/papers/{arxiv_id}")


@router.post("/papers/{arxiv_id:path}/note")
def note_paper(
    request: Request,
    services: ServicesDep,
    arxiv_id: str,
    text: Annotated[str, Form(max_length=4 * MAX_NOTE)] = "",
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    change(set_note, services.engine, user["id"], arxiv_id, text)
    return back(request, f"/papers/{arxiv_id}")


@router.post("/papers/{arxiv_id:path}/not-interested")
def not_interested(
    request: Request,
    services: ServicesDep,
    arxiv_id: str,
    csrf_token: CsrfField = "",
    on: OnField = True,
) -> RedirectResponse:
    return mark_from_form(request, services, set_not_interested, arxiv_id, csrf_token, on)


@router.post("/library/tags/{name:path}/delete")
def remove_tag_form(
    request: Request, services: ServicesDep, name: str, csrf_token: CsrfField = ""
) -> RedirectResponse:
    _delete_tag(services, acting_user(request, csrf_token), name)
    return RedirectResponse("/library", 303)


# the API ----------------------------------------------------------------------------------


@api_router.get(
    "/library",
    summary="The signed-in user's saved papers, most recently saved first",
    **documented(auth=Auth.SIGNED_IN),
)
def library(
    request: Request,
    services: ServicesDep,
    tag: TagParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    user = require_user(request)
    return [library_entry(card) for card in library_cards(services, user, tag, limit, offset)]


@api_router.get(
    "/library/tags",
    summary="The user's tags and how many papers each holds",
    **documented(auth=Auth.SIGNED_IN),
)
def tags(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return user_tags(services.engine, require_user(request)["id"])


@api_router.delete(
    "/library/tags/{name:path}",
    summary="Delete a tag (its papers stay saved)",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def remove_tag(request: Request, services: ServicesDep, name: TagPath) -> dict[str, Any]:
    _delete_tag(services, acting_user(request, None), name)
    return {"deleted": name}


@api_router.put(
    "/library/{arxiv_id:path}/note",
    summary="Keep a note on a paper (empty removes it)",
    **documented(400, 403, 404, 413, auth=Auth.SIGNED_IN),
)
def note(
    request: Request, services: ServicesDep, arxiv_id: PaperId, body: NoteText
) -> dict[str, Any]:
    user = acting_user(request, None)
    kept = change(set_note, services.engine, user["id"], arxiv_id, body.text)
    return {"id": arxiv_id, "note": kept or None}


@api_router.post(
    "/library/{arxiv_id:path}/not-interested",
    summary="Mark a paper not interesting",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def mark_not_interested(
    request: Request, services: ServicesDep, arxiv_id: PaperId
) -> dict[str, Any]:
    return _not_interested(request, services, arxiv_id, True)


@api_router.delete(
    "/library/{arxiv_id:path}/not-interested",
    summary="Take the mark back",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def unmark_not_interested(
    request: Request, services: ServicesDep, arxiv_id: PaperId
) -> dict[str, Any]:
    return _not_interested(request, services, arxiv_id, False)


@api_router.put(
    "/library/{arxiv_id:path}",
    summary="Save a paper under exactly these tags",
    **documented(400, 403, 404, 413, auth=Auth.SIGNED_IN),
)
def save(
    request: Request, services: ServicesDep, arxiv_id: PaperId, body: Tagging
) -> dict[str, Any]:
    user = acting_user(request, None)
    kept = change(set_tags, services.engine, user["id"], arxiv_id, body.tags)
    return {"id": arxiv_id, "saved": True, "tags": kept}


@api_router.delete(
    "/library/{arxiv_id:path}",
    summary="Remove a paper (and its tags)",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def unsave(request: Request, services: ServicesDep, arxiv_id: PaperId) -> dict[str, Any]:
    user = acting_user(request, None)
    set_saved(services.engine, user["id"], arxiv_id, False)
    return {"id": arxiv_id, "saved": False}


def _delete_tag(services: Services, user: dict[str, Any], name: str) -> None:
    if not delete_tag(services.engine, user["id"], name):
        raise HTTPException(404, f"You have no tag {name!r}.")


def _not_interested(
    request: Request, services: Services, arxiv_id: str, on: bool
) -> dict[str, Any]:
    user = acting_user(request, None)
    set_not_interested(services.engine, user["id"], arxiv_id, on)
    return {"id": arxiv_id, "notInterested": on}
