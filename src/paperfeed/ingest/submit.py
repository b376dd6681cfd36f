"""A user submits a paper by arXiv id or URL: fetched from the arXiv API unless stored.

The submitter is the user who brings the paper to the feed (on the day of the submission):
the first to submit it, as on Hugging Face's daily papers. A stored paper counts when nobody
submitted it and it is not on the feed's newest day already (an older paper, e.g. from a
bulk import); otherwise the user is told that it is already here, and nothing is recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.ingest.pipeline import ingest
from paperfeed.sources.arxiv_api import ArxivApiSource
from paperfeed.sources.base import SourceError
from paperfeed.sources.http import PoliteClient
from paperfeed.store.activity import record_submission, submitter
from paperfeed.store.feed import latest_day
from paperfeed.store.queries import cards_by_id, is_stored

log = logging.getLogger("paperfeed.ingest")


class SubmitError(ValueError):
    """A submission that cannot be taken, with the reason to show the user."""


@dataclass(frozen=True)
class Submitted:
    """The paper a submission named. ``new``: the user is now its submitter. Otherwise it was
    here already: submitted on ``submitted_at`` (by this user if ``yours``), or, submitted by
    nobody, ``announced`` on the feed's newest day (neither: another user submitted it while
    this submission ran)."""

    arxiv_id: str
    new: bool
    submitted_at: datetime | None = None
    yours: bool = False
    announced: date | None = None


def submit_paper(
    engine: Engine, client: PoliteClient, api_url: str, text: str, user_id: int
) -> Submitted:
    """Add the paper ``text`` names (``2401.12345``, ``arXiv:2401.12345v2``, an abs or PDF
    URL) for ``user_id``, fetching it from arXiv if the store lacks it."""
    try:
        arxiv_id = parse_arxiv_id(text[:300]).id
    except InvalidArxivId:
        raise SubmitError(
            f"{text[:80]!r} is not an arXiv id or URL (e.g. 2401.12345 or "
            "https://arxiv.org/abs/2401.12345)"
        ) from None
    if not is_stored(engine, arxiv_id):
        fetch(engine, client, api_url, arxiv_id)
    elif already := already_here(engine, arxiv_id, user_id):
        return already
    return Submitted(arxiv_id, new=record_submission(engine, user_id, arxiv_id))


def fetch(engine: Engine, client: PoliteClient, api_url: str, arxiv_id: str) -> None:
    """Import the paper from the arXiv API; a :class:`SubmitError` when that fails."""
    try:
        report = ingest(engine, ArxivApiSource(client, api_url, ids=[arxiv_id]), batch_size=1)
    except SourceError as exc:  # the details are for the admin, not the visitor
        log.warning("submission of %s: arXiv unreachable: %s", arxiv_id, exc)
        raise SubmitError(
            "arXiv cannot be reached right now, so the paper could not be fetched; "
            "try again in a little while"
        ) from None
    if not is_stored(engine, arxiv_id):
        reason = report.rejections[0][1] if report.rejections else "no such paper"
        raise SubmitError(f"arXiv has no paper {arxiv_id}: {reason}")


def already_here(engine: Engine, arxiv_id: str, user_id: int) -> Submitted | None:
    """Why the stored paper is in the feed without this user's submission, if it is: an
    earlier submission, or its announcement on the newest day. ``None`` for a hidden paper,
    which the submission itself refuses."""
    card = cards_by_id(engine, [arxiv_id]).get(arxiv_id)
    if card is None:
        return None
    if found := submitter(engine, arxiv_id):
        by, moment = found
        return Submitted(arxiv_id, new=False, submitted_at=moment, yours=by == user_id)
    newest = latest_day(engine, datetime.now(UTC).date())
    if card["announced"] is not None and newest is not None and card["announced"] >= newest:
        return Submitted(arxiv_id, new=False, announced=card["announced"])
    return None
