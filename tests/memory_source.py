"""A source over records held in memory, for store and pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from paperfeed.records import PaperRecord
from paperfeed.sources.base import Checkpoint, Item


class MemorySource:
    name = "memory"

    def __init__(self, items: Sequence[Item], label: str = "test") -> None:
        self.items = list(items)
        self.label = label
        self.done = 0

    def params(self) -> dict[str, Any]:
        return {"label": self.label}

    def check(self) -> None:
        pass

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        start = checkpoint["index"] if checkpoint else 0
        for index in range(start, len(self.items)):
            self.done = index + 1
            yield self.items[index], {"index": index + 1}

    def progress(self) -> tuple[int, int | None]:
        return self.done, len(self.items)


def paper(arxiv_id: str = "2501.00001", **fields: Any) -> PaperRecord:
    """A valid record with sensible defaults, overridden by ``fields``."""
    values: dict[str, Any] = {
        "title": f"Paper {arxiv_id}",
        "abstract": f"Abstract of {arxiv_id}.",
        "source": "test",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG"],
    }
    return PaperRecord(arxiv_id=arxiv_id, **(values | fields))
