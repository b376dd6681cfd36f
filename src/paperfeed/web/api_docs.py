"""The API's contract as its OpenAPI schema states it, beyond parameters and bodies: who may
call an operation (a session cookie or an API token) and every error it can answer, each in
the one shape ``{"error": "why"}``. Routes name theirs: ``**documented(404, auth=SIGNED_IN)``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import Security
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, Field

SESSION_COOKIE = "paperfeed_session"
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    description="The signed-in browser's session. A change made with it (POST, PUT, PATCH, "
    "DELETE) must also send the session's CSRF token in the `X-CSRF-Token` header: 403 without.",
    auto_error=False,  # who is signed in is decided by security.current_user
)
api_token = HTTPBearer(
    scheme_name="apiToken",
    bearerFormat="pf_…",
    description="An API token made on the profile page, sent as `Authorization: Bearer pf_…`. "
    "An unknown token is a 401 even where signing in is optional.",
    auto_error=False,
)


class ApiError(BaseModel):
    """What every error of the API looks like."""

    error: str = Field(description="What is wrong, in words for a person")


WHY = {
    400: "A body that is not JSON, or a request understood but not done: the reason is given",
    401: "Not signed in, or an unknown API token",
    403: "A change signed in by cookie without the session's X-CSRF-Token header, or (for "
    "what comes to the account's address by mail) an address not confirmed yet",
    404: "No such paper, tag, subscription or follow",
    409: "In conflict with what is stored",
    413: "The request body is over the limit (1 MB; 5 MB for a library file)",
    422: "A parameter or the body is not valid: which, and why, is given",
    429: "Too many requests of this kind: wait a little",
}


class Auth(Enum):
    """Who may call an operation."""

    ANYONE = "anyone"
    OPTIONAL = "optional"  # anyone; a signed-in caller gets more
    SIGNED_IN = "signed in"


def documented(
    *codes: int, auth: Auth = Auth.ANYONE, ok: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Route options stating the error answers ``codes`` (422 always, 401 where a caller may
    sign in), how a caller signs in, and (``ok``) what a 200 holds when it is not JSON."""
    options: dict[str, Any] = {}
    if auth is not Auth.ANYONE:
        codes = (*codes, 401)
        options["dependencies"] = [Security(session_cookie), Security(api_token)]
    if auth is Auth.OPTIONAL:
        options["openapi_extra"] = {"security": [{}]}  # an empty requirement: anonymous too
    options["responses"] = {
        code: {"model": ApiError, "description": WHY[code]} for code in sorted({*codes, 422})
    } | ({200: ok} if ok else {})
    return options
