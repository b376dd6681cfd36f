"""Absolute links in mails: papers, a subscription's signed confirm/manage/unsubscribe links
(whoever holds the mail may manage that subscription; nobody else can forge one), and the
link that verifies an account's address (signed and dated: it works for ``VERIFY_FOR``).

A link signs the subscription's id with its random ``link_key``, so it names that one
subscription and never another that got the same id. Subscriptions made before keys have
none: their links, already mailed, sign the id alone and still work for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

VERIFY_FOR = timedelta(days=7)


class LinkExpired(ValueError):
    """A genuine link, too old to use."""


class Links:
    """Builds the site's absolute URLs for mails."""

    def __init__(self, public_url: str, secret: str) -> None:
        self.base = public_url.rstrip("/")
        self._signer = URLSafeSerializer(secret, salt="paperfeed.subscription")
        self._verifier = URLSafeTimedSerializer(secret, salt="paperfeed.verify-email")

    def token(self, subscription: Mapping[str, Any]) -> str:
        """The signed reference to a subscription that its links carry."""
        key = subscription.get("link_key")
        return self._signer.dumps([subscription["id"], key] if key else subscription["id"])

    def reference(self, token: str) -> tuple[int, str | None] | None:
        """The subscription id and key a token names (no key: a link from before keys), or
        ``None`` for a forged or damaged one."""
        try:
            value = self._signer.loads(token)
        except BadSignature:
            return None
        match value:
            case int() if not isinstance(value, bool):
                return value, None
            case [int() as subscription_id, str() as key]:
                return subscription_id, key
        return None

    def manage(self, subscription: Mapping[str, Any]) -> str:
        return f"{self.base}/subscriptions/{self.token(subscription)}"

    def confirm(self, subscription: Mapping[str, Any]) -> str:
        return f"{self.manage(subscription)}/confirm"

    def unsubscribe(self, subscription: Mapping[str, Any]) -> str:
        return f"{self.manage(subscription)}/unsubscribe"

    def preview(self, subscription: Mapping[str, Any]) -> str:
        return f"{self.manage(subscription)}/preview"

    def verify(self, user: Mapping[str, Any]) -> str:
        """The link that verifies the account's address: it names the account and the
        address it was mailed to (by :func:`address_key`, which keeps it out of web logs)."""
        token = self._verifier.dumps([user["id"], address_key(user["email"])])
        return f"{self.base}/verify/{token}"

    def verification(self, token: str) -> tuple[int, str] | None:
        """The account id and :func:`address_key` a verification link names, or ``None``
        for a forged or damaged one; raises :class:`LinkExpired` after ``VERIFY_FOR``."""
        try:
            value = self._verifier.loads(token, max_age=int(VERIFY_FOR.total_seconds()))
        except SignatureExpired:
            raise LinkExpired(token) from None
        except BadSignature:
            return None
        match value:
            case [int() as user_id, str() as key]:
                return user_id, key
        return None

    def paper(self, arxiv_id: str) -> str:
        return f"{self.base}/papers/{arxiv_id}"

    def site(self, path: str = "/") -> str:
        return f"{self.base}{path}"


def address_key(email: str) -> str:
    """A short digest of an address, which a verification link carries."""
    return hashlib.sha256(email.encode()).hexdigest()[:16]
