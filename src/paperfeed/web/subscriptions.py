"""Subscribing to digests from the pages, and the pages behind a mail's signed links:
confirm, manage, one-click unsubscribe (RFC 8058) and a preview of the next digest.

A link's token is the subscription id signed with the site's key: whoever has the mail may
manage that subscription. Links in mails are GETs that only show a page; every change is a
POST (mail scanners follow links, and must not confirm or unsubscribe anybody).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from paperfeed.digest.mail import DigestMail
from paperfeed.digest.outbox import deliver
from paperfeed.digest.run import request_confirmation
from paperfeed.store import subscriptions as store
from paperfeed.web.render import page
from paperfeed.web.security import check_csrf, current_user, rate_limit

router = APIRouter(include_in_schema=False)
# the preview is the mail's own HTML, styled inline as mail clients need
PREVIEW_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def create_subscription(request: Request, background: BackgroundTasks, **choices: Any) -> dict:
    """Subscribe (rate-limited per client), then mail the confirmation request soon; a
    signed-in user subscribing their own address needs no confirmation."""
    services = request.app.state.services
    rate_limit(request, services.settings.subscribe_rate, "subscribe")
    user = current_user(request)
    email = choices.pop("email").strip().lower()
    own = user is not None and user["email"] == email
    made = store.subscribe(services.engine, email, confirmed=own, **choices)
    if made["status"] == "pending":
        request_confirmation(services.engine, made, services.mailer)
        background.add_task(deliver, services.engine, services.mailer.smtp)
    return made


def subscription_for(request: Request, token: str) -> dict[str, Any]:
    """The subscription a link's token names; 404 for a forged or stale link."""
    services = request.app.state.services
    subscription_id = services.mailer.links.subscription_id(token)
    found = store.get_subscription(services.engine, subscription_id) if subscription_id else None
    if found is None:
        raise HTTPException(404, "This subscription link is not valid (or was deleted).")
    return found


Text = Annotated[str, Form(max_length=500)]


@router.post("/subscribe")
def subscribe(
    request: Request,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
    kind: Text = "trending",
    frequency: Text = "daily",
    query: Text = "",
    category: Text = "",
    timezone: Text = "UTC",
    csrf_token: Text = "",
) -> Any:
    check_csrf(request, csrf_token)
    try:
        made = create_subscription(
            request,
            background,
            email=email,
            kind=kind,
            frequency=frequency,
            query=query,
            filters={"categories": [category]} if category else None,
            timezone=timezone if timezone in store.zone_names() else "UTC",
        )
    except store.SubscriptionError as exc:
        return page(request, "subscribe_done.html", 400, error=str(exc), subscription=None)
    return page(request, "subscribe_done.html", error=None, subscription=made)


@router.get("/subscriptions/{token}")
def manage(request: Request, token: str) -> Any:
    subscription = subscription_for(request, token)
    return page(
        request,
        "subscription.html",
        subscription=subscription,
        token=token,
        zones=store.zone_names(),
    )


@router.post("/subscriptions/{token}")
def change(
    request: Request,
    token: str,
    frequency: Text = "daily",
    timezone: Text = "UTC",
    hour: Annotated[int, Form(ge=0, le=23)] = 7,
) -> Any:
    subscription = subscription_for(request, token)
    try:
        store.change(
            request.app.state.engine,
            subscription["id"],
            frequency=frequency,
            timezone=timezone,
            hour=hour,
        )
    except store.SubscriptionError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/subscriptions/{token}?changed=1", 303)


@router.get("/subscriptions/{token}/confirm")
def confirm_form(request: Request, token: str) -> Any:
    return page(
        request,
        "subscription_confirm.html",
        subscription=subscription_for(request, token),
        token=token,
    )


@router.post("/subscriptions/{token}/confirm")
def confirm(request: Request, token: str) -> Any:
    subscription = subscription_for(request, token)
    store.confirm(request.app.state.engine, subscription["id"])
    return RedirectResponse(f"/subscriptions/{token}?confirmed=1", 303)


@router.get("/subscriptions/{token}/unsubscribe")
def unsubscribe_form(request: Request, token: str) -> Any:
    subscription = subscription_for(request, token)
    return page(request, "subscription_unsubscribe.html", subscription=subscription, token=token)


@router.post("/subscriptions/{token}/unsubscribe")
def unsubscribe(request: Request, token: str) -> Any:
    """The one-click unsubscribe of RFC 8058 (mail clients POST ``List-Unsubscribe=One-Click``
    here) and the page's button alike."""
    subscription = subscription_for(request, token)
    store.unsubscribe(request.app.state.engine, subscription["id"])
    return page(
        request,
        "subscription_unsubscribe.html",
        subscription={**subscription, "status": "unsubscribed"},
        token=token,
    )


@router.get("/subscriptions/{token}/preview")
def preview(request: Request, token: str) -> Any:
    subscription = subscription_for(request, token)
    services = request.app.state.services
    digest = services.next_digest(subscription)
    mail = DigestMail(services.mailer.links, services.mailer.sender).mail(digest)
    return HTMLResponse(mail.html, headers={"Content-Security-Policy": PREVIEW_POLICY})
