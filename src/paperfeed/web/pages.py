"""The HTML pages: daily feed, trending, search, paper, organisation, author, accounts."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.ingest.submit import SubmitError, submit_paper
from paperfeed.ranking.search import MODES, SORTS
from paperfeed.ranking.trending import top, trending
from paperfeed.store import feed
from paperfeed.store.accounts import AccountError, authenticate, create_token, create_user
from paperfeed.store.activity import (
    activity_ids,
    marks,
    set_hidden,
    set_saved,
    set_vote,
)
from paperfeed.store.library import library_details
from paperfeed.store.queries import cards, cards_in_order, get_paper
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import list_subscriptions
from paperfeed.web.indexing import index_soon
from paperfeed.web.render import page
from paperfeed.web.search_form import SearchForm, run_search
from paperfeed.web.security import (
    acting_user,
    check_csrf,
    current_user,
    rate_limit,
    sign_in,
    sign_out,
)

router = APIRouter(include_in_schema=False)
PER_PAGE = 20
PER_DAY = 100  # a busy arXiv day has ~1,000 papers


def _services(request: Request) -> Any:
    return request.app.state.services


def with_marks(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards with the signed-in user's marks: ``voted``, ``saved``, and their library's
    ``tags``, ``note`` and ``not_interested`` (which the cards' forms start from)."""
    user = current_user(request)
    engine, ids = request.app.state.engine, [c["arxiv_id"] for c in items]
    found = marks(engine, user["id"], ids) if user else {}
    details = library_details(engine, user["id"], ids) if user else {}
    for card in items:
        card["voted"] = card["arxiv_id"] in found.get("voted", ())
        card["saved"] = card["arxiv_id"] in found.get("saved", ())
        kept = details.get(card["arxiv_id"])
        card.update(kept or {"tags": [], "note": None, "not_interested": False})
    return items


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/papers", 307)


PageField = Annotated[int, Query(ge=1, le=1000)]


@router.get("/papers")
def latest(request: Request, page: PageField = 1) -> Any:
    engine = request.app.state.engine
    return _day_page(request, feed.latest_day(engine, datetime.now(UTC).date()), page)


@router.get("/papers/date/{day}")
def on_day(request: Request, day: str, page: PageField = 1) -> Any:
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise HTTPException(404, f"{day!r} is not a date (YYYY-MM-DD).") from None
    return _day_page(request, wanted, page)


def _day_page(request: Request, day: date | None, number: int) -> Any:
    engine = request.app.state.engine
    offset = (number - 1) * PER_DAY
    items = feed.day_papers(engine, day, PER_DAY, offset) if day else []
    total = feed.day_count(engine, day) if day else 0
    before, after = feed.neighbour_days(engine, day) if day else (None, None)
    quiet = None
    if day and not items:
        weekday = calendar.day_name[day.weekday()]
        quiet = (
            f"arXiv does not announce papers on {weekday}s."
            if day.weekday() >= 5
            else "No papers were announced on this day (a holiday, or not loaded yet)."
        )
    return page(
        request,
        "day.html",
        day=day,
        papers=with_marks(request, items),
        total=total,
        number=number,
        more=offset + len(items) < total,
        before=before,
        after=after,
        quiet=quiet,
    )


@router.get("/papers/trending")
def trending_page(request: Request, period: str = "now") -> Any:
    engine = request.app.state.engine
    latest_day = feed.latest_day(engine, datetime.now(UTC).date())
    if period not in ("now", "week", "month"):
        raise HTTPException(404, "period is now, week or month")
    items = trending(engine, latest_day) if period == "now" else top(engine, latest_day, period)
    return page(request, "trending.html", papers=with_marks(request, items), period=period)


@router.get("/search")
def search_page(request: Request, form: Annotated[SearchForm, Query()]) -> Any:
    results, notes = run_search(_services(request).searcher, form, PER_PAGE)
    hits = [dict(vars(hit)) for hit in results]
    return page(
        request,
        "search.html",
        form=form,
        hits=with_marks(request, hits),
        notes=notes,
        modes=MODES,
        sorts=SORTS,
        more=len(results) == PER_PAGE,
    )


@router.get("/papers/{arxiv_id:path}")
def paper_page(request: Request, arxiv_id: str) -> Any:
    engine = request.app.state.engine
    try:
        canonical = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId:
        raise HTTPException(404, f"{arxiv_id!r} is not an arXiv id.") from None
    if canonical != arxiv_id:
        return RedirectResponse(f"/papers/{canonical}", 301)
    paper = get_paper(engine, canonical)
    user = current_user(request)
    if paper is None or paper["withdrawn"] or (paper["hidden"] and not (user and user["is_admin"])):
        raise HTTPException(404, f"{canonical} is not in this feed; signed-in users can submit it.")
    card = cards(engine, papers.c.arxiv_id == canonical)
    extra = with_marks(request, card)[0] if card else {}
    try:
        similar = _services(request).searcher.similar(canonical, 8)
    except KeyError:  # not embedded yet
        similar = []
    return page(request, "paper.html", paper={**paper, **extra}, similar=similar)


CsrfField = Annotated[str, Form()]
OnField = Annotated[bool, Form()]


@router.post("/papers/{arxiv_id:path}/upvote")
def upvote(request: Request, arxiv_id: str, csrf_token: CsrfField = "", on: OnField = True) -> Any:
    user = acting_user(request, csrf_token)
    set_vote(request.app.state.engine, user["id"], arxiv_id, on)
    return back(request, f"/papers/{arxiv_id}")


@router.post("/papers/{arxiv_id:path}/save")
def save(request: Request, arxiv_id: str, csrf_token: CsrfField = "", on: OnField = True) -> Any:
    user = acting_user(request, csrf_token)
    set_saved(request.app.state.engine, user["id"], arxiv_id, on)
    return back(request, f"/papers/{arxiv_id}")


@router.post("/papers/{arxiv_id:path}/hide")
def hide(request: Request, arxiv_id: str, csrf_token: CsrfField = "", on: OnField = True) -> Any:
    if not acting_user(request, csrf_token)["is_admin"]:
        raise HTTPException(403, "Only an admin can hide papers.")
    set_hidden(request.app.state.engine, arxiv_id, on)
    return RedirectResponse("/papers" if on else f"/papers/{arxiv_id}", 303)


@router.get("/org/{handle}")
def organisation_page(request: Request, handle: str) -> Any:
    engine = request.app.state.engine
    organisation = feed.organisation(engine, handle)
    if organisation is None:
        raise HTTPException(404, f"There is no organisation {handle!r} here.")
    items = feed.organisation_papers(engine, handle)
    return page(
        request, "listing.html", heading=organisation["name"], papers=with_marks(request, items)
    )


@router.get("/author/{name:path}")
def author_page(request: Request, name: str) -> Any:
    items = feed.author_papers(request.app.state.engine, name)
    if not items:
        raise HTTPException(404, f"There are no papers by {name!r} here.")
    return page(request, "listing.html", heading=name, papers=with_marks(request, items))


@router.get("/submit")
def submit_form(request: Request) -> Any:
    return page(request, "submit.html", error=None, value="")


@router.post("/submit")
def submit(
    request: Request,
    background: BackgroundTasks,
    paper: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Any:
    user = acting_user(request, csrf_token)
    services = _services(request)
    rate_limit(request, services.settings.submit_rate, "submit", key=str(user["id"]))
    try:
        arxiv_id = submit_paper(
            services.engine, services.http(), services.settings.arxiv_api_url, paper, user["id"]
        )
    except SubmitError as exc:
        return page(request, "submit.html", 400, error=str(exc), value=paper)
    background.add_task(index_soon, services)
    return RedirectResponse(f"/papers/{arxiv_id}", 303)


@router.get("/login")
def login_form(request: Request, next: str = "/papers") -> Any:
    return page(request, "login.html", error=None, email="", next=_local(next))


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form()] = "/papers",
    csrf_token: Annotated[str, Form()] = "",
) -> Any:
    check_csrf(request, csrf_token)
    rate_limit(request, _services(request).settings.login_rate, "login")
    user = authenticate(request.app.state.engine, email, password)
    if user is None:
        return page(
            request, "login.html", 400, error="Wrong email or password.", email=email, next=next
        )
    sign_in(request, user)
    return RedirectResponse(_local(next), 303)


@router.get("/signup")
def signup_form(request: Request) -> Any:
    return page(request, "signup.html", error=None, email="", name="")


@router.post("/signup")
def signup(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Any:
    check_csrf(request, csrf_token)
    rate_limit(request, _services(request).settings.signup_rate, "signup")
    try:
        user = create_user(request.app.state.engine, email, password, name)
    except AccountError as exc:
        return page(request, "signup.html", 400, error=str(exc), email=email, name=name)
    sign_in(request, user)
    return RedirectResponse("/papers", 303)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Any:
    check_csrf(request, csrf_token)
    sign_out(request)
    return RedirectResponse("/papers", 303)


@router.get("/profile")
def profile(request: Request) -> Any:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/profile", 303)
    return _profile_page(request, user, token=None)


@router.post("/profile/tokens")
def new_token(request: Request, csrf_token: Annotated[str, Form()] = "") -> Any:
    user = acting_user(request, csrf_token)
    token = create_token(request.app.state.engine, user["id"], "web")
    return _profile_page(request, user, token=token)


def _profile_page(request: Request, user: dict[str, Any], token: str | None) -> Any:
    engine = request.app.state.engine
    ids = activity_ids(engine, user["id"])
    lists = {
        name: with_marks(request, cards_in_order(engine, wanted)) for name, wanted in ids.items()
    }
    links = _services(request).mailer.links
    digests = [
        {**row, "manage": f"/subscriptions/{links.token(row['id'])}"}
        for row in list_subscriptions(engine, email=user["email"])
        if row["status"] in ("pending", "active")
    ]
    return page(request, "profile.html", lists=lists, token=token, digests=digests)


def back(request: Request, fallback: str) -> RedirectResponse:
    """Back to the page the form was on (same site only)."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    target = "/" + referer[len(base) :] if referer.startswith(base) else fallback
    return RedirectResponse(_local(target, fallback), 303)


def _local(target: str, fallback: str = "/papers") -> str:
    """``target`` if it is a path on this site (no open redirects), else ``fallback``.
    Browsers read ``/\\host`` like ``//host``: another site."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else fallback
