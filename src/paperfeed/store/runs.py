"""Ingest runs: their checkpoints, counts and rejections, so an interrupted run can resume."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from paperfeed.store.schema import RunStatus
from paperfeed.store.schema import ingest_rejections as rejections
from paperfeed.store.schema import ingest_runs as runs

COUNTERS = ("new", "updated", "unchanged", "rejected", "withdrawn")


class RunInProgress(RuntimeError):
    """Another live process is running an ingest of the same input."""


@dataclass
class Run:
    id: int
    checkpoint: dict[str, Any] | None
    resumed: bool


def start_run(engine: Engine, source: str, params: dict[str, object]) -> Run:
    """Resume the unfinished run of the same source and input, or start a new one."""
    with engine.begin() as conn:
        unfinished = conn.execute(
            select(runs.c.id, runs.c.params, runs.c.checkpoint, runs.c.pid)
            .where(
                runs.c.source == source, runs.c.status.in_((RunStatus.RUNNING, RunStatus.FAILED))
            )
            .order_by(runs.c.id.desc())
        ).all()
        for run_id, run_params, checkpoint, pid in unfinished:
            if run_params != params:
                continue
            if pid and pid != os.getpid() and _alive(pid):
                raise RunInProgress(f"run #{run_id} of this input is still going (pid {pid})")
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=RunStatus.RUNNING, pid=os.getpid(), error=None)
            )
            return Run(run_id, checkpoint, resumed=checkpoint is not None)
        run_id = conn.execute(
            insert(runs)
            .values(
                source=source,
                params=params,
                status=RunStatus.RUNNING,
                pid=os.getpid(),
                started_at=datetime.now(UTC),
                **dict.fromkeys(COUNTERS, 0),
            )
            .returning(runs.c.id)
        ).scalar_one()
    return Run(run_id, None, resumed=False)


def save_progress(
    conn: Connection,
    run_id: int,
    checkpoint: dict[str, Any] | None,
    counts: dict[str, int],
    rejected: Sequence[tuple[str, str]],
) -> None:
    """Add a committed batch's counts and rejections, and move the checkpoint past it."""
    if rejected:
        conn.execute(
            insert(rejections),
            [{"run_id": run_id, "location": loc[:1000], "reason": why} for loc, why in rejected],
        )
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(checkpoint=checkpoint, **{k: runs.c[k] + v for k, v in counts.items()})
    )


def finish_run(
    engine: Engine, run_id: int, error: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """Mark the run completed (or failed with ``error``) ``at`` a time (now by default) and
    return its row."""
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status=RunStatus.FAILED if error else RunStatus.COMPLETED,
                error=error,
                finished_at=at or datetime.now(UTC),
                pid=None,
            )
        )
        return dict(conn.execute(select(runs).where(runs.c.id == run_id)).mappings().one())


def last_completed(engine: Engine, source: str) -> datetime | None:
    """When the newest completed run of ``source`` (a source's ``name``) finished."""
    query = select(func.max(runs.c.finished_at)).where(
        runs.c.source == source, runs.c.status == RunStatus.COMPLETED
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def run_rejections(engine: Engine, run_id: int, limit: int = 20) -> list[tuple[str, str]]:
    """The first ``limit`` rejections of a run, as (location, reason)."""
    with engine.connect() as conn:
        query = (
            select(rejections.c.location, rejections.c.reason)
            .where(rejections.c.run_id == run_id)
            .order_by(rejections.c.id)
            .limit(limit)
        )
        return [tuple(row) for row in conn.execute(query)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
