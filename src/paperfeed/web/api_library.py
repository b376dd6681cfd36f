"""The JSON API of the personal library, under ``/api/library``, and deleting the account.

The twin of the library pages, built on the same functions. Changes need the signed-in user:
an API token (``Authorization: Bearer …``), or the session cookie with its CSRF token in the
``X-CSRF-Token`` header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from paperfeed.store.activity import set_saved
from paperfeed.store.library import (
    MAX_NOTE,
    MAX_TAGS,
    delete_tag,
    set_not_interested,
    set_note,
    set_tags,
    user_tags,
)
from paperfeed.store.user_data import delete_account, export_user_data
from paperfeed.web.api import paper_json
from paperfeed.web.library import (
    bibtex_download,
    change,
    import_upload,
    library_cards,
    password_confirmed,
)
from paperfeed.web.security import acting_user, require_user, sign_out

router = APIRouter(prefix="/api", tags=["library"])


class Tagging(BaseModel):
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS, description="Tag names")


class NoteText(BaseModel):
    text: str = Field(max_length=4 * MAX_NOTE, description="The note; empty removes it")


class PasswordCheck(BaseModel):
    password: str = Field(max_length=1000, description="The account's password, asked again")


def library_entry(card: dict[str, Any]) -> dict[str, Any]:
    """A paper of the library: the paper as everywhere in the API, and what the user keeps."""
    return {
        **paper_json(card),
        "tags": card["tags"],
        "note": card["note"],
        "notInterested": card["not_interested"],
    }


@router.get("/library", summary="The signed-in user's saved papers, most recently saved first")
def library(
    request: Request,
    tag: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    user = require_user(request)
    return [library_entry(card) for card in library_cards(request, user["id"], tag, limit, offset)]


@router.get("/library/tags", summary="The user's tags and how many papers each holds")
def tags(request: Request) -> list[dict[str, Any]]:
    return user_tags(request.app.state.engine, require_user(request)["id"])


@router.delete("/library/tags/{name:path}", summary="Delete a tag (its papers stay saved)")
def remove_tag(request: Request, name: str) -> dict[str, Any]:
    user = acting_user(request, None)
    if not delete_tag(request.app.state.engine, user["id"], name):
        raise HTTPException(404, f"You have no tag {name!r}.")
    return {"deleted": name}


@router.get("/library/export", summary="Everything kept about the user, as JSON")
def export(request: Request) -> dict[str, Any]:
    return export_user_data(request.app.state.engine, require_user(request)["id"])


@router.get(
    "/library/export.bib",
    summary="The library (or one tag) as BibTeX",
    response_class=Response,
    responses={200: {"content": {"application/x-bibtex": {}}}},
)
def export_bibtex(request: Request, tag: str | None = None) -> Response:
    return bibtex_download(request, tag)


@router.post("/library/import", summary="Save the papers of a BibTeX, RIS or CSL-JSON export")
def import_references(
    request: Request,
    file: Annotated[UploadFile, File(description="A .bib, .ris or CSL .json file, ≤ 5 MB")],
    tag: Annotated[str, Form(max_length=500, description="File them under this tag")] = "",
) -> dict[str, Any]:
    return import_upload(request, acting_user(request, None), file, tag)


@router.put("/library/{arxiv_id:path}/note", summary="Keep a note on a paper (empty removes it)")
def note(request: Request, arxiv_id: str, body: NoteText) -> dict[str, Any]:
    user = acting_user(request, None)
    kept = change(set_note, request.app.state.engine, user["id"], arxiv_id, body.text)
    return {"id": arxiv_id, "note": kept or None}


@router.post("/library/{arxiv_id:path}/not-interested", summary="Mark a paper not interesting")
def mark_not_interested(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _not_interested(request, arxiv_id, True)


@router.delete("/library/{arxiv_id:path}/not-interested", summary="Take the mark back")
def unmark_not_interested(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _not_interested(request, arxiv_id, False)


@router.put("/library/{arxiv_id:path}", summary="Save a paper under exactly these tags")
def save(request: Request, arxiv_id: str, body: Tagging) -> dict[str, Any]:
    user = acting_user(request, None)
    kept = change(set_tags, request.app.state.engine, user["id"], arxiv_id, body.tags)
    return {"id": arxiv_id, "saved": True, "tags": kept}


@router.delete("/library/{arxiv_id:path}", summary="Remove a paper (and its tags)")
def unsave(request: Request, arxiv_id: str) -> dict[str, Any]:
    user = acting_user(request, None)
    set_saved(request.app.state.engine, user["id"], arxiv_id, False)
    return {"id": arxiv_id, "saved": False}


@router.delete("/account", summary="Delete the account and all its data (password needed)")
def delete(request: Request, body: PasswordCheck) -> dict[str, Any]:
    user = acting_user(request, None)
    if not password_confirmed(request, user, body.password):
        raise HTTPException(400, "That is not your password: the account was not deleted.")
    delete_account(request.app.state.engine, user["id"])
    sign_out(request)
    return {"deleted": user["email"]}


def _not_interested(request: Request, arxiv_id: str, on: bool) -> dict[str, Any]:
    user = acting_user(request, None)
    set_not_interested(request.app.state.engine, user["id"], arxiv_id, on)
    return {"id": arxiv_id, "notInterested": on}
