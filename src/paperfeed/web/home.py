"""The home page: a signed-in user who follows something lands on their feed (the week's papers
of what they follow, ranked for them, each saying why it is there); everybody else, and whoever
switched to the plain day (remembered in the session), on the day's papers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from paperfeed.ranking.following import ranked
from paperfeed.store.follows import user_follows
from paperfeed.web.deps import ServicesDep
from paperfeed.web.follows import RECENT_DAYS, follow_json, recent_followed
from paperfeed.web.render import page
from paperfeed.web.security import current_user
from paperfeed.web.views import with_marks

router = APIRouter(include_in_schema=False)
SHOWN = 100
VIEWS = ("feed", "day")  # the switch between the two, kept in the session as "home"


@router.get("/")
def home(request: Request, services: ServicesDep, view: str | None = None) -> Response:
    if view in VIEWS:
        request.session["home"] = view
    user = current_user(request)
    if user is None or request.session.get("home") == "day":
        return RedirectResponse("/papers", 307)
    follows = user_follows(services.engine, user["id"])
    if not follows:
        return RedirectResponse("/papers", 307)
    found, now = recent_followed(services, follows, request.app.state.weeks)
    chosen = ranked(services.recommender, user["id"], found, now)[:SHOWN]
    items = with_marks(services, user, [paper.shown() for paper in chosen])
    return page(
        request,
        "home.html",
        papers=items,
        follows=[follow_json(row) for row in follows],
        days=RECENT_DAYS,
    )
