"""When a subscription's digest is due, and which papers' arrival days it covers.

A daily digest comes on weekdays, a weekly one in the week from Monday, each once the
subscriber's local clock has passed their hour ("morning" where they are). The period's key
(the local day, or the ISO week) makes each digest unique in the outbox, so any number of
runs in a period queue it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from paperfeed.store.schema import Frequency

# Days of arrivals a digest looks back over. Papers an earlier digest of the same
# subscription carried are left out, so the slack only catches papers ingested late (or
# announced over a weekend or holiday) without repeating any.
LOOK_BACK = {Frequency.DAILY: 4, Frequency.WEEKLY: 7}


@dataclass(frozen=True)
class Period:
    """One digest's period: its key, the local day it is for, and the arrival days covered."""

    key: str
    day: date
    first: date
    label: str


def due_period(frequency: Frequency, zone: str, hour: int, now: datetime) -> Period | None:
    """The period whose digest is due at ``now`` for this subscriber, or ``None`` (a weekend
    for a daily digest, or before the hour)."""
    local = now.astimezone(ZoneInfo(zone))
    if local.hour < hour or (frequency == Frequency.DAILY and local.weekday() >= 5):
        return None
    return period_of(frequency, local.date())


def period_of(frequency: Frequency, day: date) -> Period:
    """The daily or weekly period ``day`` falls in."""
    first = day - timedelta(days=LOOK_BACK[frequency] - 1)
    if frequency == Frequency.DAILY:
        return Period(day.isoformat(), day, first, f"{day:%A} {day.day} {day:%B %Y}")
    year, week, _ = day.isocalendar()
    return Period(f"{year}-W{week:02d}", day, first, f"week {week} of {year}")
