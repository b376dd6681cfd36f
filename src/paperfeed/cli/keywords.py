"""``paperfeed keywords``: key phrases for the papers Hugging Face gave none."""

from __future__ import annotations

import time

import click

from paperfeed.cli.context import AppContext, pass_app, progress_bar, resumable


@click.command("keywords")
@click.option("--rebuild", is_flag=True, help="Compute every paper's key phrases again.")
@click.option("--limit", type=click.IntRange(1), help="At most this many papers.")
@pass_app
def keywords(app: AppContext, rebuild: bool, limit: int | None) -> None:
    """Compute the key phrases of papers that have none, or older ones than the paper
    (shown on paper pages and cards, served as ai_keywords where Hugging Face gave none).
    Papers embedded already cost least; the worker does this after embedding. An interrupted
    run goes on where it stopped."""
    from paperfeed.cli.search import index_errors
    from paperfeed.index.keyphrases import compute_keywords
    from paperfeed.store.keywords import count_pending_keywords, forget_keywords
    from paperfeed.text import counted

    services = app.services
    with resumable(app), index_errors():
        if rebuild:
            forget_keywords(services.engine)  # kept, and shown, until computed again
        services.embedder.embed_documents(["warm up"])  # loads the model: the rate is ours
        started = time.monotonic()
        with progress_bar(app, "key phrases", unit="papers") as step:
            done = compute_keywords(
                services.engine,
                services.embedder,
                services.lexical,
                limit=limit,
                on_progress=step,
            )
    seconds = time.monotonic() - started
    rate = f" in {seconds:,.0f} s ({done / seconds:,.1f}/s)" if done and seconds > 0 else ""
    click.echo(f"key phrases: {counted(done, 'paper')}{rate}")
    if left := count_pending_keywords(services.engine):
        click.echo(f"{counted(left, 'paper')} still to do: run `paperfeed keywords` again.")
