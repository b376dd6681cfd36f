"""Email digests: subscribing from the pages or ``/api/subscriptions``, and the pages behind
a mail's signed links: confirm, manage, one-click unsubscribe (RFC 8058) and a preview of the
next digest, each with its JSON twin.

A link's token is the subscription's id and key signed with the site's key: whoever has the
mail may manage that subscription, and nobody else. Links in mails are GETs that only show a
page; every change is a POST (mail scanners follow links, and must not confirm or
unsubscribe anybody). Anybody may subscribe an address: the address is mailed its link (to
confirm a new subscription, or to manage the one it has), and the caller is told the same
either way, with no token; a signed-in user whose address is verified lists and subscribes
their own. A recommendations digest is only ever subscribed that way: it mails what an
account saved, and asking for one tells nobody whether an address has an account.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from paperfeed.digest.mail import DigestMail, subject
from paperfeed.digest.outbox import deliver
from paperfeed.digest.run import mail_link
from paperfeed.services import Services
from paperfeed.store import subscriptions as store
from paperfeed.store.accounts import is_verified
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import check_csrf, current_user, rate_limit, require_user
from paperfeed.web.views import paper_json

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/subscriptions", tags=["subscriptions"])
# the preview is the mail's own HTML, styled inline as mail clients need
PREVIEW_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
Text = Annotated[str, Form(max_length=500)]
Token = Annotated[str, Path(max_length=500, description="The token of the mailed links")]
CONFIRM_FIRST = (
    "Confirm your address first: follow the link mailed to it when you signed up (your "
    "profile page sends it again)."
)
RECOMMEND_SIGNED_IN = (
    "Recommendations and the papers you follow by email come from your account: sign in, "
    "then subscribe from the For you or Following page."
)


class ConfirmFirst(store.SubscriptionError):
    """The signed-in user's own address, not verified yet."""


class Timing(BaseModel):
    frequency: Literal["daily", "weekly"] = "daily"
    timezone: str = Field("UTC", max_length=64, description="IANA name, e.g. Europe/Berlin")
    hour: int = Field(7, ge=0, le=23, description="Local hour the digest is due")


class NewSubscription(Timing):
    email: str = Field(max_length=320)
    kind: Literal["trending", "search", "recommend", "following"] = "trending"
    query: str | None = Field(None, max_length=500, description="For a saved-search digest")
    categories: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=20
    )


def create_subscription(
    request: Request, services: Services, background: BackgroundTasks, **choices: Any
) -> dict[str, Any] | None:
    """Subscribe (rate-limited per client), and mail the address its link soon: to confirm
    a new subscription, or to manage the one it already has. A signed-in user subscribing
    their own, verified address needs no confirmation and gets the subscription back; anyone
    else gets ``None``: whether the address had one is told to the address alone. A
    recommendations digest is for the former only (:class:`ConfirmFirst` for an unverified
    own address, the same refusal for every other)."""
    rate_limit(request, services.settings.subscribe_rate, "subscribe")
    user = current_user(request)
    email = choices.pop("email").strip().lower()
    mine = user is not None and user["email"] == email
    own = mine and user is not None and is_verified(user)
    if choices["kind"] in store.FOR_ACCOUNTS and not own:
        raise ConfirmFirst(CONFIRM_FIRST) if mine else store.SubscriptionError(RECOMMEND_SIGNED_IN)
    made = store.subscribe(services.engine, email, confirmed=own, **choices)
    if not own or made["status"] == "pending":
        mail_link(services.engine, made, services.mailer)
        background.add_task(deliver, services.engine, services.mailer.smtp)
    return made if own else None


def asked(email: str, choices: dict[str, Any]) -> dict[str, Any]:
    """What a caller who may not see the subscription is told: what they asked for, waiting
    for the address (the same whether or not it was subscribed before)."""
    query = (choices.get("query") or "").strip() or None
    answer = {**choices, "email": email.strip().lower(), "query": query}
    return {**{key: answer.get(key) for key in store.SHOWN if key != "id"}, "status": "pending"}


def subscription_for(services: Services, token: str) -> dict[str, Any]:
    """The subscription a link's token names; 404 for a forged or stale link."""
    reference = services.mailer.links.reference(token)
    found = store.get_subscription(services.engine, reference[0]) if reference else None
    if found is None or reference is None or found["link_key"] != reference[1]:
        raise HTTPException(404, "This subscription link is not valid (or was deleted).")
    return found


def change_timing(services: Services, subscription: dict[str, Any], **timing: Any) -> None:
    """Change when the digest comes; 400 with why for a wrong frequency, zone or hour."""
    try:
        store.change(services.engine, subscription["id"], **timing)
    except store.SubscriptionError as exc:
        raise HTTPException(400, str(exc)) from None


def subscription_json(services: Services, row: dict[str, Any]) -> dict[str, Any]:
    """A subscription with its manage token (only ever shown to whoever may manage it)."""
    token = services.mailer.links.token(row)
    return {**{key: row[key] for key in store.SHOWN}, "token": token}


# the pages --------------------------------------------------------------------------------


@router.post("/subscribe")
def subscribe_form(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
    kind: Text = "trending",
    frequency: Text = "daily",
    query: Text = "",
    category: Text = "",
    timezone: Text = "UTC",
    csrf_token: Text = "",
) -> HTMLResponse:
    check_csrf(request, csrf_token)
    choices = {
        "kind": kind,
        "frequency": frequency,
        "query": query,
        "filters": {"categories": [category]} if category else None,
        "timezone": timezone if timezone in store.zone_names() else "UTC",
    }
    mails = services.settings.smtp_url is not None
    try:
        made = create_subscription(request, services, background, email=email, **choices)
    except store.SubscriptionError as exc:
        first = isinstance(exc, ConfirmFirst)
        return page(
            request,
            "subscribe_done.html",
            403 if first else 400,
            error=str(exc),
            confirm_first=first,
            subscription=None,
            mails=mails,
        )
    shown = made or asked(email, choices)
    return page(request, "subscribe_done.html", error=None, subscription=shown, mails=mails)


@router.get("/subscriptions/{token}")
def manage(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    subscription = subscription_for(services, token)
    zones = store.zone_names()
    return page(request, "subscription.html", subscription=subscription, token=token, zones=zones)


@router.post("/subscriptions/{token}")
def change_form(
    services: ServicesDep,
    token: str,
    frequency: Text = "daily",
    timezone: Text = "UTC",
    hour: Annotated[int, Form(ge=0, le=23)] = 7,
) -> RedirectResponse:
    subscription = subscription_for(services, token)
    change_timing(services, subscription, frequency=frequency, timezone=timezone, hour=hour)
    return RedirectResponse(f"/subscriptions/{token}?changed=1", 303)


@router.get("/subscriptions/{token}/confirm")
def confirm_form(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    subscription = subscription_for(services, token)
    return page(request, "subscription_confirm.html", subscription=subscription, token=token)


@router.post("/subscriptions/{token}/confirm")
def confirm_page(services: ServicesDep, token: str) -> RedirectResponse:
    store.confirm(services.engine, subscription_for(services, token)["id"])
    return RedirectResponse(f"/subscriptions/{token}?confirmed=1", 303)


@router.get("/subscriptions/{token}/unsubscribe")
def unsubscribe_form(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    subscription = subscription_for(services, token)
    return page(request, "subscription_unsubscribe.html", subscription=subscription, token=token)


@router.post("/subscriptions/{token}/unsubscribe")
def unsubscribe_page(request: Request, services: ServicesDep, token: str) -> HTMLResponse:
    """The one-click unsubscribe of RFC 8058 (mail clients POST ``List-Unsubscribe=One-Click``
    here) and the page's button alike."""
    subscription = subscription_for(services, token)
    store.unsubscribe(services.engine, subscription["id"])
    gone = {**subscription, "status": "unsubscribed"}
    return page(request, "subscription_unsubscribe.html", subscription=gone, token=token)


@router.get("/subscriptions/{token}/preview")
def preview_page(services: ServicesDep, token: str) -> HTMLResponse:
    digest = services.next_digest(subscription_for(services, token))
    mail = DigestMail(services.mailer.links, services.mailer.sender).mail(digest)
    return HTMLResponse(mail.html, headers={"Content-Security-Policy": PREVIEW_POLICY})


# the API ----------------------------------------------------------------------------------


@api_router.post(
    "",
    status_code=202,
    summary="Subscribe an address (it confirms by mail)",
    **documented(400, 403, 413, 429, auth=Auth.OPTIONAL),
)
def subscribe(
    request: Request, services: ServicesDep, body: NewSubscription, background: BackgroundTasks
) -> dict[str, Any]:
    if current_user(request) is not None:
        check_csrf(request, None)  # signed in by cookie: a cross-site post must not do this
    choices = body.model_dump(exclude={"categories", "email"})
    choices["filters"] = {"categories": body.categories} if body.categories else None
    try:
        made = create_subscription(request, services, background, email=body.email, **choices)
    except store.SubscriptionError as exc:
        raise HTTPException(403 if isinstance(exc, ConfirmFirst) else 400, str(exc)) from None
    if made is None:  # the address is mailed its link; the caller learns nothing of it
        return asked(body.email, choices)
    # the token is the confirmation: only a signed-in owner of the address sees it here
    if made["status"] == "active":
        return subscription_json(services, made)
    return {key: made[key] for key in store.SHOWN}


@api_router.get(
    "",
    summary="The signed-in user's subscriptions (their address verified)",
    **documented(403, auth=Auth.SIGNED_IN),
)
def mine(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    user = require_user(request)
    if not is_verified(user):
        raise HTTPException(403, CONFIRM_FIRST)
    rows = store.list_subscriptions(services.engine, email=user["email"])
    return [subscription_json(services, row) for row in rows]


@api_router.get("/{token}", summary="One subscription, by its token", **documented(404))
def one(services: ServicesDep, token: Token) -> dict[str, Any]:
    return subscription_json(services, subscription_for(services, token))


@api_router.patch("/{token}", summary="Change when the digest comes", **documented(400, 404, 413))
def change(services: ServicesDep, token: Token, body: Timing) -> dict[str, Any]:
    change_timing(services, subscription_for(services, token), **body.model_dump())
    return one(services, token)


@api_router.post("/{token}/confirm", summary="Confirm a pending subscription", **documented(404))
def confirm(services: ServicesDep, token: Token) -> dict[str, Any]:
    store.confirm(services.engine, subscription_for(services, token)["id"])
    return one(services, token)


@api_router.delete("/{token}", summary="Unsubscribe", **documented(404))
def unsubscribe(services: ServicesDep, token: Token) -> dict[str, Any]:
    store.unsubscribe(services.engine, subscription_for(services, token)["id"])
    return one(services, token)


@api_router.get(
    "/{token}/preview", summary="The next digest, as it would be sent now", **documented(404)
)
def preview(services: ServicesDep, token: Token) -> dict[str, Any]:
    digest = services.next_digest(subscription_for(services, token))
    return {
        "subject": subject(digest),
        "period": digest.period.key,
        "papers": [paper_json(card) for card in digest.papers],
    }
