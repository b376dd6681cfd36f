"""``paperfeed ingest``: one subcommand per source."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paperfeed.cli.context import DAY, AppContext, pass_app, progress_bar, resumable
from paperfeed.sources.base import Source, SourceError

if TYPE_CHECKING:
    from paperfeed.ingest.pipeline import Report
    from paperfeed.sources.rss import RssSource

FILES = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


@click.group()
def ingest() -> None:
    """Import papers into the store. Re-running an import changes nothing; an interrupted
    import resumes where it stopped when the same command is run again."""


@ingest.command("jsonl")
@FILES
@pass_app
def ingest_jsonl(app: AppContext, files: tuple[Path, ...]) -> None:
    """JSON-lines FILES in paperfeed's schema (gzip-compressed or not)."""
    from paperfeed.sources.jsonl import jsonl_source

    run(app, jsonl_source(files))


@ingest.command("kaggle")
@FILES
@pass_app
def ingest_kaggle(app: AppContext, files: tuple[Path, ...]) -> None:
    """The Kaggle arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json), streamed."""
    from paperfeed.sources.kaggle import kaggle_source

    run(app, kaggle_source(files))


@ingest.command("oai")
@click.option("--set", "set_spec", help="OAI set, e.g. cs, math, physics:hep-th.")
@click.option("--from", "from_date", type=DAY, help="Harvest records changed on or after.")
@click.option("--until", "until_date", type=DAY, help="Harvest records changed on or before.")
@pass_app
def ingest_oai(
    app: AppContext, set_spec: str | None, from_date: date | None, until_date: date | None
) -> None:
    """Harvest arXiv's OAI-PMH endpoint (metadataPrefix=arXiv), 3 s between requests."""
    from paperfeed.sources.oai_pmh import OaiPmhSource

    source = OaiPmhSource(
        app.http(),
        app.settings.arxiv_oai_url,
        set_spec=set_spec,
        from_date=from_date,
        until_date=until_date,
    )
    run(app, source)


@ingest.command("arxiv-api")
@click.option("--ids", multiple=True, help="arXiv ids (repeat or comma-separate).")
@click.option("--query", help='An arXiv API search_query, e.g. "cat:cs.CL AND ti:retrieval".')
@click.option("--max-results", type=click.IntRange(1), help="Stop after this many results.")
@pass_app
def ingest_arxiv_api(
    app: AppContext, ids: tuple[str, ...], query: str | None, max_results: int | None
) -> None:
    """Papers from the arXiv API, by id list or by search query."""
    from paperfeed.sources.arxiv_api import ArxivApiSource

    id_list = [i.strip() for value in ids for i in value.split(",") if i.strip()]
    if bool(id_list) == bool(query):
        raise click.UsageError("give either --ids or --query")
    source = ArxivApiSource(
        app.http(),
        app.settings.arxiv_api_url,
        ids=id_list or None,
        query=query,
        max_results=max_results,
    )
    run(app, source)


@ingest.command("rss")
@click.argument("categories", nargs=-1, required=True)
@pass_app
def ingest_rss(app: AppContext, categories: tuple[str, ...]) -> None:
    """Today's announcements of CATEGORIES (e.g. cs math.CO) from arXiv's RSS feed."""
    with one_line_errors():
        import_announcements(app, categories)


def import_announcements(app: AppContext, categories: Sequence[str]) -> RssSource:
    """Import today's announcements of ``categories`` and say what the day brought; a
    :class:`SourceError` is left to the caller."""
    from paperfeed.sources.rss import RssSource

    source = RssSource(app.http(), app.settings.arxiv_rss_url, list(categories))
    import_source(app, source)
    say_announced(source)
    return source


def say_announced(source: RssSource) -> None:
    """What the day of an imported feed brought: counts by announce type, or none."""
    if source.empty_day_message:
        click.echo(f"{source.empty_day_message} (a weekend or holiday: nothing to do).")
    elif source.announce_counts:
        click.echo(
            "announced: " + ", ".join(f"{n:,} {k}" for k, n in source.announce_counts.items())
        )


@ingest.command("hf-daily")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--date", "day", type=DAY, help="Fetch this day's list from Hugging Face.")
@pass_app
def ingest_hf_daily(app: AppContext, file: Path | None, day: date | None) -> None:
    """Hugging Face daily papers (upvotes, organisations, code): a saved FILE or --date."""
    from paperfeed.sources.hf_daily import HfDailySource

    if file is not None and day is None:
        source = HfDailySource.from_file(file)
    elif day is not None and file is None:
        source = HfDailySource.from_api(app.http(), app.settings.hf_daily_papers_url, day)
    else:
        raise click.UsageError("give either FILE or --date")
    run(app, source)


def run(app: AppContext, source: Source) -> Report:
    """Import with a progress bar, print the closing report; errors become one clear line."""
    with one_line_errors():
        return import_source(app, source)


def import_source(app: AppContext, source: Source) -> Report:
    """Import with a progress bar and print the closing report; errors are raised."""
    from paperfeed.ingest.pipeline import ingest as run_ingest

    with resumable(app), progress_bar(app, source.name) as step:
        report = run_ingest(
            app.engine, source, batch_size=app.settings.batch_size, on_progress=step
        )
    print_report(report)
    return report


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A source that fails, or an import already running, ends the command with one line."""
    from paperfeed.store.runs import RunInProgress

    try:
        yield
    except (SourceError, RunInProgress) as exc:
        raise click.ClickException(str(exc)) from None


def print_report(report: Report) -> None:
    """The closing summary: counts, speed, and the first rejections with their reasons."""
    rate = report.processed / report.seconds if report.seconds else 0
    done = f"{report.processed:,} records in {report.seconds:.1f} s ({rate:,.0f}/s)"
    if report.resumed:
        done += f", resuming run #{report.run_id}; the whole run: {report.total:,} records"
    click.echo(
        f"{done}: {report.new:,} new, {report.updated:,} updated, "
        f"{report.unchanged:,} unchanged, {report.rejected:,} rejected"
        + (f", {report.withdrawn:,} withdrawn" if report.withdrawn else "")
    )
    for location, reason in report.rejections:
        click.echo(f"  rejected {location}: {reason}")
    if report.rejected > len(report.rejections):
        click.echo(f"  ... and {report.rejected - len(report.rejections):,} more rejections")
