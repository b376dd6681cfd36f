"""``paperfeed digest run``: build every due digest into the outbox, then deliver the outbox.

Safe to run at any time and as often as wanted (cron every few minutes, or ``paperfeed
serve``'s scheduler, or both): a digest is one outbox row keyed by subscription and period,
written in one transaction with the papers it carries, so a run that crashes half-way leaves
whole digests or none, and the next run builds only the missing ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from paperfeed.digest.content import Contents, Digest
from paperfeed.digest.links import Links
from paperfeed.digest.mail import (
    DigestMail,
    followed_comment_message,
    link_message,
    reply_message,
    verify_message,
)
from paperfeed.digest.outbox import DeliveryReport, deliver, enqueue, prune
from paperfeed.digest.schedule import LOOK_BACK, due_period, period_of
from paperfeed.digest.smtp import SmtpConfig
from paperfeed.ranking.recommend import Recommender
from paperfeed.ranking.search import Searcher
from paperfeed.ranking.trending import clock
from paperfeed.store.comments import comment_followers, reply_recipient
from paperfeed.store.feed import latest_day
from paperfeed.store.outbox import digest_keys_since, save_carried, suppressed_emails
from paperfeed.store.schema import DigestKind, MailKind, SubscriptionStatus
from paperfeed.store.subscriptions import list_subscriptions

BATCH = 100  # digests written per transaction
KEEP_SENT = timedelta(days=30)  # then a sent mail's text goes; its row stays as the record


@dataclass(frozen=True)
class Mailer:
    """What mail needs: signed links, the sender, and the mail server (``None``: mails wait
    in the outbox)."""

    links: Links
    sender: str
    smtp: SmtpConfig | None


@dataclass
class BuildReport:
    """What one run found to do: digests due, queued, empty (not sent), already queued."""

    due: int = 0
    queued: int = 0
    empty: int = 0
    done_before: int = 0

    def __str__(self) -> str:
        return (
            f"{self.due:,} digest{'' if self.due == 1 else 's'} due: {self.queued:,} queued, "
            f"{self.done_before:,} queued before, {self.empty:,} with no new papers (not sent)"
        )


def build_digests(
    engine: Engine,
    contents: Contents,
    links: Links,
    sender: str,
    progress: Callable[[int], None] | None = None,
) -> BuildReport:
    """Queue the digest of every active subscription that is due at ``contents.now`` and not
    queued yet for its period; ``progress`` is told of each subscription looked at."""
    report = BuildReport()
    since = contents.now - timedelta(days=max(LOOK_BACK.values()) + 1)
    queued = digest_keys_since(engine, since)
    stopped = suppressed_emails(engine)
    mail = DigestMail(links, sender)
    batch: list[tuple[str, Digest, Message]] = []
    active = list_subscriptions(engine, status=SubscriptionStatus.ACTIVE)
    contents.queries = [row["query"] for row in active if row["kind"] == DigestKind.SEARCH]
    for subscription in active:
        if progress:
            progress(1)
        period = due_period(
            subscription["frequency"], subscription["timezone"], subscription["hour"], contents.now
        )
        if period is None or subscription["email"] in stopped:
            continue
        report.due += 1
        key = digest_key(subscription["id"], period.key)
        if key in queued:
            report.done_before += 1
            continue
        digest = contents.digest(subscription, period)
        if not digest.papers:
            report.empty += 1
            continue
        batch.append((key, digest, mail.message(digest)))
        if len(batch) == BATCH:
            _queue(engine, batch, contents.now, report)
            batch = []
    _queue(engine, batch, contents.now, report)
    return report


def _queue(
    engine: Engine,
    batch: list[tuple[str, Digest, Message]],
    now: datetime,
    report: BuildReport,
) -> None:
    """Write whole digests with the papers they carry, a batch per transaction: a crash
    loses only unwritten digests, which the next run builds again."""
    carried = []
    with engine.begin() as conn:
        for key, digest, message in batch:
            subscription = digest.subscription
            outbox_id = enqueue(
                conn, key, subscription["email"], MailKind.DIGEST, message, subscription["id"], now
            )
            if outbox_id is None:  # another run queued it a moment ago
                report.done_before += 1
                continue
            carried += [
                {
                    "subscription_id": subscription["id"],
                    "paper_id": card["id"],
                    "outbox_id": outbox_id,
                }
                for card in digest.papers
            ]
            report.queued += 1
        save_carried(conn, carried)


def digest_key(subscription_id: int, period: str) -> str:
    """The outbox key that makes a subscription's digest for a period unique."""
    return f"digest:{subscription_id}:{period}"


def mail_link(engine: Engine, subscription: dict[str, Any], mailer: Mailer) -> bool:
    """Queue the mail with the subscription's link (:func:`link_message`: to confirm a
    pending one, to manage a live one): at most one a day per subscription, so a form
    submitted again and again cannot flood somebody's inbox. ``False`` if one was already
    queued today."""
    now = datetime.now(UTC)
    pending = subscription["status"] == SubscriptionStatus.PENDING
    kind = MailKind.CONFIRM if pending else MailKind.MANAGE
    key = f"{kind}:{subscription['id']}:{now.date().isoformat()}"
    message = link_message(subscription, mailer.links, mailer.sender)
    with engine.begin() as conn:
        queued = enqueue(conn, key, subscription["email"], kind, message, subscription["id"], now)
    return queued is not None


def mail_verification(engine: Engine, user: dict[str, Any], mailer: Mailer) -> None:
    """Queue the mail with the link that verifies the account's address (how often one may
    be asked for is the caller's to limit)."""
    now = datetime.now(UTC)
    message = verify_message(user, mailer.links, mailer.sender)
    with engine.begin() as conn:
        enqueue(
            conn,
            f"{MailKind.VERIFY}:{user['id']}:{now.isoformat()}",
            user["email"],
            MailKind.VERIFY,
            message,
            now=now,
        )


def mail_comment(engine: Engine, comment: dict[str, Any], mailer: Mailer) -> bool:
    """Queue the mails about a new comment, each once however often this is called, in one
    transaction: to the author of the comment it answers if they want one
    (:func:`reply_recipient`), and to the followers of its paper's authors who want one
    (:func:`comment_followers`; not again to the author it answers). Whether any was queued."""
    answered = reply_recipient(engine, comment["id"]) if comment["parent_id"] else None
    followers = comment_followers(engine, comment["id"], answered["id"] if answered else None)
    links, sender = mailer.links, mailer.sender
    mails = (
        [
            (
                f"{MailKind.REPLY}:{comment['id']}",
                MailKind.REPLY,
                answered["email"],
                reply_message(comment, answered, links, sender),
            )
        ]
        if answered
        else []
    )
    mails += [
        (
            f"{MailKind.FOLLOWED_COMMENT}:{comment['id']}:{follower['id']}",
            MailKind.FOLLOWED_COMMENT,
            follower["email"],
            followed_comment_message(comment, follower, links, sender),
        )
        for follower in followers
    ]
    with engine.begin() as conn:
        queued = [enqueue(conn, key, email, kind, message) for key, kind, email, message in mails]
    return any(outbox_id is not None for outbox_id in queued)


def run_digests(
    engine: Engine,
    searcher: Searcher | None,
    recommender: Recommender | None,
    mailer: Mailer,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[BuildReport, DeliveryReport]:
    """One whole run: queue the due digests, deliver what the outbox has due, drop the text
    of mails sent long ago."""
    now = now or datetime.now(UTC)
    contents = Contents(engine, searcher, now, recommender)
    built = build_digests(engine, contents, mailer.links, mailer.sender, progress)
    delivered = deliver(engine, mailer.smtp, now=now)
    prune(engine, KEEP_SENT, now)
    return built, delivered


def next_digest(
    engine: Engine,
    searcher: Searcher | None,
    recommender: Recommender | None,
    subscription: dict[str, Any],
) -> Digest:
    """The digest the subscription would get now (a preview): from the newest papers the
    store has, even when it has not been fed for a while, and whether or not it is due."""
    moment = clock(latest_day(engine))
    local = moment.astimezone(ZoneInfo(subscription["timezone"]))
    contents = Contents(engine, searcher, moment, recommender)
    return contents.digest(subscription, period_of(subscription["frequency"], local.date()))
