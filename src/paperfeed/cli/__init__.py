"""The ``paperfeed`` command line.

Commands import the store, indexes, models and web stack inside their functions, so that
``paperfeed --help`` and a mistyped command answer at once (tests/test_cli.py checks it).
"""

from __future__ import annotations

import click

from paperfeed.cli.admin import admin
from paperfeed.cli.context import AppContext, storage_errors
from paperfeed.cli.digest import digest, subscriptions
from paperfeed.cli.ingest import ingest
from paperfeed.cli.inspect import show, stats
from paperfeed.cli.keywords import keywords
from paperfeed.cli.library import library_group, recommend
from paperfeed.cli.mcp_server import mcp
from paperfeed.cli.search import index, search, similar
from paperfeed.cli.serve import demo, serve, worker
from paperfeed.cli.sync import sync
from paperfeed.cli.topics import topics


class Paperfeed(click.Group):
    """The command group: a full disk, a read-only store or a database that fails end any
    command with one line (see :func:`~paperfeed.cli.context.storage_errors`)."""

    def invoke(self, ctx: click.Context) -> object:
        with storage_errors():
            return super().invoke(ctx)


@click.group(cls=Paperfeed, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    "database_url",
    envvar="PAPERFEED_DATABASE_URL",
    help="SQLAlchemy URL of the store (default: SQLite in PAPERFEED_HOME).",
)
@click.version_option(package_name="paperfeed")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """paperfeed: a self-hosted research-paper discovery service."""
    ctx.obj = AppContext(database_url)


cli.add_command(ingest)
cli.add_command(stats)
cli.add_command(show)
cli.add_command(index)
cli.add_command(keywords)
cli.add_command(topics)
cli.add_command(search)
cli.add_command(similar)
cli.add_command(serve)
cli.add_command(demo)
cli.add_command(worker)
cli.add_command(sync)
cli.add_command(admin)
cli.add_command(digest)
cli.add_command(subscriptions)
cli.add_command(library_group)
cli.add_command(recommend)
cli.add_command(mcp)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="paperfeed")
