"""Scheduled syncs: arXiv's announcements by RSS after each announcement, and Hugging Face's
daily papers (upvotes, organisations, links, summaries) every ``sync_hf_every`` hours.

Each sync is one or more ordinary ingest runs (:func:`paperfeed.ingest.pipeline.ingest`), so
it is idempotent and an interrupted one resumes; the time of the last successful sync of
each kind is the newest completed run of its source in the ingest runs table (a
``paperfeed ingest rss|hf-daily`` by hand counts too). The worker runs the due ones;
``paperfeed sync`` runs them now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from paperfeed.arxiv_calendar import latest_feed_update
from paperfeed.settings import Settings
from paperfeed.sources.base import Source
from paperfeed.sources.hf_daily import HfDailySource
from paperfeed.sources.http import PoliteClient
from paperfeed.sources.rss import RssSource
from paperfeed.store.runs import last_completed

RSS = RssSource.name
HF_DAILY = HfDailySource.name
KINDS = (RSS, HF_DAILY)
HF_DAYS = 2  # today's list and yesterday's, whose papers still gather votes


def enabled(settings: Settings) -> list[str]:
    """The kinds of sync the settings ask for (the ``sync`` switch aside)."""
    wanted = {RSS: bool(settings.sync_category_list), HF_DAILY: settings.sync_hf_daily}
    return [kind for kind in KINDS if wanted[kind]]


def due(engine: Engine, settings: Settings, now: datetime) -> list[str]:
    """The enabled kinds of sync due at ``now``: RSS when arXiv's feeds took in an
    announcement since it last ran, Hugging Face when it last ran ``sync_hf_every`` hours ago
    or more."""
    every = timedelta(hours=settings.sync_hf_every)
    found = []
    for kind in enabled(settings):
        last = last_completed(engine, kind)
        if (
            last is None
            or (kind == RSS and last < latest_feed_update(now))
            or (kind == HF_DAILY and now - last >= every)
        ):
            found.append(kind)
    return found


def sources(kind: str, settings: Settings, client: PoliteClient, now: datetime) -> list[Source]:
    """The sources one sync of ``kind`` imports, in order."""
    if kind == RSS:
        return [RssSource(client, settings.arxiv_rss_url, settings.sync_category_list)]
    if kind == HF_DAILY:
        today = now.date()
        days = [today - timedelta(days=n) for n in reversed(range(HF_DAYS))]
        return [HfDailySource.from_api(client, settings.hf_daily_papers_url, d) for d in days]
    raise ValueError(f"no sync {kind!r}: {' or '.join(KINDS)}")
