"""The web app: server-rendered pages, the JSON API under ``/api``, and Atom/RSS feeds.

``create_app`` wires the services (store, indexes, mail, arXiv client) into a FastAPI app;
``paperfeed serve`` runs it under uvicorn. Errors never show a stack trace: pages get an error
page and ``/api`` a JSON ``{"error": …}``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match

from paperfeed.services import Services
from paperfeed.store.activity import UnknownPaper
from paperfeed.web import (
    accounts,
    browse,
    comments,
    feeds,
    follows,
    home,
    library,
    library_files,
    maps,
    papers,
    recommendations,
    search,
    subscriptions,
    topics,
    trends,
    webhooks,
)
from paperfeed.web.api_docs import SESSION_COOKIE
from paperfeed.web.body_limit import BodyLimit
from paperfeed.web.headers import SecurityHeaders
from paperfeed.web.kept import Kept
from paperfeed.web.render import page

log = logging.getLogger("paperfeed.web")
MAX_BODY = 2**20  # any form or JSON body
# a reference file of up to MAX_UPLOAD, with the rest of its form
MAX_IMPORT = library_files.MAX_UPLOAD + 2**16
# Routes match in this order: a literal path (``/api/papers/search``, ``/papers/trending``,
# ``/api/library/export``) comes before the ``{arxiv_id:path}`` routes that would take it
# for an id.
ROUTERS = (
    browse.api_router,
    search.api_router,
    comments.api_router,  # /api/papers/{id}/comments before /api/papers/{id}
    papers.api_router,
    library_files.api_router,
    library.api_router,
    accounts.api_router,
    subscriptions.api_router,
    recommendations.api_router,
    webhooks.api_router,
    follows.api_router,
    trends.api_router,
    topics.api_router,
    maps.api_router,
    maps.router,
    recommendations.router,
    follows.router,
    home.router,
    feeds.router,
    browse.router,
    comments.router,
    papers.router,
    search.router,
    accounts.router,
    library.router,
    library_files.router,
    subscriptions.router,
    webhooks.router,
    trends.router,
    topics.router,
)


def create_app(services: Services) -> FastAPI:
    """The app over ``services`` (its store, indexes, mail and HTTP client)."""
    settings = services.settings
    app = FastAPIOffline(  # the API docs' Swagger UI served from here: no CDN, works offline
        title="paperfeed",
        summary="Research papers: daily feed, trending, hybrid search.",
        docs_url="/api/docs",
        redoc_url=None,
        static_url="/api/docs/static",
        openapi_url="/api/openapi.json",
    )
    app.state.services = services
    # what many visitors see alike, by version (web/kept.py): cards and pages of a day
    app.state.cards, app.state.days = Kept(3000), Kept(32)
    app.state.pages = Kept(2000)  # visitors' paper pages (~17 kB) and day pages (~130 kB)
    app.state.maps = Kept(16)  # /api/map's answers, gzipped
    app.state.weeks = Kept(4)  # the recent days' papers that followed searches are matched in
    app.add_middleware(
        SessionMiddleware,
        secret_key=services.secret_key,
        session_cookie=SESSION_COOKIE,
        same_site="lax",
        https_only=settings.cookie_secure,
        max_age=30 * 24 * 3600,
    )

    larger = {path: MAX_IMPORT for path in ("/library/import", "/api/library/import")}
    app.add_middleware(BodyLimit, default=MAX_BODY, larger=larger)

    app.add_middleware(SecurityHeaders, skip_prefix="/api/docs")

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), "static")
    for router in ROUTERS:
        app.include_router(router)
    # the decorator, as add_exception_handler is typed for handlers of any Exception
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(UnknownPaper)(_unknown_paper)
    app.exception_handler(RequestValidationError)(_invalid_request)
    app.exception_handler(Exception)(_crash)
    return app


def app_from_environment() -> FastAPI:
    """The app over the settings of the environment (``PAPERFEED_*``, ``config.toml``): the
    factory ``paperfeed serve`` gives uvicorn, so that every worker process builds its own."""
    return create_app(Services.from_settings())


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    message = exc.detail if isinstance(exc.detail, str) else "Something is wrong with this request."
    if exc.status_code == 405:
        exc.headers = {"Allow": _allowed(request)}
    if _wants_json(request):
        return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)
    response = page(request, "error.html", exc.status_code, status=exc.status_code, message=message)
    response.headers.update(exc.headers or {})  # Retry-After, WWW-Authenticate
    return response


def _allowed(request: Request) -> str:
    """The methods of the resource asked for: Starlette names only its first route's, and a
    path such as ``/api/library/{arxiv_id}`` has one route per method."""
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    path = next((r.path for r in routes if r.matches(request.scope)[0] is not Match.NONE), None)
    return ", ".join(sorted({m for r in routes if r.path == path for m in r.methods or ()}))


async def _unknown_paper(request: Request, exc: UnknownPaper) -> Response:
    return await _http_error(request, HTTPException(404, f"{exc} is not in this feed."))


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc'][1:]) or 'request'}: {error['msg']}"
        for error in exc.errors()
    )
    if _wants_json(request):
        return JSONResponse({"error": problems}, 422)
    return page(request, "error.html", 422, status=422, message=problems)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("error serving %s", request.url.path)  # the trace goes to the log only
    message = "Something went wrong on our side; it has been logged. Please try again."
    if _wants_json(request):
        return JSONResponse({"error": message}, 500)
    return page(request, "error.html", 500, status=500, message=message)
