"""``paperfeed sync``: the worker's scheduled syncs, run once now."""

from __future__ import annotations

import click

from paperfeed.cli.context import AppContext, pass_app

KINDS = ("rss", "hf-daily")  # paperfeed.ingest.sync.KINDS, without loading it for --help


@click.command()
@click.option(
    "--only",
    type=click.Choice(KINDS),
    help="Run this sync alone (default: those the settings enable).",
)
@pass_app
def sync(app: AppContext, only: str | None) -> None:
    """Import arXiv's latest announcements by RSS (the categories in
    PAPERFEED_SYNC_CATEGORIES) and Hugging Face's daily papers of today and yesterday, now:
    what `paperfeed worker` does on schedule. Re-running changes nothing that is already in."""
    from datetime import UTC, datetime

    from paperfeed.cli.ingest import import_source, one_line_errors, say_announced
    from paperfeed.ingest.sync import RSS, enabled, sources
    from paperfeed.sources.rss import RssSource

    settings = app.settings
    if only == RSS and not settings.sync_category_list:
        raise click.UsageError("no categories to sync: set PAPERFEED_SYNC_CATEGORIES")
    kinds = [only] if only else enabled(settings)
    if not kinds:
        raise click.UsageError(
            "no syncs enabled: set PAPERFEED_SYNC_CATEGORIES or PAPERFEED_SYNC_HF_DAILY=true"
        )
    now = datetime.now(UTC)
    with one_line_errors():
        for kind in kinds:
            for source in sources(kind, settings, app.http(), now):
                click.echo(f"sync {kind}: {', '.join(map(str, source.params().values()))}")
                import_source(app, source)
                if isinstance(source, RssSource):
                    say_announced(source)
