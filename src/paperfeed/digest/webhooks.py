"""Webhooks: a follow's new papers POSTed as JSON to the URL its owner gave, through the
outbox that sends the mails.

**Queueing.** :func:`queue_webhooks` looks, for each follow with a webhook that is not paused,
for the papers that matched it and came to the feed from :data:`LOOK_BACK` before the day it
last looked (a paper imported late, with an earlier day, is still found; a new webhook's
first calls may so carry papers of the last days), leaves out those its calls carried
before, and queues one call per :data:`MAX_PAPERS` of them. The call, the papers it carries
(``webhook_papers``: a paper is carried once per follow, never twice) and the follow's new
watermark are written in one transaction, which a second run at once loses (it finds the
watermark moved). Delivery is :mod:`paperfeed.digest.webhook_delivery`'s.

**The call.** ``POST`` with the JSON body of :func:`payload`::

    {"event": "papers.new",
     "follow": {"id": 7, "kind": "author", "target": "Ada Lovelace"},
     "papers": [{"id": "2603.00001", "title": "…", "authors": ["…"],
                 "url": "https://…/papers/2603.00001", "abstract": "the first lines …"}],
     "text": "…", "content": "…", "allowed_mentions": {"parse": []}}

``text`` (Slack) and ``content`` (Discord, at most 2,000 characters) hold the same short
summary in each one's markup, so a Slack or Discord incoming-webhook URL works as it is;
``allowed_mentions`` stops a title's ``@everyone`` from pinging a Discord channel. Headers:
``X-Paperfeed-Event: papers.new``, ``X-Paperfeed-Delivery`` (the same for every try of one
call: a receiver drops repeats by it), ``X-Paperfeed-Signature: sha256=<hex>`` and the
site's ``User-Agent``.

**Verifying a call.** The signature is the HMAC-SHA256 of the raw body, keyed by the
webhook's secret (shown once, when the webhook is set), in hex. A receiver computes it over
the bytes it received, before parsing them, and compares in constant time, as
:func:`verify` does::

    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Paperfeed-Signature"])
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from paperfeed.digest.links import Links
from paperfeed.ranking.following import followed_papers, label
from paperfeed.ranking.search import Searcher
from paperfeed.store.feed import period_papers
from paperfeed.store.outbox import queue_message
from paperfeed.store.schema import FollowKind, MailKind, OutboxStatus
from paperfeed.store.webhooks import carried_by, save_webhook_papers, take_turn, webhook_follows
from paperfeed.text import counted, lead, plain

EVENT = "papers.new"
MAX_PAPERS = 25  # per call; more new papers make more calls
ABSTRACT_CHARS = 300
CHAT_CHARS = 1900  # Discord refuses a content of over 2,000 characters
SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
DISCORD_MARKUP = "\\*_~`|<>[]()@#"
TARGET_CHARS = 200  # of what a follow watches, in a chat's heading
LOOK_BACK = timedelta(days=2)  # before the day a webhook last looked: late imports


@dataclass
class QueueReport:
    """What one look for new papers did: follows looked at, calls queued with how many
    papers, follows another run was looking at."""

    follows: int = 0
    calls: int = 0
    papers: int = 0
    busy: int = 0

    def __str__(self) -> str:
        return (
            f"{counted(self.follows, 'webhook')} looked at: {counted(self.calls, 'call')} "
            f"queued with {counted(self.papers, 'new paper')}"
            + (f" ({counted(self.busy, 'webhook')} left to another run)" if self.busy else "")
        )


def queue_webhooks(
    engine: Engine, searcher: Searcher | None, links: Links, now: datetime
) -> QueueReport:
    """Queue a call for each webhook with papers that matched its follow since it last
    looked (up to ``now``) and that none of its calls carried."""
    report = QueueReport()
    due = [
        follow
        for follow in webhook_follows(engine)
        if follow["webhook_checked_at"] is None or follow["webhook_checked_at"] < now
    ]
    starts = [f["webhook_checked_at"].date() - LOOK_BACK for f in due if f["webhook_checked_at"]]
    known, window = None, None
    if searcher is not None and starts and any(f["kind"] == FollowKind.SEARCH for f in due):
        # the days' papers and their vectors read once for every followed search
        known = {card["arxiv_id"]: card for card in period_papers(engine, min(starts), now.date())}
        window = searcher.window(list(known))
    for follow in due:
        start = follow["webhook_checked_at"]
        report.follows += 1
        cards: list[dict[str, Any]] = []
        if start is not None:  # a new webhook starts from now
            first = start.date() - LOOK_BACK
            found = followed_papers(
                engine, searcher, [follow], first, now.date(), known=known, window=window
            )
            cards = [paper.card for paper in found]
        sent = carried_by(engine, follow["id"], [card["id"] for card in cards])
        fresh = [card for card in cards if card["id"] not in sent]
        with engine.begin() as conn:
            if not take_turn(conn, follow, now):
                report.busy += 1
                continue
            for number, first in enumerate(range(0, len(fresh), MAX_PAPERS)):
                chosen = fresh[first : first + MAX_PAPERS]
                row = {
                    "key": f"{MailKind.WEBHOOK}:{follow['id']}:{now.isoformat()}:{number}",
                    "follow_id": follow["id"],
                    "kind": MailKind.WEBHOOK,
                    "message": payload(follow, chosen, links),
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                outbox_id = queue_message(conn, row)
                carried = [
                    {"follow_id": follow["id"], "paper_id": card["id"], "outbox_id": outbox_id}
                    for card in chosen
                ]
                save_webhook_papers(conn, carried)
                report.calls += 1
                report.papers += len(chosen)
    return report


def payload(follow: dict[str, Any], cards: Sequence[dict[str, Any]], links: Links) -> str:
    """The JSON body of a call carrying ``cards`` for ``follow``."""
    papers = [
        {
            "id": card["arxiv_id"],
            "title": plain(card["title"]),
            "authors": card["authors"] or [],
            "url": links.paper(card["arxiv_id"]),
            "abstract": lead(card["abstract"], ABSTRACT_CHARS),
        }
        for card in cards
    ]
    what = " ".join(label(follow).split())
    if len(what) > TARGET_CHARS:
        what = what[:TARGET_CHARS] + "…"
    heading = f"{counted(len(papers), 'new paper')} for {what}"
    body = {
        "event": EVENT,
        "follow": {"id": follow["id"], "kind": follow["kind"], "target": follow["target"]},
        "papers": papers,
        "text": _chat(heading, papers, _slack),
        "content": _chat(heading, papers, _discord),
        "allowed_mentions": {"parse": []},
    }
    return json.dumps(body, ensure_ascii=False)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Paperfeed-Signature`` of ``body``: ``sha256=`` and its HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (what a receiver
    checks, in constant time)."""
    return hmac.compare_digest(signature(secret, body), header)


def _chat(heading: str, papers: list[dict[str, Any]], escape: Any) -> str:
    """The summary for a chat: the heading, then a line per paper while they fit."""
    lines = [escape(heading)]
    for shown, paper in enumerate(papers):
        line = f"• {escape(' '.join(paper['title'].split()))} <{paper['url']}>"
        more = len(papers) - shown
        if sum(len(text) + 1 for text in lines) + len(line) + 20 > CHAT_CHARS:
            lines.append(f"… and {more} more")
            break
        lines.append(line)
    return "\n".join(lines)


def _slack(text: str) -> str:
    return text.translate(SLACK_ESCAPES)


def _discord(text: str) -> str:
    return "".join(f"\\{c}" if c in DISCORD_MARKUP else c for c in text)
