"""What every command shares: settings, the store, the HTTP client, console output."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

if TYPE_CHECKING:  # configuration, store and services load when a command first uses them
    from sqlalchemy import Engine

    from paperfeed.services import Services
    from paperfeed.settings import Settings
    from paperfeed.sources.http import PoliteClient


@dataclass
class AppContext:
    database_url: str | None = None  # given with --database, over the configured one
    console: Console = field(default_factory=lambda: Console(stderr=True))

    @cached_property
    def settings(self) -> Settings:
        """The configuration, read and checked on first use (``--help`` never reads it)."""
        from pydantic import ValidationError

        from paperfeed.settings import Settings

        try:
            return Settings(database_url=self.database_url) if self.database_url else Settings()
        except ValidationError as exc:
            raise click.ClickException(f"bad configuration: {exc}") from None

    @cached_property
    def services(self) -> Services:
        """The services over the store, which is opened (and migrated) on first use."""
        from sqlalchemy.exc import ArgumentError, OperationalError

        from paperfeed.services import Services

        url = self.settings.database
        try:
            return Services.from_settings(self.settings)
        except (OperationalError, ArgumentError, ImportError, OSError) as exc:
            reason = exc.orig if isinstance(exc, OperationalError) else exc
            raise click.ClickException(
                f"cannot open the store {_shown(url)!r}: {' '.join(str(reason).split())}. "
                "Check PAPERFEED_DATABASE_URL."
            ) from None

    @property
    def engine(self) -> Engine:
        return self.services.engine

    def http(self) -> PoliteClient:
        return self.services.http()

    def account(self, email: str) -> dict[str, Any]:
        """The account of ``email``; a one-line error if there is none."""
        from paperfeed.store.accounts import find_user

        user = find_user(self.engine, email)
        if user is None:
            raise click.ClickException(f"there is no account for {email.strip().lower()}")
        return user


def _shown(url: str) -> str:
    """``url`` with its password masked (as given when it does not parse)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
KEPT = "then run the command again: the work committed so far is kept"


@contextmanager
def storage_errors() -> Iterator[None]:
    """A full disk, a read-only store or index, or a database that fails (unreachable, gone
    away) ends the command with one line saying so and what to do."""
    try:
        yield
    except Exception as exc:
        message = storage_problem(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None


def storage_problem(exc: Exception) -> str | None:
    """What went wrong with the disk or the database, in one line (``None``: not that)."""
    if isinstance(exc, OSError) and exc.errno in FULL | READ_ONLY:
        where = f"cannot write {exc.filename}" if exc.filename else "cannot write"
        fix = "free some space" if exc.errno in FULL else "make it writable"
        return f"{where}: {exc.strerror}. {fix.capitalize()}, {KEPT}."
    database = sys.modules.get("sqlalchemy.exc")  # loaded by then if the store failed
    if database is None or not isinstance(exc, database.OperationalError):
        return None
    reason = " ".join(str(exc.orig).split())
    if "full" in reason or "No space" in reason:  # SQLite's words, PostgreSQL's
        return f"the store cannot be written: {reason}. Free some space on its disk, {KEPT}."
    if "readonly" in reason or "read-only" in reason:
        return f"the store cannot be written: {reason}. Make it writable, {KEPT}."
    return (
        f"the store failed: {reason}. Check that the database is up and reachable "
        f"(PAPERFEED_DATABASE_URL), {KEPT}."
    )


pass_app = click.make_pass_decorator(AppContext)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


class Day(click.ParamType):
    """A ``YYYY-MM-DD`` option, given to the command as a :class:`datetime.date`."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date like 2025-03-18", param, ctx)


DAY = Day()


class RateColumn(ProgressColumn):
    """Items a second, once there is a rate to show."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.1f} {self.unit}/s" if task.speed else "")


@contextmanager
def progress_bar(
    app: AppContext, label: str, unit: str | None = None
) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on a terminal (nothing when piped), with the rate in ``unit`` a second
    if given; yields a ``(done, total)`` callback."""
    rate = (RateColumn(unit),) if unit else ()
    columns = (TextColumn(label), BarColumn(), TaskProgressColumn(), *rate, TimeRemainingColumn())
    disabled = not app.console.is_terminal
    with Progress(*columns, console=app.console, transient=True, disable=disabled) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def resumable(app: AppContext) -> Iterator[None]:
    """On Ctrl-C, say that committed work is kept and how to go on; exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        app.console.print("Interrupted: work committed so far is kept; run the command again.")
        raise SystemExit(130) from None
