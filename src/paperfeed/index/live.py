"""The process's one vector index, swapped for the newest generation another process saved."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from paperfeed.index.dense import MEANWHILE, Saved, VectorIndex, saved_generation
from paperfeed.index.integrity import REBUILD, BrokenIndex, set_aside

RECHECK = 1.0  # seconds between looks for a newer generation on disk

log = logging.getLogger("paperfeed.index")


class LiveVectors:
    """Search, similar papers, recommendations and digests share this handle: one index in
    memory, reloaded in one place when ``paperfeed index`` (or a worker) saves a newer one.
    A caller keeps the :class:`VectorIndex` it got, so a reload never changes an index under
    a running search. The graph is memory-mapped (viewed), not read into RAM. A newer
    generation that fails its checks is not swapped in (the one in memory keeps serving, and
    the admin is told once); one whose vectors file shrinks under this process is dropped
    before it is read (see :meth:`VectorIndex.check`)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._index = VectorIndex(self.folder, view=True)
        self._checked = time.monotonic()
        self._loading = threading.Lock()
        self._refused: Saved | str | None = None  # the save last found broken, not retried

    def current(self) -> VectorIndex:
        """The newest saved generation (looked for at most once every ``RECHECK`` seconds)."""
        index = self._index
        try:
            index.check()  # one fstat: a mapping read past the end of its file is a SIGBUS
        except BrokenIndex as exc:
            with self._loading:
                if self._index is index:  # the folder's vectors file is cut short: unusable
                    set_aside(self.folder, str(exc), MEANWHILE)
                    self._index = VectorIndex(self.folder, view=True)
        if time.monotonic() - self._checked >= RECHECK:
            with self._loading:
                if time.monotonic() - self._checked >= RECHECK:
                    self._checked = time.monotonic()
                    self._reload()
        return self._index

    def _reload(self) -> None:
        """Swap in the generation saved since the one in memory, if it passes its checks."""
        try:
            saved = saved_generation(self.folder)
        except BrokenIndex as exc:  # an unreadable meta.json: named by the error
            self._refuse(str(exc), exc)
            return
        if saved is None or saved in (self._index.saved, self._refused):
            return
        try:
            self._index = VectorIndex(self.folder, strict=True, view=True)
        except BrokenIndex as exc:
            self._refuse(saved, exc)

    def _refuse(self, save: Saved | str, problem: BrokenIndex) -> None:
        """Keep the index in memory and tell the admin, once for each broken save."""
        if save != self._refused:
            self._refused = save
            log.error(
                "%s: the generation saved last fails its checks (%s); searches keep the one "
                "loaded before; %s",
                self.folder,
                problem,
                REBUILD,
            )
