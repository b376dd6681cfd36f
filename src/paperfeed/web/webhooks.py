"""A follow's webhook, set and cleared by its owner: a small page with a form, and the API
(``GET``/``PUT``/``DELETE /api/follows/{id}/webhook``). The secret that signs the calls is
made here and shown once, when it is made (as GitHub shows a new token); asking for a new
one replaces it. Calls are made by the worker (:mod:`paperfeed.digest.webhooks`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from paperfeed.digest.webhook_delivery import PAUSE_AFTER
from paperfeed.ranking.following import label
from paperfeed.services import Services
from paperfeed.store.webhooks import NoFollow, clear_webhook, set_webhook, user_follow
from paperfeed.urls import MAX_URL, webhook_url
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import acting_user, current_user, require_user
from paperfeed.web.views import CsrfField, OnField, iso, sign_in_first

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["follows"])
MAX_ID = 2**31 - 1  # an INTEGER column's largest on PostgreSQL
FollowId = Annotated[int, Path(ge=1, le=MAX_ID, description="One of your follows' id")]


class WebhookSetting(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    url: str = Field(max_length=MAX_URL, description="Where to POST the new papers (http/https)")
    new_secret: bool = Field(
        default=False,
        alias="newSecret",
        description="Make a new secret (the old one stops verifying); one is made the first time",
    )


def webhook_json(follow: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    """A follow's webhook as the API gives it; ``secret`` only in the answer that made it."""
    return {
        "follow": follow["id"],
        "url": follow["webhook_url"],
        "secret": secret,
        "paused": follow["webhook_paused_at"] is not None,
        "pausedAt": iso(follow["webhook_paused_at"]),
        "error": follow["webhook_error"],
        "failuresInARow": follow["webhook_failures"],
    }


def _own(services: Services, user: dict[str, Any], follow_id: int) -> dict[str, Any]:
    try:
        return user_follow(services.engine, user["id"], follow_id)
    except NoFollow:
        raise HTTPException(404, "You have no follow with this id.") from None


def _set(
    services: Services, user: dict[str, Any], follow_id: int, url: str, new_secret: bool
) -> tuple[dict[str, Any], str | None]:
    """Point the follow's webhook at ``url``: the follow and the secret if one was made."""
    _own(services, user, follow_id)
    try:
        checked = webhook_url(url, allow_private=services.settings.webhook_allow_private)
    except ValueError as exc:
        raise HTTPException(400, f"Not set: {exc}.") from None
    now = datetime.now(UTC)
    secret = set_webhook(
        services.engine, user["id"], follow_id, checked, now, new_secret=new_secret
    )
    return _own(services, user, follow_id), secret


def _webhook_page(
    request: Request, follow: dict[str, Any], secret: str | None = None, status: int = 200
) -> HTMLResponse:
    return page(
        request,
        "webhook.html",
        status,
        follow=follow,
        what=label(follow),
        secret=secret,
        pause_after=PAUSE_AFTER,
    )


# the page ---------------------------------------------------------------------------------


@router.get("/follows/{follow_id}/webhook")
def webhook_page(request: Request, services: ServicesDep, follow_id: FollowId) -> Response:
    user = current_user(request)
    if user is None:
        return sign_in_first(request)
    return _webhook_page(request, _own(services, user, follow_id))


@router.post("/follows/{follow_id}/webhook")
def webhook_form(
    request: Request,
    services: ServicesDep,
    follow_id: FollowId,
    url: Annotated[str, Form(max_length=MAX_URL)] = "",
    new_secret: OnField = False,
    csrf_token: CsrfField = "",
) -> HTMLResponse:
    """Set the webhook; the page then shows the secret, this once, if one was made."""
    user = acting_user(request, csrf_token)
    follow, secret = _set(services, user, follow_id, url, new_secret)
    return _webhook_page(request, follow, secret)


@router.post("/follows/{follow_id}/webhook/delete")
def webhook_delete_form(
    request: Request, services: ServicesDep, follow_id: FollowId, csrf_token: CsrfField = ""
) -> RedirectResponse:
    user = acting_user(request, csrf_token)
    _own(services, user, follow_id)
    clear_webhook(services.engine, user["id"], follow_id)
    return RedirectResponse(f"/follows/{follow_id}/webhook", 303)


# the API ----------------------------------------------------------------------------------


@api_router.get(
    "/follows/{follow_id}/webhook",
    summary="Your follow's webhook: its URL, and whether its calls fail or it is paused",
    **documented(404, auth=Auth.SIGNED_IN),
)
def get_webhook(request: Request, services: ServicesDep, follow_id: FollowId) -> dict[str, Any]:
    user = require_user(request)
    return webhook_json(_own(services, user, follow_id))


@api_router.put(
    "/follows/{follow_id}/webhook",
    summary="POST your follow's new papers to a URL, signed with a secret shown only here",
    **documented(400, 403, 404, auth=Auth.SIGNED_IN),
)
def put_webhook(
    request: Request, services: ServicesDep, follow_id: FollowId, body: WebhookSetting
) -> dict[str, Any]:
    """`secret` is given when one is made (the first time, or with `newSecret`), never again.
    A paused webhook starts again; either way, papers that came to the feed in the last two
    days may be sent, older ones not."""
    user = acting_user(request, None)
    follow, secret = _set(services, user, follow_id, body.url, body.new_secret)
    return webhook_json(follow, secret)


@api_router.delete(
    "/follows/{follow_id}/webhook",
    summary="Stop your follow's webhook (its calls not made yet are dropped)",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def delete_webhook(request: Request, services: ServicesDep, follow_id: FollowId) -> dict[str, Any]:
    user = acting_user(request, None)
    _own(services, user, follow_id)
    clear_webhook(services.engine, user["id"], follow_id)
    return webhook_json(_own(services, user, follow_id))
