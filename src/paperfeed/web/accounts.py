"""Accounts: signing up, in and out, the profile page with API tokens, and deleting the
account with all its data (from the profile page, or ``DELETE /api/account``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from paperfeed.services import Services
from paperfeed.store.accounts import AccountError, authenticate, create_token, create_user
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
    sign_in,
    sign_out,
)
from paperfeed.web.views import CsrfField, local, with_marks

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["library"])
Email = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1000)]


class PasswordCheck(BaseModel):
    password: str = Field(max_length=1000, description="The account's password, asked again")


def close_account(
    request: Request, services: Services, user: dict[str, Any], password: str
) -> bool:
    """Delete the account and sign out, if ``password`` is the user's (asked again, and
    rate-limited like signing in, so it is no way to guess passwords faster)."""
    rate = services.settings.login_rate
    rate_limit(request, rate, "confirm-password", key=str(user["id"]))
    if authenticate(services.engine, user["email"], password) is None:
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
    return _profile_page(request, services, user, token=None)


@router.post("/profile/tokens")
def new_token(request: Request, services: ServicesDep, csrf_token: CsrfField = "") -> HTMLResponse:
    user = acting_user(request, csrf_token)
    token = create_token(services.engine, user["id"], "web")
    return _profile_page(request, services, user, token=token)


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
    request: Request, services: Services, user: dict[str, Any], token: str | None
) -> HTMLResponse:
    engine, links = services.engine, services.mailer.links
    lists = {
        name: with_marks(services, user, cards_in_order(engine, wanted))
        for name, wanted in activity_ids(engine, user["id"]).items()
    }
    digests = [
        {**row, "manage": f"/subscriptions/{links.token(row['id'])}"}
        for row in list_subscriptions(engine, email=user["email"])
        if row["status"] in ("pending", "active")
    ]
    return page(request, "profile.html", lists=lists, token=token, digests=digests)
