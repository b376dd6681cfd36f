"""What the route modules share: the user's marks on cards, redirects, form fields, and the
JSON shapes of papers. Paper shapes follow Hugging Face's paper API where the two overlap
(``id``, ``title``, ``summary``, ``authors`` as ``[{"name"}]``, ``publishedAt``…), so clients
carry over."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BeforeValidator, StringConstraints, WithJsonSchema
from sqlalchemy import Engine

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.index.query import read_categories
from paperfeed.ranking.search import Hit
from paperfeed.ranking.trending import arrival
from paperfeed.records import keywords_of
from paperfeed.services import Services
from paperfeed.store import feed
from paperfeed.store.activity import marks
from paperfeed.store.library import MAX_TAG, LibraryError, library_details
from paperfeed.urls import CODE_HOSTS, code_url, is_code_url, safe_urls
from paperfeed.web.security import acting_user

PER_PAGE = 20
MAX_OFFSET = 100_000  # far past any library; a bound, so 2**63 is a 422 and not a crash
CsrfField = Annotated[str, Form()]
OnField = Annotated[bool, Form()]
PageNumber = Annotated[int, Query(alias="page", ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Entries to skip")]
PaperId = Annotated[
    str,
    Path(max_length=300, description="An arXiv id (2401.12345, hep-th/9901001, v2…) or URL"),
]
# bounds against absurd input (a longer request line is refused by the server itself);
# within them read_categories keeps 20 names and says why it left any out
MAX_CATEGORY_VALUES = 20
CategoryValue = Annotated[str, StringConstraints(max_length=300)]
CategoryParam = Annotated[
    Sequence[CategoryValue],
    Query(
        alias="cat",
        max_length=MAX_CATEGORY_VALUES,
        description="Only papers in any of these arXiv categories or archives (cs.CL, cs): "
        "repeat it, or separate them by commas",
    ),
]
TagParam = Annotated[str | None, Query(max_length=MAX_TAG, description="Only this tag")]
TagPath = Annotated[str, Path(max_length=MAX_TAG, description="A tag name")]
T = TypeVar("T")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    if value == "":  # a form's date input left empty
        return None
    if isinstance(value, str) and not ISO_DAY.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


# a day as YYYY-MM-DD only (pydantic alone reads a number as a Unix time: date=0 is 1970), or
# none when left empty
IsoDate = Annotated[
    date | None,
    BeforeValidator(_iso_day),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"enum": [""]}]}),
]


def api_categories(values: Sequence[str]) -> list[str]:
    """The categories and archives an API's ``cat`` parameter names; a 400 saying which one is
    not (pages ignore it and say so instead)."""
    names, problems = read_categories(values)
    if problems:
        raise HTTPException(400, "; ".join(problems))
    return names


def latest_day(engine: Engine) -> date | None:
    """The newest announcement day up to today (``None`` for an empty store)."""
    return feed.latest_day(engine, datetime.now(UTC).date())


def with_marks(
    services: Services, user: dict[str, Any] | None, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Cards with the user's marks: ``voted``, ``saved``, and their library's ``tags``,
    ``note`` and ``not_interested`` (which the cards' forms start from)."""
    engine, ids = services.engine, [c["arxiv_id"] for c in items]
    found = marks(engine, user["id"], ids) if user else {}
    details = library_details(engine, user["id"], ids) if user else {}
    for card in items:
        card["voted"] = card["arxiv_id"] in found.get("voted", ())
        card["saved"] = card["arxiv_id"] in found.get("saved", ())
        kept = details.get(card["arxiv_id"])
        card.update(kept or {"tags": [], "note": None, "not_interested": False})
    return items


def change(action: Callable[..., T], *args: Any) -> T:
    """Run a library change; a :class:`LibraryError` is the user's to fix: 400 with why."""
    try:
        return action(*args)
    except LibraryError as exc:
        raise HTTPException(400, f"Not kept: {exc}.") from None


def mark_from_form(
    request: Request,
    services: Services,
    mark: Callable[[Engine, int, str, bool], object],
    arxiv_id: str,
    csrf_token: str,
    on: bool,
) -> RedirectResponse:
    """A form's mark on a paper (upvoted, saved, not interested) set or taken back by the
    signed-in user; then back to the page the form was on."""
    user = acting_user(request, csrf_token)
    mark(services.engine, user["id"], arxiv_id, on)
    return back(request, f"/papers/{arxiv_id}")


def back(request: Request, fallback: str) -> RedirectResponse:
    """Back to the page the form was on (same site only)."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    target = "/" + referer[len(base) :] if referer.startswith(base) else fallback
    return RedirectResponse(local(target, fallback), 303)


def local(target: str, fallback: str = "/papers") -> str:
    """``target`` if it is a path on this site (no open redirects), else ``fallback``.
    Browsers read ``/\\host`` like ``//host``: another site."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else fallback


def sign_in_first(request: Request) -> RedirectResponse:
    """To the sign-in page, which comes back here."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='/')}", 303)


def canonical_id(arxiv_id: str) -> str:
    """The id without version of an arXiv id or URL; a 404 for what is not one."""
    try:
        return parse_arxiv_id(arxiv_id).id
    except InvalidArxivId:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv id") from None


def paper_json(card: dict[str, Any]) -> dict[str, Any]:
    """A paper as Hugging Face's API gives it (``publishedAt``: on arXiv;
    ``submittedOnDailyAt``: when it came to the daily feed), then our own fields under names
    Hugging Face does not use."""
    announced, links = card.get("announced"), card.get("links")
    published = card.get("published") or (
        datetime.combine(announced, time(), UTC) if announced else None
    )
    return {
        "id": card["arxiv_id"],
        "title": card["title"],
        "summary": card.get("abstract"),
        "authors": [{"name": name} for name in card.get("authors") or ()],
        "publishedAt": iso(published),
        "submittedOnDailyAt": iso(arrived(card)),
        "submittedOnDailyBy": _user(card.get("submitted_by")),
        "upvotes": card.get("upvotes") or 0,
        "numComments": card.get("num_comments") or 0,
        "githubRepo": code_url(links, ["github.com"]),
        "githubStars": card.get("github_stars"),
        "projectPage": _project_page(links),
        "ai_summary": card.get("ai_summary"),
        "ai_keywords": keywords_of(card),
        "organization": _organisation(card),
        # paperfeed's own
        "announcedOn": announced.isoformat() if announced else None,
        "categories": card.get("categories") or [],
        "links": safe_urls(links),
        "submittedAt": iso(card.get("submitted_at")),
    }


def arrived(card: dict[str, Any]) -> datetime | None:
    """When the paper came to the daily feed: announced, or submitted (here or to Hugging
    Face's daily papers) if later."""
    known = ("announced", "submitted_at", "submitted_on_daily_at")
    return arrival(card) if any(card.get(key) for key in known) else None


def entry_json(card: dict[str, Any]) -> dict[str, Any]:
    """A daily-papers entry as Hugging Face gives it: ``{"paper": {...}, "publishedAt": when
    it came to the feed, "title", "summary", "numComments", "submittedBy", "organization"}``.
    The paper's summary, keywords, code and stars are repeated at the top, where
    ``huggingface_hub``'s ``PaperInfo`` reads them."""
    paper = paper_json(card)
    return {
        "paper": paper,
        "publishedAt": paper["submittedOnDailyAt"],
        "title": paper["title"],
        "summary": paper["summary"],
        "numComments": paper["numComments"],
        "submittedBy": paper["submittedOnDailyBy"],
        "organization": paper["organization"],
        **{key: paper[key] for key in TOP_LEVEL},
    }


TOP_LEVEL = ("ai_summary", "ai_keywords", "githubRepo", "githubStars", "projectPage")


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search result: the paper's entry, its highlighted fragment and score."""
    entry = entry_json(vars(hit))
    entry["highlight"] = hit.snippet.html() if hit.snippet else None
    entry["score"] = hit.score
    return entry


def _user(name: str | None) -> dict[str, Any] | None:
    """A Hugging Face user as its API shows one; paperfeed keeps only the user name."""
    if not name:
        return None
    return {"user": name, "name": name, "fullname": "", "avatarUrl": "", "type": "user"}


def _organisation(card: dict[str, Any]) -> dict[str, Any] | None:
    handle = card.get("organisation")
    if not handle:
        return None
    return {"name": handle, "fullname": card.get("organisation_name") or handle, "avatarUrl": ""}


def _project_page(links: list[str] | None) -> str | None:
    """The first link that is neither code nor a model hub: a project page, as far as a list
    of links can tell."""
    hosts = (*CODE_HOSTS, "huggingface.co", "arxiv.org")
    return next((url for url in safe_urls(links) if not is_code_url(url, hosts)), None)


def iso(moment: datetime | None) -> str | None:
    """``moment`` in UTC, ISO 8601 with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None
