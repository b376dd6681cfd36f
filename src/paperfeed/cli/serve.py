"""``paperfeed serve`` (the web app under uvicorn) and ``paperfeed demo`` (a first run)."""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import click

from paperfeed.cli.context import AppContext, pass_app, resumable
from paperfeed.cli.ingest import import_announcements, one_line_errors
from paperfeed.cli.search import build_indexes
from paperfeed.sources.base import SourceError

FACTORY = "paperfeed.web.app:app_from_environment"
SHUTDOWN = 2  # seconds the server and its worker may take to stop: in all, under 5
POPULAR = ("cs.CL", "cs.LG", "cs.CV", "cs.AI")
LOAD_A_FILE = (
    "paperfeed ingest jsonl FILE (or paperfeed ingest kaggle FILE), "
    "then paperfeed index and paperfeed serve"
)
EMPTY = f"The store is empty: load papers from a file with {LOAD_A_FILE}."
HOST = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: all)."
)
PORT = click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)


@click.command()
@HOST
@PORT
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Worker processes (each keeps its own rate limits).",
)
@click.option(
    "--forwarded-allow-ips",
    help="Proxy addresses whose X-Forwarded-* headers are trusted (default: 127.0.0.1).",
)
@click.option(
    "--worker",
    "with_worker",
    is_flag=True,
    help="Also run the background worker (indexing, embedding, digests) in a child process.",
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    workers: int,
    forwarded_allow_ips: str | None,
    with_worker: bool,
) -> None:
    """Serve the web app: the daily feed, search, paper pages, and the API under /api."""
    run_server(app, host, port, workers, forwarded_allow_ips, with_worker=with_worker)


@click.command()
@pass_app
def worker(app: AppContext) -> None:
    """Keep the search indexes up to date and send the due digests, until stopped: words of
    new papers, embeddings (submitted papers first, then the newest), vector-index updates."""
    from paperfeed.store.feed import visible_count
    from paperfeed.worker import run_worker

    count = visible_count(app.engine)  # a store that cannot be opened fails here, in one line
    click.echo(f"paperfeed worker: indexing {count:,} papers; Ctrl-C stops it.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    run_worker(app.settings)


@click.command()
@click.option(
    "--categories",
    multiple=True,
    default=POPULAR,
    show_default=True,
    help="arXiv categories or archives (repeat, or separate with commas).",
)
@HOST
@PORT
@click.option("--no-embed", is_flag=True, help="Only the lexical index; embed later.")
@click.option("--no-serve", is_flag=True, help="Fetch and index, then stop.")
@pass_app
def demo(
    app: AppContext,
    categories: tuple[str, ...],
    host: str,
    port: int,
    no_embed: bool,
    no_serve: bool,
) -> None:
    """A first run in one command: today's arXiv announcements in a few popular categories,
    imported, indexed and served."""
    from paperfeed.store.feed import visible_count
    from paperfeed.text import counted

    wanted = [name for value in categories for name in value.replace(",", " ").split()]
    if not wanted:
        raise click.UsageError("give at least one category, e.g. --categories cs.CL")
    with one_line_errors():
        try:
            import_announcements(app, wanted)
        except SourceError as exc:
            raise click.ClickException(unreachable_message(exc)) from None
    with resumable(app):
        build_indexes(app, no_embed=no_embed)
    if not no_serve:  # a day without announcements still shows the store
        run_server(app, host, port, with_worker=True)
    elif count := visible_count(app.engine):
        ready = "is" if count == 1 else "are"
        click.echo(f"{counted(count, 'paper')} {ready} ready: `paperfeed serve` shows them.")
    else:
        click.echo(EMPTY)


def run_server(
    app: AppContext,
    host: str,
    port: int,
    workers: int = 1,
    forwarded_allow_ips: str | None = None,
    *,
    with_worker: bool = False,
) -> None:
    """Open (and migrate) the store, say where its papers are served, and serve until
    stopped. One process serves with the command's services, which the digest schedule shares;
    several worker processes each build theirs from the environment, so the store's URL goes
    there and the session key is made once, before they start. ``with_worker``: a background
    worker runs in a child process (and sends the digests), stopped with the server."""
    import uvicorn

    from paperfeed.store.feed import visible_count
    from paperfeed.text import counted
    from paperfeed.web.app import create_app
    from paperfeed.worker import start_digest_schedule

    count = visible_count(app.engine)  # a store that cannot be opened fails here, in one line
    settings, services = app.settings, app.services
    shown = f"[{host}]" if ":" in host else host
    check_free(host, port, shown)
    click.echo(f"paperfeed is serving {counted(count, 'paper')} at http://{shown}:{port}/papers")
    if not count:
        click.echo(EMPTY)
    if not settings.smtp_url:
        click.echo(
            "No mail server is set (PAPERFEED_SMTP_URL): subscription confirmations and digests "
            "wait in the outbox until one is."
        )
    if not with_worker:
        say_what_waits(app, count)
        if settings.smtp_url and settings.digest_minutes:
            start_digest_schedule(services, threading.Event())
            click.echo(f"Email digests: due ones are sent every {settings.digest_minutes} minutes.")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "forwarded_allow_ips": forwarded_allow_ips,
        "timeout_graceful_shutdown": SHUTDOWN,
    }
    with background_worker(app) if with_worker else nullcontext():
        if workers == 1:
            uvicorn.run(create_app(services), **options)
            return
        os.environ["PAPERFEED_DATABASE_URL"] = settings.database  # `--database` reaches them
        services.secret_key  # noqa: B018 - made once, before the workers start
        uvicorn.run(FACTORY, factory=True, workers=workers, **options)


def check_free(host: str, port: int, shown: str) -> None:
    """Fail in one line, before anything starts, when the address cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"{shown}:{port} is in use (is paperfeed already serving there?): stop that "
                "server, or serve on another port with --port"
            ) from None
        raise click.ClickException(f"cannot listen on {shown}:{port}: {exc.strerror}") from None


@contextmanager
def background_worker(app: AppContext) -> Iterator[None]:
    """A worker in a child process while the server runs. uvicorn re-raises the SIGTERM it
    stopped on, which would end this process with the worker left behind: meanwhile SIGTERM
    raises ``SystemExit`` instead, so the worker is stopped first."""
    child = start_worker_process(app)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_worker_process(child)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def start_worker_process(app: AppContext) -> BaseProcess:
    """The background worker in a child process (spawned: no state shared by forking)."""
    from paperfeed.worker import run_worker

    context = multiprocessing.get_context("spawn")
    child = context.Process(
        target=run_worker,
        args=(app.settings,),
        kwargs={"parent": os.getpid()},
        name="paperfeed-worker",
    )
    child.start()
    click.echo(
        "Background worker started: new papers are indexed by words and meaning as they arrive"
        + (" and due digests are sent." if app.settings.smtp_url else ".")
    )
    return child


def stop_worker_process(child: BaseProcess) -> None:
    """Ask the worker to stop; one still busy after ``SHUTDOWN`` seconds is killed, its batch
    in flight uncommitted (the next worker redoes it)."""
    child.terminate()
    child.join(SHUTDOWN)
    if child.is_alive():
        child.kill()
        child.join()


def say_what_waits(app: AppContext, count: int) -> None:
    """Tell the admin when papers wait for embedding that no worker will do: as the vector
    index last saved says (counting them anew would cost seconds at every start on a big
    store), or all ``count`` when there is no vector index yet."""
    from paperfeed.index.dense import saved_coverage
    from paperfeed.text import counted

    if not (path := app.services.vectors_folder).exists():
        pending = count
    else:
        covered = saved_coverage(path)
        pending = covered.pending if covered is not None else 0
    if pending:
        click.echo(
            f"{counted(pending, 'paper')} {'is' if pending == 1 else 'are'} not embedded: "
            "search finds them by their words only. "
            "Run `paperfeed worker` beside the server (or serve with --worker)."
        )


def unreachable_message(exc: SourceError) -> str:
    """One line for a demo whose announcements cannot be fetched, and what to do instead."""
    from paperfeed.sources.http import Unreachable

    reason = f"{exc.host}: {exc.reason}" if isinstance(exc, Unreachable) else str(exc)
    return f"arXiv cannot be reached ({reason}). Load papers from a file instead: {LOAD_A_FILE}."
