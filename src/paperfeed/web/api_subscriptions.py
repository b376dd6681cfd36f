"""The JSON API of email digests, under ``/api/subscriptions``.

Anybody may subscribe an address (the address confirms by mail); a subscription's signed
token, as in its mails' links, is what manages it. A signed-in user lists their own.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from pydantic import BaseModel, Field

from paperfeed.digest.mail import subject
from paperfeed.store import subscriptions as store
from paperfeed.web.api import paper_json
from paperfeed.web.security import check_csrf, current_user, require_user
from paperfeed.web.subscriptions import create_subscription, subscription_for

router = APIRouter(prefix="/api/subscriptions", tags=["subscriptions"])
SHOWN = ("id", "email", "kind", "frequency", "query", "filters", "timezone", "hour", "status")


class Timing(BaseModel):
    frequency: Literal["daily", "weekly"] = "daily"
    timezone: str = Field("UTC", max_length=64, description="IANA name, e.g. Europe/Berlin")
    hour: int = Field(7, ge=0, le=23, description="Local hour the digest is due")


class NewSubscription(Timing):
    email: str = Field(max_length=320)
    kind: Literal["trending", "search", "recommend"] = "trending"
    query: str | None = Field(None, max_length=500, description="For a saved-search digest")
    categories: list[str] = Field(default_factory=list, max_length=20)


def subscription_json(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    """A subscription with its manage token (only ever shown to whoever may manage it)."""
    token = request.app.state.services.mailer.links.token(row["id"])
    return {**{key: row[key] for key in SHOWN}, "token": token}


@router.post("", status_code=202, summary="Subscribe an address (it confirms by mail)")
def subscribe(request: Request, body: NewSubscription, background: BackgroundTasks) -> Any:
    if current_user(request) is not None:
        check_csrf(request, None)  # signed in by cookie: a cross-site post must not do this
    choices = body.model_dump(exclude={"categories"})
    choices["filters"] = {"categories": body.categories} if body.categories else None
    try:
        made = create_subscription(request, background, **choices)
    except store.SubscriptionError as exc:
        raise HTTPException(400, str(exc)) from None
    shown = {key: made[key] for key in SHOWN}
    # the token is the confirmation: only a signed-in owner of the address sees it here
    return subscription_json(request, made) if made["status"] == "active" else shown


@router.get("", summary="The signed-in user's subscriptions")
def mine(request: Request) -> list[dict[str, Any]]:
    user = require_user(request)
    rows = store.list_subscriptions(request.app.state.engine, email=user["email"])
    return [subscription_json(request, row) for row in rows]


@router.get("/{token}", summary="One subscription, by its token")
def one(request: Request, token: str) -> dict[str, Any]:
    return subscription_json(request, subscription_for(request, token))


@router.patch("/{token}", summary="Change when the digest comes")
def change(request: Request, token: str, body: Timing) -> dict[str, Any]:
    subscription = subscription_for(request, token)
    try:
        store.change(request.app.state.engine, subscription["id"], **body.model_dump())
    except store.SubscriptionError as exc:
        raise HTTPException(400, str(exc)) from None
    return one(request, token)


@router.post("/{token}/confirm", summary="Confirm a pending subscription")
def confirm(request: Request, token: str) -> dict[str, Any]:
    store.confirm(request.app.state.engine, subscription_for(request, token)["id"])
    return one(request, token)


@router.delete("/{token}", summary="Unsubscribe")
def unsubscribe(request: Request, token: str) -> dict[str, Any]:
    store.unsubscribe(request.app.state.engine, subscription_for(request, token)["id"])
    return one(request, token)


@router.get("/{token}/preview", summary="The next digest, as it would be sent now")
def preview(request: Request, token: str) -> dict[str, Any]:
    services = request.app.state.services
    subscription = subscription_for(request, token)
    digest = services.next_digest(subscription)
    return {
        "subject": subject(digest),
        "period": digest.period.key,
        "papers": [paper_json(card) for card in digest.papers],
    }
