"""A bounded, thread-safe map of recently made results, for what many visitors ask alike.

Keys name the version of what they hold (a paper's ``changed_at``, the store's latest change),
so a change makes a new key and old ones fall out of use. What has no version to name (similar
papers follow vectors and readers' libraries too) is kept for at most ``ttl`` seconds."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    """The ``size`` most recently used results, by key, each for ``ttl`` seconds at most."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self._size, self._ttl = size, ttl
        self._kept: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The result kept under ``key``, made (outside the lock) and kept if there is none."""
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(key)
            if found is not None and (self._ttl is None or now - found[0] < self._ttl):
                self._kept.move_to_end(key)
                return found[1]
        value = make()
        with self._lock:
            self._kept[key] = (now, value)
            self._kept.move_to_end(key)
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value
