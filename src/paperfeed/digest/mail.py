"""Mails as sent: a digest or a confirmation request, multipart plain text + HTML, with the
one-click unsubscribe headers of RFC 8058 on every digest."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from paperfeed.digest.content import Digest
from paperfeed.digest.links import Links
from paperfeed.web.render import lead, plain

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(plain=plain, lead=lead)
TITLES = {
    "trending": "Trending papers",
    "search": "New papers for “{query}”",
    "recommend": "Recommended for you",
}


def subject(digest: Digest) -> str:
    """The subject line: what the digest is and for when."""
    subscription = digest.subscription
    title = TITLES[subscription["kind"]].format(query=subscription["query"] or "")
    return f"{title}, {digest.period.label}"


def digest_message(digest: Digest, links: Links, sender: str) -> EmailMessage:
    """The digest as a mail to its subscriber."""
    subscription = digest.subscription
    context = {
        "digest": digest,
        "subject": subject(digest),
        "papers": [_entry(card, links) for card in digest.papers],
        "manage": links.manage(subscription["id"]),
        "unsubscribe": links.unsubscribe(subscription["id"]),
        "site": links.site(),
    }
    message = _message("digest", context, sender, subscription["email"])
    message["List-Unsubscribe"] = f"<{links.unsubscribe(subscription['id'])}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def confirmation_message(subscription: dict[str, Any], links: Links, sender: str) -> EmailMessage:
    """The double opt-in mail: nothing is sent to the address until its link is followed."""
    what = TITLES[subscription["kind"]].format(query=subscription["query"] or "")
    context = {
        "subscription": subscription,
        "what": what,
        "subject": f"Confirm your paperfeed digest: {what}",
        "confirm": links.confirm(subscription["id"]),
        "site": links.site(),
    }
    return _message("confirm", context, sender, subscription["email"])


def _entry(card: dict[str, Any], links: Links) -> dict[str, Any]:
    arxiv_id = card["arxiv_id"]
    code = next((link for link in card.get("links") or [] if "github.com" in link), None)
    authors = card.get("authors") or []
    return {
        **card,
        "url": links.paper(arxiv_id),
        "arxiv_url": f"https://arxiv.org/abs/{arxiv_id}",
        "code_url": code,
        "byline": ", ".join(authors[:5]) + (" et al." if len(authors) > 5 else ""),
        "because_url": links.paper(card["because"]) if card.get("because") else None,
    }


def _message(name: str, context: dict[str, Any], sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = context["subject"]
    message["From"] = sender
    message["To"] = formataddr(("", to))
    message.set_content(TEMPLATES.get_template(f"{name}.txt").render(context))
    message.add_alternative(TEMPLATES.get_template(f"{name}.html").render(context), subtype="html")
    return message
