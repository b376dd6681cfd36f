"""Following authors, organisations, categories and searches: the one-click buttons on their
pages (POST forms with the session's CSRF token), the Following page (what the user follows,
unfollow buttons, the secret Atom feed URL and a new one on demand, a mail for each comment on
a followed author's paper), and ``/api/follows``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from paperfeed.index.query import read_categories
from paperfeed.ranking.following import FollowedPaper, followed_papers, label, read_search_target
from paperfeed.ranking.search import Searcher, Window
from paperfeed.ranking.trending import clock
from paperfeed.services import Services
from paperfeed.store import feed
from paperfeed.store.changes import shown_version
from paperfeed.store.follows import (
    TARGET_CHARS,
    FollowError,
    feed_key,
    follow,
    followed,
    new_feed_key,
    set_follow_mail,
    unfollow,
    user_follows,
)
from paperfeed.store.schema import FollowKind
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.kept import Kept
from paperfeed.web.render import author_url, page
from paperfeed.web.security import acting_user, check_csrf, current_user, require_user
from paperfeed.web.views import CsrfField, OnField, back, iso, latest_day, local

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/follows", tags=["follows"])
FollowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A follow's id")]
KindField = Annotated[str, Form(max_length=20)]
TargetField = Annotated[str, Form(max_length=TARGET_CHARS)]
RECENT_DAYS = 7  # a feed of follows shows the papers of the week up to the newest day
Week = tuple[dict[str, dict[str, Any]], Window]  # the days' cards by id, and their window


def checked_target(services: Services, kind: str, target: str) -> str:
    """``target`` as a follow of ``kind`` keeps it (a search in its canonical form); a 400
    saying why for one that names nothing here."""
    target = target.strip()
    if kind == FollowKind.CATEGORY:
        names, problems = read_categories([target])
        if problems or len(names) != 1:
            raise HTTPException(400, f"{target[:64]!r} is not one arXiv category or archive.")
        return names[0]
    if kind == FollowKind.AUTHOR and not feed.author_papers(services.engine, target, limit=1):
        raise HTTPException(400, f"There are no papers by {target[:200]!r} here to follow.")
    if kind == FollowKind.ORGANISATION and feed.organisation(services.engine, target) is None:
        raise HTTPException(400, f"There is no organisation {target[:200]!r} here to follow.")
    if kind == FollowKind.SEARCH:
        saved = read_search_target(target)
        if not saved.q:
            raise HTTPException(
                400,
                "A followed search needs words to search for (follow a category itself "
                "from its day page).",
            )
        return saved.target
    return target


def follow_url(kind: str, target: str) -> str:
    """The page of what a follow watches."""
    if kind == FollowKind.AUTHOR:
        return author_url(target)
    if kind == FollowKind.ORGANISATION:
        return "/org/" + quote(target, safe="")
    if kind == FollowKind.CATEGORY:
        return "/papers?" + urlencode({"cat": target})
    return f"/search?{target}"


def follow_option(
    services: Services, user: Mapping[str, Any] | None, kind: str, target: str
) -> dict[str, Any]:
    """A page's follow button: what it follows, and the user's follow of it (``id``), if any."""
    found = followed(services.engine, user["id"], kind, target) if user else None
    shown = {"kind": kind, "target": target}
    return {**shown, "id": found, "label": label(shown)}


def follow_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "target": row["target"],
        "label": label(row),
        "url": follow_url(row["kind"], row["target"]),
        "createdAt": iso(row["created_at"]),
    }


def add_follow(services: Services, user: Mapping[str, Any], kind: str, target: str) -> int:
    """The user's follow of ``target`` (made now, or the one they had); 400 with why."""
    if kind not in set(FollowKind):
        raise HTTPException(400, f"Cannot follow a {kind!r}: one of {', '.join(FollowKind)}.")
    target = checked_target(services, kind, target)
    try:
        return follow(services.engine, user["id"], kind, target)
    except FollowError as exc:
        raise HTTPException(400, f"Not followed: {exc}.") from None


def recent_followed(
    services: Services,
    follows: list[dict[str, Any]],
    weeks: Kept[Week],
    days: int = RECENT_DAYS,
) -> tuple[list[FollowedPaper], datetime]:
    """The papers of ``follows`` from the ``days`` up to the newest announcement day (newest
    first), and the moment their trending scores are taken at. Followed searches are matched
    against the days' papers kept in ``weeks`` (the app's ``state.weeks``) until the store
    or the vector index changes: reading and gathering them costs more than matching."""
    engine, searcher = services.engine, services.searcher
    newest = latest_day(engine)
    if newest is None or not follows:
        return [], datetime.now(UTC)
    last = max(newest, datetime.now(UTC).date())
    first: date = newest - timedelta(days=days - 1)
    known, window = None, None
    if searcher is not None and any(row["kind"] == FollowKind.SEARCH for row in follows):
        version = (first, last, shown_version(engine), searcher.window_version())
        known, window = weeks.get(version, lambda: _week(engine, searcher, first, last))
    found = followed_papers(engine, searcher, follows, first, last, known=known, window=window)
    return found, clock(newest)


def _week(engine: Engine, searcher: Searcher, first: date, last: date) -> Week:
    """The cards of the papers that came from day ``first`` to ``last``, and their window."""
    known = {card["arxiv_id"]: card for card in feed.period_papers(engine, first, last)}
    return known, searcher.window(list(known))


# the pages --------------------------------------------------------------------------------


@router.post("/follow")
def follow_form(
    request: Request,
    services: ServicesDep,
    kind: KindField = "",
    target: TargetField = "",
    csrf_token: CsrfField = "",
) -> RedirectResponse:
    """Follow from a page's button; a signed-out visitor signs in first and comes back."""
    user = current_user(request)
    if user is None:
        page_of = local(follow_url(kind, target.strip()))
        return RedirectResponse(f"/login?next={quote(page_of, safe='/')}", 303)
    check_csrf(request, csrf_token)
    add_follow(services, user, kind, target)
    return back(request, follow_url(kind, target.strip()))


@router.post("/follows/{follow_id}/delete")
def unfollow_form(
    request: Request, services: ServicesDep, follow_id: FollowId, csrf_token: CsrfField = ""
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    unfollow(services.engine, user["id"], follow_id)  # gone already: nothing to do
    return back(request, "/following")


@router.get("/following")
def following_page(request: Request, services: ServicesDep) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/following", 303)
    follows = [follow_json(row) for row in user_follows(services.engine, user["id"])]
    key = feed_key(services.engine, user["id"])
    return page(
        request,
        "following.html",
        follows=follows,
        feed_url=f"{str(request.base_url).rstrip('/')}/feeds/{key}.atom",
        new_url=request.query_params.get("new") == "1",
    )


@router.post("/following/feed-key")
def new_feed_url(request: Request, services: ServicesDep, csrf_token: CsrfField = "") -> Response:
    """A new secret feed URL: the old one stops working."""
    user = acting_user(request, csrf_token)
    new_feed_key(services.engine, user["id"])
    return RedirectResponse("/following?new=1#feed", 303)


@router.post("/following/comment-mail")
def comment_mail_form(
    request: Request, services: ServicesDep, on: OnField = False, csrf_token: CsrfField = ""
) -> RedirectResponse:
    """Opt in to (or out of) a mail for each comment on a paper by an author one follows."""
    user = acting_user(request, csrf_token)
    set_follow_mail(services.engine, user["id"], on)
    return RedirectResponse("/following#comment-mail", 303)


# the API ----------------------------------------------------------------------------------


class NewFollow(BaseModel):
    kind: Literal["author", "organisation", "category", "search"]
    target: str = Field(
        max_length=TARGET_CHARS,
        description="An author's name, an organisation's handle, a category or archive "
        "(cs.CL, cs), or a search as the search page's query string (q=diffusion&cat=cs.CV)",
    )


@api_router.get("", summary="What the signed-in user follows", **documented(auth=Auth.SIGNED_IN))
def api_follows(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return [follow_json(row) for row in user_follows(services.engine, require_user(request)["id"])]


@api_router.post(
    "",
    summary="Follow an author, organisation, category or search (again: the same follow)",
    **documented(400, 403, 413, auth=Auth.SIGNED_IN),
)
def api_follow(request: Request, services: ServicesDep, body: NewFollow) -> dict[str, Any]:
    user = acting_user(request, None)
    made = add_follow(services, user, body.kind, body.target)
    mine = user_follows(services.engine, user["id"])
    return next(follow_json(row) for row in mine if row["id"] == made)


@api_router.delete(
    "/{follow_id}",
    summary="Stop following",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def api_unfollow(request: Request, services: ServicesDep, follow_id: FollowId) -> dict[str, int]:
    user = acting_user(request, None)
    if not unfollow(services.engine, user["id"], follow_id):
        raise HTTPException(404, "You have no follow with this id.")
    return {"unfollowed": follow_id}
