"""A bounded, thread-safe map of recently made results, for what many visitors ask alike.

Keys name the version of what they hold (a paper's ``changed_at``, the store's latest change),
so a change makes a new key and old ones fall out of use."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Kept(Generic[V]):
    """The ``size`` most recently used results, by key."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The result kept under ``key``, made (outside the lock) and kept if there is none."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        value = make()
        with self._lock:
            self._kept[key] = value
            self._kept.move_to_end(key)
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return value
