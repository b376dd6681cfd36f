"""Accounts: signing up, in and out, the profile page with a new password and API tokens
(made, listed, revoked; ``/api/tokens`` too), and deleting the account with all its data
(from the profile page, or ``DELETE /api/account``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from paperfeed.services import Services
from paperfeed.store.accounts import (
    AccountError,
    authenticate,
    create_token,
    create_user,
    list_tokens,
    revoke_token,
    set_password,
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
from paperfeed.web.views import CsrfField, local, with_marks

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["library"])
Email = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1000)]
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]


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
    return RedirectResponse("/papers", 303)


@router.post("/logout")
def logout(request: Request, csrf_token: CsrfField = "") -> RedirectResponse:
    check_csrf(request, csrf_token)
    sign_out(request)
    return RedirectResponse("/papers", 303)


@router.get("/profile")
def profile(request: Request, services: ServicesDep) -> Response:
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/profile", 303)
    return _profile_page(request, services, user)


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
        for row in list_subscriptions(engine, email=user["email"])
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
        **context,
    )
