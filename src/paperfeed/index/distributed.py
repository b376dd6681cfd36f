"""Embedding on a Ray cluster: the configured model in a pool of Ray actors.

:class:`RayEmbedder` is an :class:`~paperfeed.index.embedding.Embedder` whose documents are
embedded by workers of a Ray cluster, so :func:`paperfeed.index.dense.embed_pending` keeps
reading pending papers from the store and committing their vectors here, round after round:
only texts and vectors travel. The actors live as long as the embedder, not one round: Ray
Data's ``map_batches`` starts a new actor pool (process, imports, model) for every dataset,
which cost ~5 s per round on 2 cores (ray-project/ray#46479), so rounds go to the actors
directly (~5 ms a round besides embedding).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from paperfeed.index.embedding import Embedder, EmbeddingError
from paperfeed.settings import Settings

if TYPE_CHECKING:
    from ray.actor import ActorHandle

INSTALL = "pip install 'paperfeed[ray]'"
ROUND = 8  # batches per worker in a round: workers wait while a round is committed and the
# next one read, so a round should be long against that


class EmbedWorker:
    """One Ray actor: the embedder ``build(settings)`` gives, as it would be in-process."""

    def __init__(self, settings: Settings, build: Callable[[Settings], Embedder]) -> None:
        self.embedder = build(settings)
        self.embedder.embed_documents(["warm up"])  # load the model now, not in the first call

    def embed(self, start: int, texts: list[str]) -> tuple[int, np.ndarray]:
        """The vectors of ``texts``, which start at row ``start`` of the round."""
        return start, self.embedder.embed_documents(texts)


class RayEmbedder:
    """The model ``build(settings)`` gives, run by ``workers`` Ray actors (as many as the
    cluster's CPUs, or GPUs with ``gpus`` per worker, allow) on the cluster at ``address``:
    ``local`` starts one in this process, ``auto`` joins the one this machine belongs to,
    ``ray://HOST:10001`` connects as a Ray client (a connection this process already has is
    used as it is). Queries are embedded in this process. Use it as a context manager (or
    call :meth:`close`): the actors, and a connection it opened, end with it."""

    def __init__(
        self,
        settings: Settings,
        address: str,
        *,
        build: Callable[[Settings], Embedder],
        gpus: float = 0,
        workers: int | None = None,
    ) -> None:
        ray = _ray()
        self._here = build(settings)  # loads its model on first use (a query)
        self.model = self._here.model
        self.batch_size = settings.embedding_batch_size
        self._connected = not ray.is_initialized()
        if self._connected:
            try:
                ray.init(address, logging_level=logging.ERROR, log_to_driver=False)
            except (ConnectionError, ValueError) as exc:
                raise EmbeddingError(f"cannot connect to Ray at {address!r}: {exc}") from None
        try:
            workers = _fit(ray.cluster_resources(), gpus, workers)
            actor = ray.remote(num_cpus=1, num_gpus=gpus)(EmbedWorker)
            self._actors: list[ActorHandle] = [
                actor.remote(settings, build) for _ in range(workers)
            ]
        except BaseException:
            self.close()
            raise

    @property
    def dim(self) -> int:
        return self._here.dim

    @property
    def workers(self) -> int:
        return len(self._actors)

    @property
    def round_size(self) -> int:
        """How many texts to give :meth:`embed_documents` at once to keep every worker busy."""
        return self.workers * self.batch_size * ROUND

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of ``texts`` in their order, from batches spread over the workers."""
        from ray.exceptions import RayActorError
        from ray.util import ActorPool

        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), np.float32)
        step = self.batch_size
        batches = [(start, texts[start : start + step]) for start in range(0, len(texts), step)]
        try:
            found = dict(ActorPool(self._actors).map_unordered(_embed, batches))
        except RayActorError as exc:
            raise EmbeddingError(f"a Ray worker stopped: {exc}") from None
        return np.concatenate([found[start] for start, _ in batches])

    def embed_query(self, text: str) -> np.ndarray:
        return self._here.embed_query(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._here.embed_queries(texts)

    def close(self) -> None:
        """End the actors, and the connection to Ray if this embedder opened it."""
        ray = _ray()
        for actor in getattr(self, "_actors", []):
            ray.kill(actor)
        self._actors = []
        if self._connected:
            ray.shutdown()
            self._connected = False

    def __enter__(self) -> RayEmbedder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _embed(actor: ActorHandle, batch: tuple[int, list[str]]) -> Any:
    return actor.embed.remote(*batch)


def _fit(resources: dict[str, float], gpus: float, workers: int | None) -> int:
    """How many workers of 1 CPU and ``gpus`` GPUs to start: ``workers``, or as many as the
    cluster holds now; more than it holds would wait for ever."""
    cpus, cluster_gpus = resources.get("CPU", 0), resources.get("GPU", 0)
    fits = int(min(cpus, cluster_gpus // gpus if gpus else cpus))
    if workers is None:
        workers = fits
    if not 1 <= workers <= fits:
        asked = f"{workers} workers" if workers > 1 else "a worker"
        raise EmbeddingError(
            f"the Ray cluster has {cpus:g} CPUs and {cluster_gpus:g} GPUs: too few for "
            f"{asked} of 1 CPU and {gpus:g} GPUs each"
        )
    return workers


def _ray() -> Any:
    """The ``ray`` module, or an error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise EmbeddingError(f"embedding on Ray needs Ray: {INSTALL}") from None
    return ray
