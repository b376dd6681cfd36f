"""What every source adapter yields, and the error that stops a run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from paperfeed.records import PaperRecord, Withdrawal

Checkpoint = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the source could not turn into a :class:`PaperRecord`; the run goes on."""

    location: str
    reason: str


Item = PaperRecord | Withdrawal | Rejected


class SourceError(Exception):
    """The input as a whole is unusable (bad gzip, broken XML, not JSON, wrong schema, HTTP
    failure). The message is one line saying what and where; the run stops."""


class Source(Protocol):
    """A source adapter: yields items, each with the checkpoint to resume *after* it."""

    name: str

    def params(self) -> dict[str, object]:
        """What identifies this run's input, so an interrupted run can be found and resumed."""
        ...

    def check(self) -> None:
        """Verify the whole input before anything is written; raise :class:`SourceError`."""
        ...

    def read(self, checkpoint: Checkpoint | None) -> Iterator[tuple[Item, Checkpoint]]:
        """Yield ``(item, checkpoint)``, starting after ``checkpoint`` when one is given."""
        ...

    def progress(self) -> tuple[int, int | None]:
        """Work done and total work (bytes, records or pages; total ``None`` if unknown)."""
        ...
