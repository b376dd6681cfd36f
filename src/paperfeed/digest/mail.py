"""Mails as sent: a digest, a subscription's link (asking to confirm it, or to manage it), the
link that verifies an account's address, a comment for those who asked to hear of it, or a
paused webhook; multipart plain text + HTML, with the one-click unsubscribe headers of RFC 8058
on every digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from paperfeed.digest.content import Digest
from paperfeed.digest.links import VERIFY_FOR, Links
from paperfeed.ranking.following import label
from paperfeed.store.schema import DigestKind, SubscriptionStatus
from paperfeed.text import lead, plain
from paperfeed.urls import code_url

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(plain=plain, lead=lead)
TITLES = {
    DigestKind.TRENDING: "Trending papers",
    DigestKind.SEARCH: "New papers for “{query}”",
    DigestKind.RECOMMEND: "Recommended for you",
    DigestKind.FOLLOWING: "New papers of what you follow",
}


def subject(digest: Digest) -> str:
    """The subject line: what the digest is and for when."""
    subscription = digest.subscription
    title = TITLES[subscription["kind"]].format(query=subscription["query"] or "")
    return f"{title}, {digest.period.label}"


@dataclass(frozen=True)
class Mail:
    """A rendered mail: what a preview shows, and what :meth:`message` sends."""

    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()

    def message(self, sender: str, to: str) -> Message:
        """As a multipart text + HTML message. The legacy MIME classes take a third of the
        time of ``EmailMessage``, which parses every header it is given; a run writes
        thousands of mails."""
        message = MIMEMultipart("alternative")
        message["Subject"] = Header(self.subject, "utf-8").encode()
        message["From"] = formataddr(parseaddr(sender), charset="utf-8")
        message["To"] = to
        for name, value in self.headers:
            message[name] = value
        message.attach(MIMEText(self.text, "plain", "utf-8"))
        message.attach(MIMEText(self.html, "html", "utf-8"))
        return message


class DigestMail:
    """Renders digests as mails. One run mails the same papers to many subscribers, so each
    paper's part is rendered once and reused."""

    def __init__(self, links: Links, sender: str) -> None:
        self.links = links
        self.sender = sender
        self._parts: dict[tuple[str | None, ...], tuple[Markup, str]] = {}

    def mail(self, digest: Digest) -> Mail:
        """The digest rendered, with the one-click unsubscribe headers of RFC 8058."""
        links, subscription = self.links, digest.subscription
        parts = [self._part(card) for card in digest.papers]
        context = {
            "subject": subject(digest),
            "trend": digest.trend,
            "trend_weeks": len(digest.trend),
            "manage": links.manage(subscription),
            "unsubscribe": links.unsubscribe(subscription),
            "site": links.site(),
        }
        headers = (
            ("List-Unsubscribe", f"<{links.unsubscribe(subscription)}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        )
        return _render("digest", context, parts, headers)

    def message(self, digest: Digest) -> Message:
        """The digest as a mail to its subscriber."""
        return self.mail(digest).message(self.sender, digest.subscription["email"])

    def _part(self, card: dict[str, Any]) -> tuple[Markup, str]:
        key = (card["arxiv_id"], card.get("because"), *card.get("reasons", ()))
        if key not in self._parts:
            entry = {"paper": _entry(card, self.links)}
            html = TEMPLATES.get_template("digest_paper.html").render(entry)
            text = TEMPLATES.get_template("digest_paper.txt").render(entry)
            self._parts[key] = (Markup(html), text)
        return self._parts[key]


def link_message(subscription: dict[str, Any], links: Links, sender: str) -> Message:
    """The mail with a subscription's link: for a pending one, the double opt-in request
    (nothing else is sent to the address until its link is followed); for a live one, its
    manage link again (somebody asked to subscribe the address once more)."""
    what = TITLES[subscription["kind"]].format(query=subscription["query"] or "")
    if subscription["status"] == SubscriptionStatus.PENDING:
        name, title, link = "confirm", "Confirm your paperfeed digest", links.confirm(subscription)
    else:
        name, title, link = "manage", "Your paperfeed digest", links.manage(subscription)
    context = {
        "subscription": subscription,
        "what": what,
        "subject": f"{title}: {what}",
        "link": link,
        "site": links.site(),
    }
    return _render(name, context).message(sender, subscription["email"])


def verify_message(user: dict[str, Any], links: Links, sender: str) -> Message:
    """The mail asking the account's address to confirm it is the account holder's."""
    context = {
        "email": user["email"],
        "subject": "Confirm your address for paperfeed",
        "link": links.verify(user),
        "days": VERIFY_FOR.days,
        "site": links.site(),
    }
    return _render("verify", context).message(sender, user["email"])


def reply_message(
    reply: dict[str, Any], recipient: dict[str, Any], links: Links, sender: str
) -> Message:
    """The mail telling a commenter who opted in that ``reply`` answers their comment."""
    url = f"{links.paper(reply['arxiv_id'])}#comment-{reply['id']}"
    who = reply["author"] or "Somebody"
    context = {
        "subject": f"{who} replied to your comment on arXiv:{reply['arxiv_id']}",
        "reply": reply,
        "name": recipient["name"],
        "link": url,
        "profile": links.site("/profile"),
        "site": links.site(),
    }
    return _render("reply", context).message(sender, recipient["email"])


def followed_comment_message(
    comment: dict[str, Any], recipient: dict[str, Any], links: Links, sender: str
) -> Message:
    """The mail telling a follower who opted in that ``comment`` was posted on a paper by an
    author they follow (``recipient["authors"]``)."""
    who = comment["author"] or "Somebody"
    context = {
        "subject": f"{who} commented on arXiv:{comment['arxiv_id']}, "
        f"by {' and '.join(recipient['authors'])}",
        "comment": comment,
        "name": recipient["name"],
        "authors": recipient["authors"],
        "link": f"{links.paper(comment['arxiv_id'])}#comment-{comment['id']}",
        "following": links.site("/following#comment-mail"),
        "site": links.site(),
    }
    return _render("followed_comment", context).message(sender, recipient["email"])


def paused_message(follow: dict[str, Any], links: Links, sender: str) -> Message:
    """The mail telling a follow's owner (``email``, ``name``) that its webhook was paused after
    failing again and again (``webhook_error``: the last reason), with the webhook's page."""
    context = {
        "subject": f"Your paperfeed webhook for {label(follow)} was paused",
        "name": follow["name"],
        "what": label(follow),
        "url": follow["webhook_url"],
        "error": follow["webhook_error"],
        "link": links.site(f"/follows/{follow['id']}/webhook"),
        "site": links.site(),
    }
    return _render("paused", context).message(sender, follow["email"])


def _entry(card: dict[str, Any], links: Links) -> dict[str, Any]:
    arxiv_id = card["arxiv_id"]
    authors = card.get("authors") or []
    return {
        **card,
        "url": links.paper(arxiv_id),
        "arxiv_url": f"https://arxiv.org/abs/{arxiv_id}",
        "code_url": code_url(card.get("links")),
        "byline": ", ".join(authors[:5]) + (" et al." if len(authors) > 5 else ""),
        "because_url": links.paper(card["because"]) if card.get("because") else None,
    }


def _render(
    name: str,
    context: dict[str, Any],
    parts: Sequence[tuple[Markup, str]] = (),
    headers: tuple[tuple[str, str], ...] = (),
) -> Mail:
    """Template ``name`` as text and HTML; ``parts`` are the papers' rendered HTML and text."""
    text = TEMPLATES.get_template(f"{name}.txt").render(context, papers=[t for _, t in parts])
    html = TEMPLATES.get_template(f"{name}.html").render(context, papers=[h for h, _ in parts])
    return Mail(context["subject"], text, html, headers)
