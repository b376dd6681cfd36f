"""Who is asking, and may they: sessions, API tokens, CSRF tokens and rate limits.

- Sessions live in a signed cookie (Starlette's ``SessionMiddleware``: HttpOnly,
  SameSite=Lax, Secure when ``cookie_secure``) holding the user id, the account's session
  key and a CSRF token. A session counts only while its key is the account's: signing out
  or a new password gives the account a new key, which ends every session it had, and an
  account that got a deleted one's id (ids are never reused anyway) has another key.
- Every state-changing request made with the session cookie must carry that CSRF token, in
  the form field ``csrf_token`` or the ``X-CSRF-Token`` header (synchronizer token pattern).
  Requests authenticated by an API token (``Authorization: Bearer pf_…``) carry no cookie a
  third-party page could ride on, so they need none.
- Sign-in, sign-up and submissions are rate-limited per client address or user (``limits``,
  moving window, in process memory: each worker counts its own); a refusal (429) says in
  ``Retry-After`` how many seconds until the next attempt counts.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

from fastapi import HTTPException, Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from paperfeed.store.accounts import (
    bearer_token,
    end_sessions,
    session_key,
    user_for_session,
    user_for_token,
)
from paperfeed.web.deps import get_services

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LIMITER = MovingWindowRateLimiter(MemoryStorage())


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a cookie-authenticated change without the session's CSRF token."""
    if bearer_token(request.headers):
        return
    expected = request.session.get("csrf")
    given = submitted or request.headers.get(CSRF_HEADER)
    if not expected or not given or not secrets.compare_digest(expected, given):
        raise HTTPException(
            403,
            "The form has expired or did not come from this site: reload the page and try again.",
        )


def current_user(request: Request) -> dict[str, Any] | None:
    """The signed-in user (by session cookie or API token), or ``None``."""
    if not hasattr(request.state, "user"):
        engine = get_services(request).engine
        token = bearer_token(request.headers)
        if token:
            user = user_for_token(engine, token)
            if user is None:
                request.state.user = None  # the error page is then shown signed out
                raise HTTPException(401, "Unknown API token.")
        else:
            user = _session_user(request)
        request.state.user = user
    return request.state.user


def require_user(request: Request) -> dict[str, Any]:
    """The signed-in user; 401 otherwise."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "Sign in first.")
    return user


def acting_user(request: Request, csrf_token: str | None) -> dict[str, Any]:
    """The signed-in user making a change, with the session's CSRF token: 401 before 403, so
    a signed-out visitor is sent to sign in rather than told the form expired."""
    user = require_user(request)
    check_csrf(request, csrf_token)
    return user


def sign_in(request: Request, user: dict[str, Any]) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no fixation)."""
    request.session.clear()
    request.session["user_id"] = user["id"]
    request.session["session_key"] = session_key(get_services(request).engine, user["id"])
    csrf_token(request)
    request.state.user = user


def sign_out(request: Request) -> None:
    """End this session and every other one of the signed-in account."""
    user = current_user(request)
    if user is not None and user["id"] == request.session.get("user_id"):
        end_sessions(get_services(request).engine, user["id"])
    request.session.clear()
    request.state.user = None


def rate_limit(request: Request, rate: str, scope: str, key: str | None = None) -> None:
    """Refuse (429, with ``Retry-After``) once ``key`` (default: the client's address) has
    used up ``rate``."""
    who = key or (request.client.host if request.client else "unknown")
    limit = parse(rate)
    if not LIMITER.hit(limit, scope, who):
        reset, _ = LIMITER.get_window_stats(limit, scope, who)
        wait = max(1, math.ceil(reset - time.time()))
        raise HTTPException(
            429,
            f"Too many attempts ({rate}); wait a little and try again.",
            headers={"Retry-After": str(wait)},
        )


def _session_user(request: Request) -> dict[str, Any] | None:
    """The user of the session cookie while its key is the account's; a stale session is
    dropped (signed out there, or the account is gone)."""
    user_id, key = request.session.get("user_id"), request.session.get("session_key")
    if not isinstance(user_id, int):
        return None
    engine = get_services(request).engine
    user = user_for_session(engine, user_id, key) if isinstance(key, str) else None
    if user is None:
        request.session.pop("user_id", None)
        request.session.pop("session_key", None)
    return user
