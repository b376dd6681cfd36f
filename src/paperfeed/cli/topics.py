"""``paperfeed topics``: topics of the embedded papers, refitted weekly or on demand."""

from __future__ import annotations

import time

import click

from paperfeed.cli.context import AppContext, pass_app, progress_bar, resumable


@click.command("topics")
@click.option("--rebuild", is_flag=True, help="Fit the topics again now, even if not due.")
@pass_app
def topics(app: AppContext, rebuild: bool) -> None:
    """Group the embedded papers into broad and fine topics, or place the papers embedded
    since the last fit in the topics there are. A fit is due weekly (the worker does both);
    topics found again keep their id. An interrupted fit changes nothing."""
    from paperfeed.index.topics import (
        TooFewPapers,
        TopicsUnavailable,
        assign_new,
        refit,
        refit_due,
    )
    from paperfeed.text import counted

    services = app.services
    model = services.embedder.model
    started = time.monotonic()
    with resumable(app):
        if not (rebuild or refit_due(services.engine, model)):
            with progress_bar(app, "placing new papers", unit="papers") as step:
                done = assign_new(services.engine, model, on_progress=step)
            seconds = time.monotonic() - started
            click.echo(f"topics: {counted(done, 'new paper')} placed in {seconds:,.1f} s")
            return
        try:
            with progress_bar(app, "reading vectors", unit="papers") as step:
                report = refit(services.engine, model, note=app.console.print, on_progress=step)
        except (TooFewPapers, TopicsUnavailable) as error:
            raise click.ClickException(str(error)) from None
    assert report is not None  # only a stop given to refit ends it early
    seconds = time.monotonic() - started
    click.echo(
        f"topics: {report.broad} broad and {report.fine} fine from "
        f"{counted(report.papers, 'paper')} ({report.unassigned:,} in none) in {seconds:,.0f} s; "
        f"{report.kept} kept their id, {report.new} new, {report.retired} retired"
    )
