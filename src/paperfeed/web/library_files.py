"""Moving a library in and out: importing a reference manager's export (BibTeX, RIS,
CSL-JSON) and exporting everything kept about the user (JSON) or the library (BibTeX, RIS);
the pages and their twins under ``/api/library``, built on the same functions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from paperfeed.library.matching import match_references
from paperfeed.library.references import ImportFormatError, ParsedReferences, parse_references
from paperfeed.services import Services
from paperfeed.store.library import save_papers, whole_library
from paperfeed.store.user_data import export_user_data
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.cite import reference_file
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import acting_user, current_user, require_user
from paperfeed.web.views import CsrfField, TagParam, change, sign_in_first

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["library"])
MAX_UPLOAD = 5 * 2**20  # thousands of references; more is not a reference library


def import_upload(
    services: Services, user: dict[str, Any], upload: UploadFile, tag: str
) -> dict[str, Any]:
    """Save the papers of a reference manager's export into the library (under ``tag``):
    how many were new, and every entry, matched, unmatched or unreadable, each with why."""
    parsed = _read_upload(upload)
    found = match_references(services.engine, parsed.references)
    ids = [match.arxiv_id for match in found.matched]
    added = change(save_papers, services.engine, user["id"], ids, tag.strip() or None)
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


def library_file(request: Request, services: Services, tag: str | None, extension: str) -> Response:
    """The signed-in user's library (under ``tag``) as a BibTeX or RIS file to save."""
    user = require_user(request)
    found = whole_library(services.engine, user["id"], tag)
    return reference_file(found, extension, "paperfeed-library")


# the pages --------------------------------------------------------------------------------


@router.get("/library/import")
def import_form(request: Request) -> Response:
    if current_user(request) is None:
        return sign_in_first(request)
    return page(request, "library_import.html", result=None, error=None, tag="")


@router.post("/library/import")
def import_file(
    request: Request,
    services: ServicesDep,
    file: Annotated[UploadFile, File()],
    tag: Annotated[str, Form(max_length=500)] = "",
    csrf_token: CsrfField = "",
) -> HTMLResponse:
    user = acting_user(request, csrf_token)
    try:
        result = import_upload(services, user, file, tag)
    except HTTPException as exc:
        return page(
            request, "library_import.html", exc.status_code, result=None, error=exc.detail, tag=tag
        )
    return page(request, "library_import.html", result=result, error=None, tag=tag)


@router.get("/library/export.json")
def export_json(request: Request, services: ServicesDep) -> JSONResponse:
    data = export_user_data(services.engine, require_user(request)["id"])
    return JSONResponse(data, headers=_attachment("json"))


@router.get("/library/export.bib")
def export_bibtex_file(request: Request, services: ServicesDep, tag: str | None = None) -> Response:
    return library_file(request, services, tag, "bib")


@router.get("/library/export.ris")
def export_ris_file(request: Request, services: ServicesDep, tag: str | None = None) -> Response:
    return library_file(request, services, tag, "ris")


# the API ----------------------------------------------------------------------------------


@api_router.get(
    "/library/export",
    summary="Everything kept about the user, as JSON",
    **documented(auth=Auth.SIGNED_IN),
)
def export(request: Request, services: ServicesDep) -> dict[str, Any]:
    return export_user_data(services.engine, require_user(request)["id"])


@api_router.get(
    "/library/export.bib",
    summary="The library (or one tag) as BibTeX",
    response_class=Response,
    **documented(auth=Auth.SIGNED_IN, ok={"content": {"application/x-bibtex": {}}}),
)
def export_bibtex(request: Request, services: ServicesDep, tag: TagParam = None) -> Response:
    return library_file(request, services, tag, "bib")


@api_router.get(
    "/library/export.ris",
    summary="The library (or one tag) as RIS",
    response_class=Response,
    **documented(auth=Auth.SIGNED_IN, ok={"content": {"application/x-research-info-systems": {}}}),
)
def export_ris(request: Request, services: ServicesDep, tag: TagParam = None) -> Response:
    return library_file(request, services, tag, "ris")


@api_router.post(
    "/library/import",
    summary="Save the papers of a BibTeX, RIS or CSL-JSON export",
    **documented(400, 403, 413, auth=Auth.SIGNED_IN),
)
def import_references(
    request: Request,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="A .bib, .ris or CSL .json file, ≤ 5 MB")],
    tag: Annotated[str, Form(max_length=500, description="File them under this tag")] = "",
) -> dict[str, Any]:
    return import_upload(services, acting_user(request, None), file, tag)


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
