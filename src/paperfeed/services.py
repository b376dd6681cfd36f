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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import httpx
from sqlalchemy import Engine

from paperfeed.digest.content import Digest
from paperfeed.digest.links import Links
from paperfeed.digest.outbox import DeliveryReport
from paperfeed.digest.run import BuildReport, Mailer, next_digest, run_digests
from paperfeed.digest.smtp import SmtpConfig
from paperfeed.digest.webhook_delivery import deliver_webhooks
from paperfeed.digest.webhooks import QueueReport, queue_webhooks
from paperfeed.index.distributed import RayEmbedder
from paperfeed.index.embedders import make_embedder
from paperfeed.index.embedding import Embedder
from paperfeed.index.lexical import LexicalIndex
from paperfeed.index.live import LiveVectors
from paperfeed.ranking.recommend import Recommendation, Recommender
from paperfeed.ranking.search import Searcher, Tuning
from paperfeed.settings import Settings, secret_key
from paperfeed.sources.http import PoliteClient
from paperfeed.store.database import open_store

T = TypeVar("T")


def ray_embedder(
    settings: Settings, address: str, *, gpus: float = 0, workers: int | None = None
) -> RayEmbedder:
    """The configured embedding model run by workers of the Ray cluster at ``address`` (see
    :class:`~paperfeed.index.distributed.RayEmbedder`); close it when done."""
    return RayEmbedder(settings, address, build=make_embedder, gpus=gpus, workers=workers)


class built_once(Generic[T]):
    """A part built on first use under the services' lock, so that two threads (web requests)
    asking at once get one part, not two; afterwards it is a plain instance attribute."""

    def __init__(self, build: Callable[[Services], T]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, services: None, owner: type[Services]) -> built_once[T]: ...
    @overload
    def __get__(self, services: Services, owner: type[Services]) -> T: ...
    def __get__(self, services: Services | None, owner: type[Services]) -> T | built_once[T]:
        if services is None:
            return self
        with services._building:
            if self.name not in vars(services):
                vars(services)[self.name] = self.build(services)
        value: T = vars(services)[self.name]
        return value


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
        self._building = threading.RLock()  # held by built_once; re-entrant: parts use parts

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

    @built_once
    def searcher(self) -> Searcher:
        """Search over the indexes in ``settings.index_dir``; the model loads on the first
        semantic query."""
        if self._given_searcher is not None:
            return self._given_searcher
        settings = self.settings
        return Searcher(
            self.engine,
            self.lexical,
            LiveVectors(self.vectors_folder),
            self.embedder,
            Tuning(settings.hybrid_alpha, settings.feedback_docs, settings.feedback_weight),
        )

    @built_once
    def lexical(self) -> LexicalIndex:
        """The words index (``paperfeed index`` updates it without loading the vectors)."""
        if self._given_searcher is not None:
            return self._given_searcher.lexical
        return LexicalIndex.open(self.settings.index_dir / "lexical")

    @built_once
    def embedder(self) -> Embedder:
        """The configured embedding model (it loads on its first use)."""
        if self._given_searcher is not None and self._given_searcher.embedder is not None:
            return self._given_searcher.embedder
        return make_embedder(self.settings)

    @property
    def vectors(self) -> LiveVectors | None:
        """The process's one vector index."""
        return self.searcher.vectors

    @property
    def vectors_folder(self) -> Path:
        """Where the vector index is saved (a writer, such as the worker, saves there)."""
        given = self._given_searcher
        if given is not None and given.vectors is not None:
            return given.vectors.folder
        return self.settings.index_dir / "dense"

    @built_once
    def recommender(self) -> Recommender | None:
        """Recommendations over the shared vector index (none without one)."""
        vectors = self.vectors
        return Recommender(self.engine, vectors) if vectors is not None else None

    def recommendations(
        self, user: dict[str, Any], tag: str | None, limit: int
    ) -> list[Recommendation]:
        """The user's recommendations (their stored filters and seed applied; the seed only for
        the whole library, not a tag); none without an embedding index yet."""
        if self.recommender is None:
            return []
        seed = (user.get("preferences") or {}).get("seed") if tag is None else None
        embedder = self.searcher.embedder
        vectors = embedder.embed_query(seed) if seed and embedder is not None else None
        return self.recommender.recommend(user["id"], tag=tag, limit=limit, seed_vectors=vectors)

    @built_once
    def secret_key(self) -> str:
        """Signs session cookies and the links in mails."""
        return secret_key(self.settings)

    @built_once
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

    def webhook_client(self) -> httpx.Client:
        """A new client for webhook calls: one try each (the outbox retries), at most
        ``webhook_timeout`` seconds without an answer, redirects not followed."""
        settings = self.settings
        return httpx.Client(
            headers={"User-Agent": settings.user_agent},
            timeout=settings.webhook_timeout,
            follow_redirects=False,
        )

    def run_webhooks(
        self, now: datetime | None = None, *, limit: int | None = None
    ) -> tuple[QueueReport, DeliveryReport]:
        """Queue the follows' new papers for their webhooks and make the due calls, at most
        ``limit`` (see :mod:`paperfeed.digest.webhooks`)."""
        queued = queue_webhooks(
            self.engine, self.searcher, self.mailer.links, now or datetime.now(UTC)
        )
        allow_private = self.settings.webhook_allow_private
        with self.webhook_client() as client:
            delivered = deliver_webhooks(
                self.engine,
                client,
                allow_private=allow_private,
                mailer=self.mailer,
                now=now,
                limit=limit,
            )
        return queued, delivered

    def run_digests(
        self, now: datetime | None = None, progress: Callable[[int], None] | None = None
    ) -> tuple[BuildReport, DeliveryReport]:
        """Queue the due digests and deliver the outbox (see :mod:`paperfeed.digest.run`)."""
        return run_digests(self.engine, self.searcher, self.recommender, self.mailer, now, progress)

    def next_digest(self, subscription: dict[str, Any]) -> Digest:
        """The digest ``subscription`` would get now (a preview)."""
        return next_digest(self.engine, self.searcher, self.recommender, subscription)
