"""The personal library's pages: saved papers by tag with notes, tagging and notes from the
paper page and the cards, "not interested", importing a reference manager's export, exporting,
and deleting the account.

Every change is a POST carrying the session's CSRF token that redirects back (303), as upvoting
does. ``api_library`` is the JSON twin, built on the functions here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from paperfeed.library.export import to_bibtex
from paperfeed.library.matching import match_references
from paperfeed.library.references import ImportFormatError, ParsedReferences, parse_references
from paperfeed.store.accounts import authenticate
from paperfeed.store.library import (
    MAX_NOTE,
    LibraryError,
    delete_tag,
    library_ids,
    save_papers,
    set_not_interested,
    set_note,
    set_tags,
    user_tags,
    whole_library,
)
from paperfeed.store.queries import cards_in_order
from paperfeed.store.user_data import delete_account, export_user_data
from paperfeed.web.pages import PER_PAGE, back, with_marks
from paperfeed.web.render import page
from paperfeed.web.security import (
    acting_user,
    current_user,
    rate_limit,
    require_user,
    sign_out,
)

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 5 * 2**20  # thousands of references; more is not a reference library
T = TypeVar("T")


# shared with the JSON API -----------------------------------------------------------------


def library_cards(
    request: Request, user_id: int, tag: str | None, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """Cards of the user's library (under ``tag``), most recently saved first, each with its
    tags, note and the user's other marks."""
    engine = request.app.state.engine
    return with_marks(
        request, cards_in_order(engine, library_ids(engine, user_id, tag, limit, offset))
    )


def bibtex_download(request: Request, tag: str | None) -> Response:
    """The signed-in user's library (under ``tag``) as a BibTeX file to save."""
    user = require_user(request)
    text = to_bibtex(whole_library(request.app.state.engine, user["id"], tag))
    return Response(
        text, media_type="application/x-bibtex; charset=utf-8", headers=_attachment("bib")
    )


def change(action: Callable[..., T], *args: Any) -> T:
    """Run a library change; a :class:`LibraryError` is the user's to fix: 400 with why."""
    try:
        return action(*args)
    except LibraryError as exc:
        raise HTTPException(400, f"Not kept: {exc}.") from None


def import_upload(
    request: Request, user: dict[str, Any], upload: UploadFile, tag: str
) -> dict[str, Any]:
    """Save the papers of a reference manager's export into the library (under ``tag``):
    how many were new, and every entry, matched, unmatched or unreadable, each with why."""
    engine = request.app.state.engine
    parsed = _read_upload(upload)
    found = match_references(engine, parsed.references)
    ids = [match.arxiv_id for match in found.matched]
    added = change(save_papers, engine, user["id"], ids, tag.strip() or None)
    return {
        "format": parsed.format,
        "added": added,
        "matched": [
            {"entry": m.reference.location, "id": m.arxiv_id, "by": m.by} for m in found.matched
        ],
        "unmatched": [
            {"entry": u.reference.location, "title": u.reference.title, "reason": u.reason}
            for u in found.unmatched
        ],
        "skipped": [{"entry": s.location, "reason": s.reason} for s in parsed.skipped],
    }


def password_confirmed(request: Request, user: dict[str, Any], password: str) -> bool:
    """Whether ``password`` is the user's, asked again before deleting the account;
    rate-limited like signing in, so it is no way to guess passwords faster."""
    rate = request.app.state.services.settings.login_rate
    rate_limit(request, rate, "confirm-password", key=str(user["id"]))
    return authenticate(request.app.state.engine, user["email"], password) is not None


def _read_upload(upload: UploadFile) -> ParsedReferences:
    name = upload.filename or "the file"
    data = upload.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(
            413, f"{name} is over {MAX_UPLOAD // 2**20} MB: export the library in parts."
        )
    try:
        return parse_references(data, upload.filename)
    except ImportFormatError as exc:
        raise HTTPException(400, f"Could not read {name}: {exc}.") from None


def _attachment(extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="paperfeed-library.{extension}"'}


# the pages --------------------------------------------------------------------------------

CsrfField = Annotated[str, Form()]
PageNumber = Annotated[int, Query(alias="page", ge=1, le=1000)]


@router.get("/library")
def library_page(request: Request, tag: str | None = None, number: PageNumber = 1) -> Any:
    user = current_user(request)
    if user is None:
        return _sign_in_first(request)
    items = library_cards(request, user["id"], tag, PER_PAGE + 1, (number - 1) * PER_PAGE)
    return page(
        request,
        "library.html",
        papers=items[:PER_PAGE],
        more=len(items) > PER_PAGE,
        number=number,
        tag=tag,
        tags=user_tags(request.app.state.engine, user["id"]),
    )


@router.post("/papers/{arxiv_id:path}/tags")
def tag_paper(
    request: Request,
    arxiv_id: str,
    tags: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: CsrfField = "",
) -> Any:
    user = acting_user(request, csrf_token)
    change(set_tags, request.app.state.engine, user["id"], arxiv_id, tags.split(","))
    return back(request, f"/papers/{arxiv_id}")


@router.post("/papers/{arxiv_id:path}/note")
def note_paper(
    request: Request,
    arxiv_id: str,
    text: Annotated[str, Form(max_length=4 * MAX_NOTE)] = "",
    csrf_token: CsrfField = "",
) -> Any:
    user = acting_user(request, csrf_token)
    change(set_note, request.app.state.engine, user["id"], arxiv_id, text)
    return back(request, f"/papers/{arxiv_id}")


@router.post("/papers/{arxiv_id:path}/not-interested")
def not_interested(
    request: Request, arxiv_id: str, csrf_token: CsrfField = "", on: Annotated[bool, Form()] = True
) -> Any:
    user = acting_user(request, csrf_token)
    set_not_interested(request.app.state.engine, user["id"], arxiv_id, on)
    return back(request, f"/papers/{arxiv_id}")


@router.post("/library/tags/{name:path}/delete")
def remove_tag(request: Request, name: str, csrf_token: CsrfField = "") -> Any:
    user = acting_user(request, csrf_token)
    if not delete_tag(request.app.state.engine, user["id"], name):
        raise HTTPException(404, f"You have no tag {name!r}.")
    return RedirectResponse("/library", 303)


@router.get("/library/import")
def import_form(request: Request) -> Any:
    if current_user(request) is None:
        return _sign_in_first(request)
    return page(request, "library_import.html", result=None, error=None, tag="")


@router.post("/library/import")
def import_file(
    request: Request,
    file: Annotated[UploadFile, File()],
    tag: Annotated[str, Form(max_length=500)] = "",
    csrf_token: CsrfField = "",
) -> Any:
    user = acting_user(request, csrf_token)
    try:
        result = import_upload(request, user, file, tag)
    except HTTPException as exc:
        return page(
            request, "library_import.html", exc.status_code, result=None, error=exc.detail, tag=tag
        )
    return page(request, "library_import.html", result=result, error=None, tag=tag)


@router.get("/library/export.json")
def export_json(request: Request) -> Any:
    user = require_user(request)
    data = export_user_data(request.app.state.engine, user["id"])
    return JSONResponse(data, headers=_attachment("json"))


@router.get("/library/export.bib")
def export_bibtex(request: Request, tag: str | None = None) -> Any:
    return bibtex_download(request, tag)


@router.post("/profile/delete")
def delete_profile(
    request: Request,
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: CsrfField = "",
) -> Any:
    user = acting_user(request, csrf_token)
    if not password_confirmed(request, user, password):
        error = "That is not your password: your account was not deleted."
        return page(request, "library_delete.html", 400, error=error)
    delete_account(request.app.state.engine, user["id"])
    sign_out(request)
    return RedirectResponse("/profile/deleted", 303)


@router.get("/profile/deleted")
def profile_deleted(request: Request) -> Any:
    return page(request, "library_deleted.html")


def _sign_in_first(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='/')}", 303)
