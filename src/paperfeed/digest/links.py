"""Absolute links in mails: papers, and a subscription's signed confirm/manage/unsubscribe
links (whoever holds the mail may manage that subscription; nobody else can forge one)."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer


class Links:
    """Builds the site's absolute URLs for mails."""

    def __init__(self, public_url: str, secret: str) -> None:
        self.base = public_url.rstrip("/")
        self._signer = URLSafeSerializer(secret, salt="paperfeed.subscription")

    def token(self, subscription_id: int) -> str:
        return self._signer.dumps(subscription_id)

    def subscription_id(self, token: str) -> int | None:
        """The subscription a token is for, or ``None`` for a forged or damaged one."""
        try:
            value = self._signer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, int) else None

    def manage(self, subscription_id: int) -> str:
        return f"{self.base}/subscriptions/{self.token(subscription_id)}"

    def confirm(self, subscription_id: int) -> str:
        return f"{self.manage(subscription_id)}/confirm"

    def unsubscribe(self, subscription_id: int) -> str:
        return f"{self.manage(subscription_id)}/unsubscribe"

    def preview(self, subscription_id: int) -> str:
        return f"{self.manage(subscription_id)}/preview"

    def paper(self, arxiv_id: str) -> str:
        return f"{self.base}/papers/{arxiv_id}"

    def site(self, path: str = "/") -> str:
        return f"{self.base}{path}"
