"""A user submits a paper by arXiv id or URL: fetched from the arXiv API unless stored."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.ingest.pipeline import ingest
from paperfeed.sources.arxiv_api import ArxivApiSource
from paperfeed.sources.base import SourceError
from paperfeed.sources.http import PoliteClient
from paperfeed.store.activity import record_submission
from paperfeed.store.queries import is_stored

log = logging.getLogger("paperfeed.ingest")


class SubmitError(ValueError):
    """A submission that cannot be taken, with the reason to show the user."""


def submit_paper(
    engine: Engine, client: PoliteClient, api_url: str, text: str, user_id: int
) -> str:
    """Add the paper ``text`` names (``2401.12345``, ``arXiv:2401.12345v2``, an abs or PDF
    URL) for ``user_id``, fetching it from arXiv if the store lacks it; return its id."""
    try:
        arxiv_id = parse_arxiv_id(text[:300]).id
    except InvalidArxivId:
        raise SubmitError(
            f"{text[:80]!r} is not an arXiv id or URL (e.g. 2401.12345 or "
            "https://arxiv.org/abs/2401.12345)"
        ) from None
    if not is_stored(engine, arxiv_id):
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
    record_submission(engine, user_id, arxiv_id)
    return arxiv_id
