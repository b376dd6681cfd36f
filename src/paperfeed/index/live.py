"""The process's one vector index, swapped for the newest generation another process saved."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from paperfeed.index.dense import VectorIndex

RECHECK = 1.0  # seconds between looks for a newer generation on disk


class LiveVectors:
    """Search, similar papers, recommendations and digests share this handle: one index in
    memory, reloaded in one place when ``paperfeed index`` (or a worker) saves a newer one.
    A caller keeps the :class:`VectorIndex` it got, so a reload never changes an index under
    a running search."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._index = VectorIndex(self.folder)
        self._checked = time.monotonic()
        self._loading = threading.Lock()

    def current(self) -> VectorIndex:
        """The newest saved generation (looked for at most once every ``RECHECK`` seconds)."""
        if time.monotonic() - self._checked >= RECHECK:
            with self._loading:
                if time.monotonic() - self._checked >= RECHECK:
                    self._checked = time.monotonic()
                    if self._index.outdated():
                        self._index = VectorIndex(self.folder)
        return self._index
