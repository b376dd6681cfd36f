"""Accounts: users with argon2-hashed passwords, their session keys, whether their address is
verified, and API tokens (only their SHA-256 kept; listed by name and last use, revoked one
by one)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from paperfeed.store.schema import api_tokens, new_key, users

HASHER = PasswordHasher()
MIN_PASSWORD = 8
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
# a token's last use is written at most this often: API calls do not each write a row
USE_NOTED = timedelta(minutes=5)
TOKEN_FIELDS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
)
PUBLIC = (
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.is_admin,
    users.c.created_at,
    users.c.preferences,
    users.c.email_verified_at,
    users.c.banned_at,
    users.c.reply_mail,
    users.c.follow_mail,
)
PUBLIC_NAMES = tuple(column.name for column in PUBLIC)


class AccountError(ValueError):
    """A sign-up or sign-in that cannot be done, with the reason to show the user."""


def create_user(
    engine: Engine, email: str, password: str, name: str = "", *, admin: bool = False
) -> dict[str, Any]:
    """A new account; raises ``AccountError`` for a bad email, a short password or an email
    that already has an account."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an email address")
    _check_password(password)
    row = {
        "email": email,
        "name": (name.strip() or email.split("@")[0])[:200],
        "password_hash": HASHER.hash(password),
        "is_admin": admin,
        "created_at": datetime.now(UTC),
    }
    try:
        with engine.begin() as conn:
            user_id = conn.execute(insert(users).values(row).returning(users.c.id)).scalar_one()
    except IntegrityError:
        raise AccountError(f"there is already an account for {email}") from None
    return get_user(engine, user_id) or {}


def authenticate(engine: Engine, email: str, password: str) -> dict[str, Any] | None:
    """The user whose email and password these are, or ``None`` (same answer, whichever of
    the two is wrong)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*PUBLIC, users.c.password_hash).where(users.c.email == email.strip().lower())
        ).first()
    if row is None:
        HASHER.hash(password)  # take as long as a real check: no timing hint that it exists
        return None
    try:
        HASHER.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if HASHER.check_needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=HASHER.hash(password))
            )
    return {key: row._mapping[key] for key in ("id", "email", "name", "is_admin", "created_at")}


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")


def set_password(engine: Engine, user_id: int, password: str) -> None:
    """Give the account a new password, which ends every session it has (the new session
    key is read again with :func:`session_key`); ``AccountError`` if it is too short."""
    _check_password(password)
    values = {"password_hash": HASHER.hash(password), "session_key": new_key()}
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(values))


def session_key(engine: Engine, user_id: int) -> str | None:
    """The key a session of the account holds with its id (``None``: no such account)."""
    with engine.connect() as conn:
        return conn.execute(select(users.c.session_key).where(users.c.id == user_id)).scalar()


def user_for_session(engine: Engine, user_id: int, key: str) -> dict[str, Any] | None:
    """The user of a session cookie, if its key is still the account's (``None`` after
    signing out, a new password, or for another account that was given the same id)."""
    query = select(*PUBLIC).where(users.c.id == user_id)
    with engine.connect() as conn:
        row = conn.execute(query.add_columns(users.c.session_key)).mappings().first()
    if row is None or row["session_key"] != key:
        return None
    return {name: row[name] for name in PUBLIC_NAMES}


def end_sessions(engine: Engine, user_id: int) -> None:
    """End every session of the account (a new session key)."""
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(session_key=new_key()))


def get_user(engine: Engine, user_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(*PUBLIC).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row else None


def find_user(engine: Engine, email: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        query = select(*PUBLIC).where(users.c.email == email.strip().lower())
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def is_verified(user: dict[str, Any]) -> bool:
    """Whether the account's address is shown to be its holder's (a mailed link followed):
    only then is anything tied to the address by email the account's."""
    return user.get("email_verified_at") is not None


def verify_email(engine: Engine, user_id: int, email: str) -> bool:
    """Note that the account's address ``email`` is verified (the first time counts);
    ``False`` if there is no such account with that address."""
    mine = (users.c.id == user_id) & (users.c.email == email)
    with engine.begin() as conn:
        found = conn.execute(select(users.c.email_verified_at).where(mine)).first()
        if found is not None and found.email_verified_at is None:
            now = datetime.now(UTC)
            conn.execute(update(users).where(mine).values(email_verified_at=now))
    return found is not None


def make_admin(engine: Engine, email: str, password: str | None = None) -> dict[str, Any]:
    """Make ``email`` an admin, creating the account (with ``password``) if it has none."""
    user = find_user(engine, email)
    if user is None:
        if password is None:
            raise AccountError(f"there is no account for {email}: give a password to create it")
        return create_user(engine, email, password, admin=True)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user["id"]).values(is_admin=True))
    return {**user, "is_admin": True}


def create_token(engine: Engine, user_id: int, name: str = "api") -> str:
    """A new API token for the user; the only time its text is available."""
    token = "pf_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            insert(api_tokens).values(
                user_id=user_id,
                token_hash=_digest(token),
                name=name[:200],
                created_at=datetime.now(UTC),
            )
        )
    return token


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The API token of an ``Authorization: Bearer`` header (the JSON API's and the MCP
    server's), if there is one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def user_for_token(engine: Engine, token: str) -> dict[str, Any] | None:
    """The user an API token belongs to, or ``None``; notes the token's use."""
    used = api_tokens.c.last_used_at.label("token_used")
    query = (
        select(*PUBLIC, api_tokens.c.id.label("token_id"), used)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == _digest(token))
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    now = datetime.now(UTC)
    if row["token_used"] is None or now - row["token_used"] >= USE_NOTED:
        with engine.begin() as conn:
            mark = update(api_tokens).where(api_tokens.c.id == row["token_id"])
            conn.execute(mark.values(last_used_at=now))
    return {name: row[name] for name in PUBLIC_NAMES}


def list_tokens(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The user's API tokens, oldest first: id, name, when made and last used (never the
    token itself, which is not kept)."""
    query = select(*TOKEN_FIELDS).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def revoke_token(engine: Engine, user_id: int, token_id: int) -> bool:
    """Delete one of the user's API tokens; ``False`` if the user has no token ``token_id``."""
    mine = (api_tokens.c.id == token_id) & (api_tokens.c.user_id == user_id)
    with engine.begin() as conn:
        return bool(conn.execute(delete(api_tokens).where(mine)).rowcount)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def set_preferences(engine: Engine, user_id: int, preferences: dict[str, Any]) -> None:
    """Keep the user's recommendation settings: ``categories`` (only papers listed in any),
    ``exclude`` (words that drop a paper) and ``seed`` (interests in words, for a start)."""
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(preferences=preferences))


def preferences_of(conn: Connection, user_id: int) -> dict[str, Any]:
    """The settings :func:`set_preferences` kept (none: ``{}``)."""
    return conn.execute(select(users.c.preferences).where(users.c.id == user_id)).scalar() or {}
