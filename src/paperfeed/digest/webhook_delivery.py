"""Making the webhook calls the outbox holds: signed POSTs, retried with the mails' backoff.

A call's answer decides what becomes of it:

- a 2xx: sent; the webhook's error and failures are cleared;
- no connection, no answer within ``webhook_timeout`` seconds, a 5xx, 408 or 429: tried again
  after 1, 2, 4 … minutes (up to 6 h; longer if a ``Retry-After`` asks), up to
  :data:`~paperfeed.digest.outbox.MAX_ATTEMPTS` tries within
  :data:`~paperfeed.digest.outbox.MAX_AGE`, then failed;
- any other answer (a 3xx: redirects are not followed; a 4xx) fails at once: the receiver
  refused the call and would refuse it again;
- an address that is, or resolves to, a local or private one (unless the site allows them)
  fails at once.

Each failure is shown on the user's follow (its ``webhook_error``). After :data:`PAUSE_AFTER`
calls in a row failed for good, the webhook is paused: its unsent calls are cancelled, no
more are queued, the user sees why, and is mailed once with why and the webhook's page
(when their address is verified); setting its URL again starts it afresh.

Delivery is at least once. A call's outcome is committed right after the answer, so a
process killed between the receiver's 2xx and that commit makes the call again once its
lease (:data:`~paperfeed.digest.outbox.LEASE`) runs out: with the same body and
``X-Paperfeed-Delivery``, by which the receiver drops the repeat. Two runs at once never make
the same call (the outbox's claim).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, Row

from paperfeed.digest.mail import paused_message
from paperfeed.digest.outbox import (
    LEASE,
    LONGEST_RETRY,
    MAX_AGE,
    MAX_ATTEMPTS,
    DeliveryReport,
    enqueue,
    moving_clock,
    retry_delay,
)
from paperfeed.digest.run import Mailer
from paperfeed.digest.webhooks import EVENT, signature
from paperfeed.sources.http import retry_after
from paperfeed.store.outbox import claim_message, count_unsent, update_message
from paperfeed.store.schema import MailKind, OutboxStatus
from paperfeed.store.webhooks import record_call
from paperfeed.urls import PrivateAddress, public_address

PAUSE_AFTER = 3  # calls in a row failed for good (each after its retries)
RETRY_STATUSES = {408, 429}  # and every 5xx


class Refused(Exception):
    """The call failed for good: trying again would not help."""


class TryLater(Exception):
    """The call failed this time; ``wait`` is how long the receiver asked to be left alone."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


def deliver_webhooks(
    engine: Engine,
    client: httpx.Client,
    *,
    allow_private: bool = False,
    mailer: Mailer | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> DeliveryReport:
    """Make the due webhook calls, oldest first, with ``client`` (its timeout bounds each);
    a webhook paused is told to its owner through ``mailer``'s outbox; ``now`` fixes the
    clock for due times, backoff and ``sent_at``; ``limit`` caps the calls tried."""
    lease_clock = moving_clock(now)
    clock: Callable[[], datetime] = (lambda: now) if now else lease_clock
    report = DeliveryReport()
    while limit is None or report.tried < limit:
        claimed = claim_message(engine, clock(), lease_clock() + LEASE, webhooks=True)
        if claimed is None:
            break
        _attempt(engine, client, claimed, clock(), report, allow_private, mailer)
    report.waiting = max(0, count_unsent(engine, webhooks=True) - report.retry_later)
    return report


def _attempt(
    engine: Engine,
    client: httpx.Client,
    row: Row[Any],
    now: datetime,
    report: DeliveryReport,
    allow_private: bool,
    mailer: Mailer | None,
) -> None:
    if row.url is None or row.paused_at is not None:
        why = "the webhook was paused" if row.url else "the webhook was removed"
        update_message(engine, row.id, status=OutboxStatus.CANCELLED, last_error=why)
        report.cancelled += 1
        return
    attempts = row.attempts + 1
    try:
        _call(client, row, allow_private)
    except Refused as error:
        _failed(engine, row, attempts, str(error), now, mailer)
        report.failed += 1
    except TryLater as error:
        too_long = attempts >= MAX_ATTEMPTS or now - row.created_at >= MAX_AGE
        if too_long:
            why = f"{error} (gave up after {attempts} tries)"
            _failed(engine, row, attempts, why, now, mailer)
            report.failed += 1
            return
        wait = max(retry_delay(attempts), timedelta(seconds=error.wait or 0))
        record_call(
            engine,
            row.id,
            row.follow_id,
            now,
            error=f"{error}; trying again",
            failed=False,
            pause_after=PAUSE_AFTER,
            status=OutboxStatus.PENDING,
            attempts=attempts,
            next_attempt_at=now + min(wait, LONGEST_RETRY),
            last_error=str(error),
        )
        report.retry_later += 1
    else:
        record_call(
            engine,
            row.id,
            row.follow_id,
            now,
            error=None,
            failed=False,
            pause_after=PAUSE_AFTER,
            status=OutboxStatus.SENT,
            attempts=attempts,
            sent_at=now,
        )
        report.sent += 1


def _failed(
    engine: Engine,
    row: Row[Any],
    attempts: int,
    error: str,
    now: datetime,
    mailer: Mailer | None,
) -> None:
    values = {"status": OutboxStatus.FAILED, "attempts": attempts, "last_error": error}
    record_call(
        engine,
        row.id,
        row.follow_id,
        now,
        error=error,
        failed=True,
        pause_after=PAUSE_AFTER,
        on_pause=_mail_owner(mailer, now) if mailer else None,
        **values,
    )


def _mail_owner(mailer: Mailer, now: datetime) -> Callable[[Connection, dict[str, Any]], None]:
    """Queue, in the transaction that pauses a webhook, the mail telling its owner: once per
    pause, and only to a verified address."""

    def queue(conn: Connection, follow: dict[str, Any]) -> None:
        if follow["email_verified_at"] is not None:
            message = paused_message(follow, mailer.links, mailer.sender)
            key = f"{MailKind.PAUSED}:{follow['id']}:{now.isoformat()}"
            enqueue(conn, key, follow["email"], MailKind.PAUSED, message, now=now)

    return queue


def _call(client: httpx.Client, row: Row[Any], allow_private: bool) -> None:
    """POST the call; raises :class:`Refused` or :class:`TryLater` unless it got a 2xx."""
    url = httpx.URL(row.url)
    body = row.message.encode()
    headers = {
        "Content-Type": "application/json",
        "X-Paperfeed-Event": EVENT,
        "X-Paperfeed-Delivery": str(row.id),
        "X-Paperfeed-Signature": signature(row.secret, body),
    }
    extensions: dict[str, Any] = {}
    if not allow_private:
        try:
            address = public_address(url.host, url.port or (443 if url.scheme == "https" else 80))
        except PrivateAddress:
            why = f"{url.host} is a local or private address; webhooks go to public ones"
            raise Refused(why) from None
        except OSError as error:
            raise TryLater(f"cannot resolve {url.host} ({error})") from None
        # to the address checked, under the name (Host, and TLS's server name and certificate)
        headers["Host"] = url.netloc.decode("ascii")
        extensions["sni_hostname"] = url.host
        url = url.copy_with(host=address)
    try:
        # streamed and never read: a receiver's answer could be any size
        with client.stream(
            "POST", url, content=body, headers=headers, extensions=extensions
        ) as response:
            status = response.status_code
            wait = retry_after(response)
    except httpx.TimeoutException:
        raise TryLater(f"no answer within {client.timeout.read} s") from None
    except httpx.TransportError as error:
        raise TryLater(f"cannot reach {url.host} ({type(error).__name__}: {error})") from None
    if 200 <= status < 300:
        return
    if status >= 500 or status in RETRY_STATUSES:
        raise TryLater(f"HTTP {status}", wait)
    if 300 <= status < 400:
        raise Refused(f"HTTP {status}: redirects are not followed; give the final URL")
    raise Refused(f"HTTP {status}: the receiver refused the call (not tried again)")
