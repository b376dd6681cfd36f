"""Jobs that run beside the web app: the digest schedule of ``paperfeed serve``.

Each digest run does only what is due, so the interval only bounds how late after a
subscriber's hour the digest goes out. Several servers (or cron as well) may run it: the
outbox keeps each digest unique.
"""

from __future__ import annotations

import logging
import threading

from paperfeed.services import Services

log = logging.getLogger("paperfeed.worker")


def start_digest_schedule(services: Services, stop: threading.Event) -> threading.Thread:
    """Run the digests now and then every ``digest_minutes`` until ``stop`` is set; a failed
    run is logged and the next one tries again."""
    minutes = services.settings.digest_minutes

    def loop() -> None:
        while not stop.is_set():
            try:
                built, delivered = services.run_digests()
                if built.queued or delivered.sent or delivered.failed:
                    log.info("digests: %s; %s", built, delivered)
            except Exception:  # the server must keep serving; the next run retries
                log.exception("digest run failed; trying again in %s min", minutes)
            stop.wait(minutes * 60)

    thread = threading.Thread(target=loop, name="paperfeed-digests", daemon=True)
    thread.start()
    return thread
