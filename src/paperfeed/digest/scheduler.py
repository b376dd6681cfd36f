"""``paperfeed serve``'s digest schedule: ``run_digests`` every few minutes in a thread.

Each run does only what is due, so the interval only bounds how late after a subscriber's
hour the digest goes out. Several servers (or cron as well) may run it: the outbox keeps each
digest unique.
"""

from __future__ import annotations

import logging
import threading

from paperfeed.digest.run import run_digests
from paperfeed.ranking.search import open_searcher
from paperfeed.settings import Settings
from paperfeed.store.database import open_store

log = logging.getLogger("paperfeed.digest")


def start_schedule(settings: Settings, stop: threading.Event) -> threading.Thread:
    """Run the digests now and then every ``settings.digest_minutes`` until ``stop`` is set;
    a failed run is logged and the next one tries again."""

    def loop() -> None:
        engine = open_store(settings.database)
        searcher = open_searcher(settings, engine)
        while not stop.is_set():
            try:
                built, delivered = run_digests(settings, engine, searcher)
                if built.queued or delivered.sent or delivered.failed:
                    log.info("digests: %s; %s", built, delivered)
            except Exception:  # the server must keep serving; the next run retries
                log.exception("digest run failed; trying again in %s min", settings.digest_minutes)
            stop.wait(settings.digest_minutes * 60)

    thread = threading.Thread(target=loop, name="paperfeed-digests", daemon=True)
    thread.start()
    return thread
