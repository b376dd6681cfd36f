"""The service objects that every entry point shares, built in one place.

The web app, the CLI, the worker and the Python API each hold one :class:`Services`: the
store's engine, the search indexes with the one vector-index handle (search, similar papers,
recommendations and digests read the same copy), the embedding model, the recommender, what
mail needs, the HTTP client for outside sources and the site's secret key. Each part is built
on first use, once per process, so a command that only reads the store loads no model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from paperfeed.digest.content import Digest
from paperfeed.digest.links import Links
from paperfeed.digest.outbox import DeliveryReport
from paperfeed.digest.run import BuildReport, Mailer, next_digest, run_digests
from paperfeed.digest.smtp import SmtpConfig
from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import Embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.recommend import Recommender
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.settings import Settings, secret_key
from paperfeed.sources.http import PoliteClient
from paperfeed.store.database import open_store


class Services:
    """What the web app, the CLI, the worker and the Python API work with."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        searcher: Searcher | None = None,
        http: Callable[[], PoliteClient] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._given_searcher = searcher
        self._http = http
        self._building = threading.RLock()  # web requests run in threads: build each part once

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        engine: Engine | None = None,
        searcher: Searcher | None = None,
        http: Callable[[], PoliteClient] | None = None,
    ) -> Services:
        """The services over ``settings``' store (opened and migrated now); ``engine``,
        ``searcher`` and ``http`` replace the store, the indexes and the HTTP client (tests
        and benchmarks use them)."""
        settings = settings or Settings()
        return cls(settings, engine or open_store(settings.database), searcher=searcher, http=http)

    @cached_property
    def searcher(self) -> Searcher:
        """Search over the indexes in ``settings.index_dir``; the model loads on the first
        semantic query."""
        with self._building:
            if self._given_searcher is not None:
                return self._given_searcher
            settings = self.settings
            return Searcher(
                self.engine,
                LexicalIndex.open(settings.index_dir / "lexical"),
                LiveVectors(settings.index_dir / "dense"),
                self.embedder,
                Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight),
            )

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedding model (it loads on its first use)."""
        with self._building:
            return make_embedder(self.settings)

    @property
    def vectors(self) -> LiveVectors | None:
        """The process's one vector index."""
        return self.searcher.vectors

    @cached_property
    def recommender(self) -> Recommender | None:
        """Recommendations over the shared vector index (none without one)."""
        with self._building:
            vectors = self.vectors
            return Recommender(self.engine, vectors) if vectors is not None else None

    @cached_property
    def secret_key(self) -> str:
        """Signs session cookies and the links in mails."""
        return secret_key(self.settings)

    @cached_property
    def mailer(self) -> Mailer:
        """Signed links, the sender and the mail server (``None``: mail waits in the outbox)."""
        settings = self.settings
        smtp = SmtpConfig.from_url(settings.smtp_url) if settings.smtp_url else None
        return Mailer(Links(settings.public_url, self.secret_key), settings.mail_from, smtp)

    def http(self) -> PoliteClient:
        """A new client that keeps arXiv's pace (``request_delay`` seconds between requests)."""
        if self._http is not None:
            return self._http()
        return PoliteClient(
            delay=self.settings.request_delay,
            user_agent=self.settings.user_agent,
            timeout=self.settings.http_timeout,
        )

    def run_digests(
        self, now: datetime | None = None, progress: Callable[[int], None] | None = None
    ) -> tuple[BuildReport, DeliveryReport]:
        """Queue the due digests and deliver the outbox (see :mod:`paperfeed.digest.run`)."""
        return run_digests(self.engine, self.searcher, self.recommender, self.mailer, now, progress)

    def next_digest(self, subscription: dict[str, Any]) -> Digest:
        """The digest ``subscription`` would get now (a preview)."""
        return next_digest(self.engine, self.searcher, self.recommender, subscription)
