"""arXiv's announcement schedule: when a submission shows up in the daily listing.

Submissions received before the 14:00 US Eastern deadline on a weekday are announced at
20:00 that evening and listed under the next weekday's date; a Friday deadline's mailing
is listed on Monday (https://info.arxiv.org/help/availability.html). Holidays are ignored,
so the result is an estimate for sources that do not state the announcement day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
DEADLINE = time(14, 0)


def next_weekday(day: date) -> date:
    """The first Monday-to-Friday day strictly after ``day``."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def estimate_announcement(submitted: datetime) -> date:
    """The listing date of a paper first submitted at ``submitted`` (an aware datetime)."""
    local = submitted.astimezone(EASTERN)
    deadline_day = local.date()
    if local.time() >= DEADLINE or deadline_day.weekday() >= 5:
        deadline_day = next_weekday(deadline_day)
    return next_weekday(deadline_day)


FEED_UPDATE = time(0, 10)  # arXiv's RSS feeds are rebuilt at midnight; a margin for that


def latest_feed_update(now: datetime) -> datetime:
    """When arXiv's RSS feeds last took in an announcement, at or before ``now`` (aware):
    they are rebuilt at midnight US Eastern (https://info.arxiv.org/help/rss.html), with
    Sunday to Thursday evening's announcement on Monday to Friday (taken here as a few
    minutes past midnight)."""
    day = now.astimezone(EASTERN).date()
    while True:
        update = datetime.combine(day, FEED_UPDATE, EASTERN)
        if day.weekday() < 5 and update <= now:
            return update
        day -= timedelta(days=1)
