"""source -> validate -> upsert in batches, one transaction per batch with its checkpoint."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from paperfeed.records import PaperRecord, RecordError, Withdrawal, validate
from paperfeed.sources.base import Checkpoint, Item, Rejected, Source
from paperfeed.store import runs
from paperfeed.store.papers import write_batch

ProgressCallback = Callable[[int, int | None], None]


@dataclass
class Report:
    """The closing report of an ingest run (counts cover the whole run, resumed or not)."""

    run_id: int
    resumed: bool
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    withdrawn: int = 0
    processed: int = 0  # records handled by this invocation (a resumed run did some before)
    seconds: float = 0.0
    rejections: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged + self.rejected + self.withdrawn


def ingest(
    engine: Engine,
    source: Source,
    *,
    batch_size: int = 1000,
    on_progress: ProgressCallback | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> Report:
    """Import everything ``source`` yields. The input is checked before the first write; an
    interrupted run of the same input resumes from its last committed batch. ``now``: the time
    the run counts as finished at (the worker's schedule clock), and ``today`` by default."""
    started = time.perf_counter()
    source.check()
    run = runs.start_run(engine, source.name, source.params())
    today = today or (now or datetime.now(UTC)).date()
    processed = 0
    try:
        for batch in _batched(source.read(run.checkpoint), batch_size):
            _commit(engine, run.id, batch, today)
            processed += len(batch)
            if on_progress:
                on_progress(*source.progress())
    except BaseException as exc:  # the run must say it stopped, whatever stopped it
        runs.finish_run(engine, run.id, error=str(exc) or type(exc).__name__, at=now)
        raise
    row = runs.finish_run(engine, run.id, at=now)
    return Report(
        run_id=run.id,
        resumed=run.resumed,
        processed=processed,
        seconds=time.perf_counter() - started,
        rejections=runs.run_rejections(engine, run.id),
        **{name: row[name] for name in runs.COUNTERS},
    )


def _commit(engine: Engine, run_id: int, batch: list[tuple[Item, Checkpoint]], today: date) -> None:
    records: list[PaperRecord] = []
    withdrawn: list[str] = []
    rejected: list[tuple[str, str]] = []
    for item, _ in batch:
        if isinstance(item, Rejected):
            rejected.append((item.location, item.reason))
        elif isinstance(item, Withdrawal):
            withdrawn.append(item.arxiv_id)
        else:
            try:
                records.append(validate(item))
            except RecordError as exc:
                rejected.append((f"{item.source} {item.arxiv_id}", str(exc)))
    with engine.begin() as conn:
        counts = write_batch(conn, records, withdrawn, today)
        runs.save_progress(
            conn,
            run_id,
            batch[-1][1],
            {**vars(counts), "rejected": len(rejected)},
            rejected,
        )


def _batched(items: Iterable, size: int) -> Iterable[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
