"""The background worker: it keeps the search indexes up to date with the store, and sends
the digests.

The web process only records papers (a submission is indexed by its words at once); the
worker does the rest, in rounds: words of the papers changed since its last round, then up to
``ROUND`` embeddings in queue order (papers submitted on the site, then the newest announced;
see :func:`paperfeed.store.vectors.pending_batches`), then the key phrases of up to ``ROUND``
papers embedded and not yet given theirs (:mod:`paperfeed.index.keyphrases`), then the papers
embedded since into the topics, or a refit of the topics when one is due (weekly; see
:mod:`paperfeed.index.topics`: minutes at 100,000s of papers, stored in one transaction), then a new
vector-index generation when
enough has changed (the first embeddings after a start, then at most once every
``SAVE_EVERY`` seconds, and when the backlog is done), then, once no embeddings are left, the
similar papers of up to ``ROUND`` papers that lack current ones (the newest announced and the
submitted first, then stale ones: :func:`paperfeed.ranking.similar.refresh_similar`). Every
write is committed a batch at a time, so stopping (or killing) it loses at most the batch in
flight, which the next round redoes. ``paperfeed worker`` runs it; ``paperfeed serve
--worker`` runs it in a child process beside the web app.

When ``sync`` is on, each round first runs the syncs that are due
(:mod:`paperfeed.ingest.sync`): arXiv's announcements after each announcement, Hugging Face's
daily papers every few hours; their new papers are indexed in the same round. A sync that
cannot reach its server logs one line and is tried again later, after waits that double.

Every ``WEBHOOKS_EVERY`` seconds a round also queues the follows' new papers for their webhooks
and makes the due calls (:mod:`paperfeed.digest.webhooks`); a receiver that does not answer
holds a round for at most ``webhook_timeout`` seconds per call, and a round makes at most
``WEBHOOK_CALLS`` calls.

Each digest run does only what is due, so the interval only bounds how late after a
subscriber's hour the digest goes out. Several workers (or cron as well) may run it: the
outbox keeps each digest unique.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

from paperfeed.index.dense import VectorIndex, embed_pending
from paperfeed.index.keyphrases import compute_keywords
from paperfeed.index.topics import TooFewPapers, TopicsUnavailable, assign_new, refit, refit_due
from paperfeed.ingest import sync
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.similar import refresh_similar
from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.sources.base import SourceError
from paperfeed.store.changes import latest_change
from paperfeed.store.runs import RunInProgress

log = logging.getLogger("paperfeed.worker")

POLL = 5.0  # seconds between looks for new work when there is none
ROUND = 512  # papers embedded between looks at the words index and at new submissions
SAVE_EVERY = 60.0  # seconds: at most one vector-index generation this often while busy
GRACE = 3.0  # seconds a stopping worker may take to finish its batch before it exits anyway
BACKOFF = 300.0  # seconds: the longest wait after rounds that keep failing
SYNC_RETRY = 60.0  # seconds before a sync that failed is tried again; doubles while failing
SYNC_BACKOFF = 3600.0  # seconds: the longest wait between syncs that keep failing
WEBHOOKS_EVERY = 60.0  # seconds between looks for the webhooks' new papers and due calls
# calls a round makes at most: receivers that do not answer hold it for a bounded time
WEBHOOK_CALLS = 20
TOPICS_RETRY = 3600.0  # seconds before a refit that found too few papers is tried again


@dataclass
class RoundReport:
    synced: int = 0  # new papers from syncs
    words: int = 0  # papers (re)indexed by their words
    embedded: int = 0
    keywords: int = 0  # papers given key phrases
    placed: int = 0  # papers placed in topics
    refit: bool = False  # the topics fitted again
    saved: bool = False  # a new vector-index generation
    similar: int = 0  # papers given their similar papers

    def __bool__(self) -> bool:
        done = (self.synced, self.words, self.embedded, self.keywords, self.placed)
        return any(done) or self.refit or self.saved or bool(self.similar)


class Worker:
    """Rounds of index maintenance over ``services`` until ``stop`` is set."""

    def __init__(
        self,
        services: Services,
        stop: threading.Event,
        *,
        poll: float = POLL,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.services = services
        self.stop = stop
        self.poll = poll
        self.clock = clock  # what time it is for the sync schedule
        self._vectors = VectorIndex(services.vectors_folder)  # the writer
        self._unsaved = 0  # embeddings not in a saved generation yet
        self._saved_at = 0.0  # monotonic; 0: nothing saved since the start
        self._clean_at: datetime | None = None  # newest change when nothing was left to embed
        self._sync_failures = 0  # syncs failed in a row
        self._sync_after = 0.0  # monotonic: no sync before (after failures)
        self._webhooks_after = 0.0  # monotonic: no look at the webhooks before
        self._topics_after = 0.0  # monotonic: no refit before
        self._topics_off = False  # the topics extra is not installed

    def run(self) -> None:
        """Work rounds until stopped, resting ``poll`` seconds after a round with nothing to
        do. A failed round is logged and the next one tries again, after waits that double
        while rounds keep failing (up to :data:`BACKOFF`); the traceback is logged once."""
        log.info("worker started on %s", self.services.settings.database)
        failures = 0
        while not self.stop.is_set():
            try:
                report = self.round()
            except Exception as error:  # keep working: a later round retries what this could not
                failures += 1
                wait = min(self.poll * 2 ** (failures - 1), BACKOFF)
                if failures == 1:
                    log.exception("worker round failed; trying again in %.0f s", wait)
                else:
                    log.error(
                        "worker round failed again (%d in a row): %s; trying again in %.0f s",
                        failures,
                        error,
                        wait,
                    )
                self.stop.wait(wait)
                continue
            if failures:
                log.info("worker round succeeded after %d failed", failures)
                failures = 0
            if not report:
                self.stop.wait(self.poll)
        log.info("worker stopped")

    def round(self) -> RoundReport:
        """One round: the due syncs, words, then embeddings, then a vector-index generation
        if due."""
        report = RoundReport(synced=self._sync())
        if self.stop.is_set():
            return report
        report.words = self._update_words()
        if self.stop.is_set():
            return report
        latest = latest_change(self.services.engine)
        if self._clean_at is None or latest != self._clean_at:
            report.embedded = self._embed()
            if not self.stop.is_set():
                report.keywords = self._keywords()
            if not self.stop.is_set():
                report.placed, report.refit = self._topics()
            pending = report.embedded or report.keywords or report.placed
            if not pending and not self.stop.is_set():
                self._clean_at = latest  # nothing pending until a paper changes again
        report.saved = self._save_if_due(backlog_done=report.embedded < ROUND)
        if report.embedded < ROUND and not self.stop.is_set():  # similar papers wait for vectors
            report.similar = self._similar()
        if report:
            log.info(
                "worker: %s new from syncs, %s words, %s embedded, %s given key phrases, "
                "%s placed in topics, %s given similar papers%s%s",
                report.synced,
                report.words,
                report.embedded,
                report.keywords,
                report.placed,
                report.similar,
                ", topics refitted" if report.refit else "",
                ", new vector index" if report.saved else "",
            )
        if not self.stop.is_set() and time.monotonic() >= self._webhooks_after:
            self._webhooks()
        return report

    def _webhooks(self) -> None:
        """Queue the webhooks' new papers (indexed by now) and make some of the due calls."""
        self._webhooks_after = time.monotonic() + WEBHOOKS_EVERY
        queued, delivered = self.services.run_webhooks(limit=WEBHOOK_CALLS)
        if queued.calls or delivered.tried:
            log.info("webhooks: %s; %s", queued, delivered)

    def _sync(self) -> int:
        """Run the due syncs; the number of new papers. A sync that fails (no network, a
        server down, another process importing the same) stops this round's syncs: the first
        failure in a row is logged in one line, and the next try waits twice as long each time
        (from :data:`SYNC_RETRY` up to :data:`SYNC_BACKOFF`)."""
        settings = self.services.settings
        if not settings.sync or time.monotonic() < self._sync_after:
            return 0
        now = self.clock()
        new = 0
        for kind in sync.due(self.services.engine, settings, now):
            client = self.services.http()
            try:
                for source in sync.sources(kind, settings, client, now):
                    if self.stop.is_set():
                        return new
                    # finished by the schedule's clock, which says when the next one is due
                    engine, size = self.services.engine, settings.batch_size
                    report = ingest(engine, source, batch_size=size, now=now)
                    log.info(
                        "sync %s (%s): %s new, %s updated, %s unchanged, %s rejected",
                        kind,
                        ", ".join(str(value) for value in source.params().values()),
                        report.new,
                        report.updated,
                        report.unchanged,
                        report.rejected,
                    )
                    new += report.new
            except (SourceError, RunInProgress) as error:
                self._sync_failed(kind, error)
                return new
            finally:
                client.close()
        if self._sync_failures:
            log.info("syncs resumed after %d failed tries", self._sync_failures)
            self._sync_failures = 0
        return new

    def _sync_failed(self, kind: str, error: Exception) -> None:
        self._sync_failures += 1
        wait = min(SYNC_RETRY * 2 ** (self._sync_failures - 1), SYNC_BACKOFF)
        self._sync_after = time.monotonic() + wait
        if self._sync_failures == 1:
            log.warning(
                "syncs paused: the %s sync failed: %s. Trying again in %.0f min, then less "
                "and less often; PAPERFEED_SYNC=false turns syncs off",
                kind,
                error,
                wait / 60,
            )
        else:
            log.debug("sync %s failed again (%d in a row): %s", kind, self._sync_failures, error)

    def _update_words(self) -> int:
        try:
            return self.services.lexical.update(self.services.engine)
        except ValueError:  # another process holds the writer; it indexes these papers
            log.debug("words index busy; left to the other writer")
            return 0

    def _embed(self) -> int:
        services = self.services
        done = embed_pending(
            services.engine,
            services.embedder,
            batch_size=services.settings.embedding_commit_size,
            limit=ROUND,
            stop=self.stop,
        )
        self._unsaved += done
        return done

    def _keywords(self) -> int:
        services = self.services
        return compute_keywords(
            services.engine,
            services.embedder,
            services.lexical,
            limit=ROUND,
            embedded_only=True,  # the others get theirs once embedded
            stop=self.stop,
        )

    def _similar(self) -> int:
        services = self.services
        return refresh_similar(
            services.engine, services.lexical, self._vectors, limit=ROUND, stop=self.stop
        )

    def _topics(self) -> tuple[int, bool]:
        """Refit the topics if due (weekly), else place the papers embedded since: ``(papers
        placed, refitted)``. Without the ``topics`` extra or enough embedded papers, it logs
        once and leaves topics be (the next try after :data:`TOPICS_RETRY`)."""
        engine, model = self.services.engine, self.services.embedder.model
        if self._topics_off:
            return 0, False
        if refit_due(engine, model, self.clock()) and time.monotonic() >= self._topics_after:
            try:
                fitted = refit(engine, model, note=log.info, stop=self.stop)
            except TopicsUnavailable as error:
                log.info("no topics: %s", error)
                self._topics_off = True
                return 0, False
            except TooFewPapers as error:
                log.info("no topics yet: %s", error)
                self._topics_after = time.monotonic() + TOPICS_RETRY
                return 0, False
            return (fitted.papers, True) if fitted else (0, False)
        return assign_new(engine, model, limit=ROUND, stop=self.stop), False

    def _save_if_due(self, *, backlog_done: bool) -> bool:
        """Save a new generation: the first embeddings after the start, then at most every
        ``SAVE_EVERY`` seconds, and once the backlog is done (also when the coverage the
        index reports changed: papers arrived that no round embedded yet)."""
        first = self._saved_at == 0.0
        if not (self._unsaved or first) or self.stop.is_set():
            return False
        due = first or backlog_done or time.monotonic() - self._saved_at >= SAVE_EVERY
        if not due:
            return False
        before = self._vectors.coverage
        update = self._vectors.update(self.services.engine, self.services.embedder.model)
        self._unsaved, self._saved_at = 0, time.monotonic()
        return bool(update.added or update.removed or self._vectors.coverage != before)


def run_worker(settings: Settings, *, parent: int | None = None) -> None:
    """Run a worker in this process until SIGTERM or Ctrl-C (or, with ``parent``, until that
    process is gone), with the digest schedule when mail is configured. A stop lets the batch
    in flight finish for up to ``GRACE`` seconds, then exits without it."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    services = Services.from_settings(settings)
    if settings.smtp_url and settings.digest_minutes:
        start_digest_schedule(services, stop)
    threading.Thread(target=_exit_when_stuck, args=(stop,), daemon=True).start()
    if parent is not None:
        threading.Thread(target=_stop_with_parent, args=(parent, stop), daemon=True).start()
    Worker(services, stop).run()


def _exit_when_stuck(stop: threading.Event) -> None:
    stop.wait()
    time.sleep(GRACE)
    log.warning("worker stopped within a batch: it is redone on the next start")
    os._exit(0)  # the batch in flight is not committed; nothing is half-written


def _stop_with_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.info("the server is gone; worker stopping")
            stop.set()


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
