"""``paperfeed serve`` (the web app under uvicorn) and ``paperfeed demo`` (a first run)."""

from __future__ import annotations

import os
import threading
from typing import Any

import click

from paperfeed.cli.context import AppContext, pass_app, resumable
from paperfeed.cli.ingest import import_announcements, one_line_errors
from paperfeed.cli.search import build_indexes
from paperfeed.sources.base import SourceError
from paperfeed.sources.http import Unreachable
from paperfeed.store.feed import visible_count

FACTORY = "paperfeed.web.app:app_from_environment"
POPULAR = ("cs.CL", "cs.LG", "cs.CV", "cs.AI")
LOAD_A_FILE = (
    "paperfeed ingest jsonl FILE (or paperfeed ingest kaggle FILE), "
    "then paperfeed index and paperfeed serve"
)
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
@pass_app
def serve(
    app: AppContext, host: str, port: int, workers: int, forwarded_allow_ips: str | None
) -> None:
    """Serve the web app: the daily feed, search, paper pages, and the API under /api."""
    run_server(app, host, port, workers, forwarded_allow_ips)


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
    count = visible_count(app.engine)  # a day without announcements still shows the store
    if not count:
        click.echo(f"The store is empty: load papers from a file with {LOAD_A_FILE}.")
    elif no_serve:
        click.echo(f"{count:,} papers are ready: `paperfeed serve` shows them.")
    if not no_serve:
        run_server(app, host, port)


def run_server(
    app: AppContext,
    host: str,
    port: int,
    workers: int = 1,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Open (and migrate) the store, say where its papers are served, and serve until
    stopped. One process serves with the command's services, which the digest schedule shares;
    several worker processes each build theirs from the environment, so the store's URL goes
    there and the session key is made once, before they start."""
    import uvicorn  # the web stack loads only to serve: other commands start faster

    from paperfeed.web.app import create_app
    from paperfeed.worker import start_digest_schedule

    count = visible_count(app.engine)  # a store that cannot be opened fails here, in one line
    settings, services = app.settings, app.services
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"paperfeed is serving {count:,} papers at http://{shown}:{port}/papers")
    if settings.smtp_url and settings.digest_minutes:
        start_digest_schedule(services, threading.Event())
        click.echo(f"Email digests: due ones are sent every {settings.digest_minutes} minutes.")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "forwarded_allow_ips": forwarded_allow_ips,
    }
    if workers == 1:
        uvicorn.run(create_app(services), **options)
        return
    os.environ["PAPERFEED_DATABASE_URL"] = settings.database  # `--database` reaches the workers
    services.secret_key  # noqa: B018 - made once, before the workers start
    uvicorn.run(FACTORY, factory=True, workers=workers, **options)


def unreachable_message(exc: SourceError) -> str:
    """One line for a demo whose announcements cannot be fetched, and what to do instead."""
    reason = f"{exc.host}: {exc.reason}" if isinstance(exc, Unreachable) else str(exc)
    return f"arXiv cannot be reached ({reason}). Load papers from a file instead: {LOAD_A_FILE}."
