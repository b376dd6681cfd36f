"""Accounts: signing up, in and out, verifying the address, the profile page with a new
password and API tokens (made, listed, revoked; ``/api/tokens`` too), and deleting the
account with all its data (from the profile page, or ``DELETE /api/account``).

An account is usable at once, but its address is its own only once verified: signing up
mails a link to it (sent again on request, a few times an hour), which verifies the address
when followed while signed in to the account, so that neither the mail alone (a stranger
signed up with it) nor the account alone does. Until then nothing tied to the address by
email (its subscriptions and their links, a recommendations digest) is the account's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from paperfeed.digest.links import VERIFY_FOR, LinkExpired, address_key
from paperfeed.digest.outbox import deliver
from paperfeed.digest.run import mail_verification
from paperfeed.services import Services
from paperfeed.store.accounts import (
    AccountError,
    authenticate,
    create_token,
    create_user,
    is_verified,
    list_tokens,
    revoke_token,
    set_password,
    verify_email,
)
from paperfeed.store.activity import activity_ids
from paperfeed.store.queries import cards_in_order
from paperfeed.store.subscriptions import list_subscriptions
from paperfeed.store.user_data import delete_account
from paperfeed.web.api_docs import Auth, documented
from paperfeed.web.deps import ServicesDep
from paperfeed.web.render import page
from paperfeed.web.security import (
    acting_user,
    check_csrf,
    current_user,
    rate_limit,
    require_user,
    sign_in,
    sign_out,
)
from paperfeed.web.views import CsrfField, local, sign_in_first, with_marks

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["library"])
Email = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1000)]
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]
VerifyToken = Annotated[str, Path(max_length=500)]


class PasswordCheck(BaseModel):
    password: str = Field(max_length=1000, description="The account's password, asked again")


def password_again(
    request: Request, services: Services, user: dict[str, Any], password: str
) -> bool:
    """Whether ``password`` is the user's, asked again before a change that matters:
    rate-limited like signing in, so it is no way to guess passwords faster."""
    rate = services.settings.login_rate
    rate_limit(request, rate, "confirm-password", key=str(user["id"]))
    return authenticate(services.engine, user["email"], password) is not None


def close_account(
    request: Request, services: Services, user: dict[str, Any], password: str
) -> bool:
    """Delete the account and sign out, if ``password`` is the user's."""
    if not password_again(request, services, user, password):
        return False
    delete_account(services.engine, user["id"])
    sign_out(request)
    return True


@router.get("/login")
def login_form(request: Request, next: str = "/papers") -> HTMLResponse:
    return page(request, "login.html", error=None, email="", next=local(next))


@router.post("/login")
def login(
    request: Request,
    services: ServicesDep,
    email: Email = "",
    password: Password = "",
    next: Annotated[str, Form()] = "/papers",
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    rate_limit(request, services.settings.login_rate, "login")
    user = authenticate(services.engine, email, password)
    if user is None:
        error = "Wrong email or password."
        return page(request, "login.html", 400, error=error, email=email, next=next)
    sign_in(request, user)
    return RedirectResponse(local(next), 303)


@router.get("/signup")
def signup_form(request: Request) -> HTMLResponse:
    return page(request, "signup.html", error=None, email="", name="")


@router.post("/signup")
def signup(
    request: Request,
    services: ServicesDep,
    background: BackgroundTasks,
    email: Email = "",
    password: Password = "",
    name: Annotated[str, Form(max_length=200)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    rate_limit(request, services.settings.signup_rate, "signup")
    try:
        user = create_user(services.engine, email, password, name)
    except AccountError as exc:
        return page(request, "signup.html", 400, error=str(exc), email=email, name=name)
    sign_in(request, user)
    send_verification(services, user, background)
    return RedirectResponse("/papers", 303)


def send_verification(
    services: Services, user: dict[str, Any], background: BackgroundTasks
) -> None:
    """Queue the mail with the link that verifies the user's address, and send it soon (with
    no mail server, it waits in the outbox until one is set)."""
    mail_verification(services.engine, user, services.mailer)
    background.add_task(deliver, services.engine, services.mailer.smtp)


@router.post("/profile/verify")
def resend_verification(
    request: Request, services: ServicesDep, background: BackgroundTasks, csrf_token: CsrfField = ""
) -> HTMLResponse:
    """Mail the link that verifies the address again (rate-limited per user)."""
    user = acting_user(request, csrf_token)
    if not is_verified(user):
        rate_limit(request, services.settings.verify_rate, "verify", key=str(user["id"]))
        send_verification(services, user, background)
    return _profile_page(request, services, user, verify_sent=not is_verified(user))


@router.get("/verify/{token}")
def verify_form(request: Request, services: ServicesDep, token: VerifyToken) -> Response:
    """The page a verification link opens: a button that verifies (links in mails only show
    a page; mail scanners follow them). Signed out, it asks to sign in first."""
    named = _named(services, token)
    if named is None:
        return _expired(request, services)
    user = current_user(request)
    if user is None:
        return sign_in_first(request)
    _check_mine(named, user)
    return page(request, "verify.html", token=token)


@router.post("/verify/{token}")
def verify(
    request: Request, services: ServicesDep, token: VerifyToken, csrf_token: CsrfField = ""
) -> Response:
    user = acting_user(request, csrf_token)
    named = _named(services, token)
    if named is None:
        return _expired(request, services)
    _check_mine(named, user)
    verify_email(services.engine, user["id"], user["email"])
    return RedirectResponse("/profile?verified=1", 303)


def _named(services: Services, token: str) -> tuple[int, str] | None:
    """The account and address key a verification link names; ``None`` if it expired, 404
    for a forged one."""
    try:
        named = services.mailer.links.verification(token)
    except LinkExpired:
        return None
    if named is None:
        raise HTTPException(404, "This link is not valid: open the one in the mail as it is.")
    return named


def _check_mine(named: tuple[int, str], user: dict[str, Any]) -> None:
    """403 unless the link was mailed to the signed-in account's address."""
    if named != (user["id"], address_key(user["email"])):
        raise HTTPException(
            403,
            "This link was mailed to another account's address: sign out, then sign in to "
            "that account and open the link again.",
        )


def _expired(request: Request, services: Services) -> HTMLResponse:
    """The page saying the link expired (410), with the button for a new one."""
    mails = services.settings.smtp_url is not None
    return page(request, "verify.html", 410, expired=True, days=VERIFY_FOR.days, mails=mails)


@router.post("/logout")
def logout(request: Request, csrf_token: CsrfField = "") -> RedirectResponse:
    check_csrf(request, csrf_token)
    sign_out(request)
    return RedirectResponse("/papers", 303)


@router.get("/profile")
def profile(request: Request, services: ServicesDep, verified: bool = False) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/profile", 303)
    return _profile_page(request, services, user, just_verified=verified and is_verified(user))


@router.post("/profile/password")
def change_password(
    request: Request,
    services: ServicesDep,
    password: Password = "",
    new_password: Password = "",
    csrf_token: CsrfField = "",
) -> HTMLResponse:
    """A new password (the current one asked again): every other session ends, this one
    goes on."""
    user = acting_user(request, csrf_token)
    if not password_again(request, services, user, password):
        error = "That is not your password: it was not changed."
        return _profile_page(request, services, user, status=400, password_error=error)
    try:
        set_password(services.engine, user["id"], new_password)
    except AccountError as exc:
        return _profile_page(request, services, user, status=400, password_error=str(exc))
    sign_in(request, user)
    return _profile_page(request, services, user, password_changed=True)


@router.post("/profile/tokens")
def new_token(
    request: Request,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=200)] = "",
    csrf_token: CsrfField = "",
) -> HTMLResponse:
    user = acting_user(request, csrf_token)
    token = create_token(services.engine, user["id"], name.strip() or "web")
    return _profile_page(request, services, user, token=token)


@router.post("/profile/tokens/{token_id}/delete")
def revoke_form(
    request: Request, services: ServicesDep, token_id: TokenId, csrf_token: CsrfField = ""
) -> RedirectResponse:
    revoke(request, services, token_id, csrf_token)
    return RedirectResponse("/profile#tokens", 303)


@router.post("/profile/delete")
def delete_profile(
    request: Request, services: ServicesDep, password: Password = "", csrf_token: CsrfField = ""
) -> Response:
    user = acting_user(request, csrf_token)
    if not close_account(request, services, user, password):
        error = "That is not your password: your account was not deleted."
        return page(request, "library_delete.html", 400, error=error)
    return RedirectResponse("/profile/deleted", 303)


@router.get("/profile/deleted")
def profile_deleted(request: Request) -> HTMLResponse:
    return page(request, "library_deleted.html")


def revoke(request: Request, services: Services, token_id: int, csrf: str | None) -> None:
    """Revoke one of the signed-in user's API tokens; 404 if they have no such token."""
    user = acting_user(request, csrf)
    if not revoke_token(services.engine, user["id"], token_id):
        raise HTTPException(404, "You have no API token with this id.")


@api_router.get(
    "/tokens",
    summary="The signed-in user's API tokens (never their secret)",
    **documented(auth=Auth.SIGNED_IN),
)
def tokens(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return list_tokens(services.engine, require_user(request)["id"])


@api_router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token",
    **documented(403, 404, auth=Auth.SIGNED_IN),
)
def revoke_api(request: Request, services: ServicesDep, token_id: TokenId) -> dict[str, int]:
    revoke(request, services, token_id, None)
    return {"revoked": token_id}


@api_router.delete(
    "/account",
    summary="Delete the account and all its data (password needed)",
    **documented(400, 403, 413, 429, auth=Auth.SIGNED_IN),
)
def delete(request: Request, services: ServicesDep, body: PasswordCheck) -> dict[str, Any]:
    user = acting_user(request, None)
    if not close_account(request, services, user, body.password):
        raise HTTPException(400, "That is not your password: the account was not deleted.")
    return {"deleted": user["email"]}


def _profile_page(
    request: Request,
    services: Services,
    user: dict[str, Any],
    token: str | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    engine, links = services.engine, services.mailer.links
    lists = {
        name: with_marks(services, user, cards_in_order(engine, wanted))
        for name, wanted in activity_ids(engine, user["id"]).items()
    }
    digests = [
        {**row, "manage": f"/subscriptions/{links.token(row)}"}
        for row in (list_subscriptions(engine, email=user["email"]) if is_verified(user) else [])
        if row["status"] in ("pending", "active")
    ]
    tokens = list_tokens(engine, user["id"])
    return page(
        request,
        "profile.html",
        status,
        lists=lists,
        token=token,
        tokens=tokens,
        digests=digests,
        mails=services.settings.smtp_url is not None,
        **context,
    )
