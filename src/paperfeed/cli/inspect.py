"""``paperfeed stats`` and ``paperfeed show``: what is in the store."""

from __future__ import annotations

import json

import click

from paperfeed.arxiv_ids import InvalidArxivId, abs_url, parse_arxiv_id, pdf_url
from paperfeed.cli.context import JSON_OPTION, AppContext, pass_app
from paperfeed.cli.search import to_finish


@click.command()
@JSON_OPTION
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """How many papers, authors and organisations the store holds, how many are embedded,
    and the last imports."""
    from paperfeed.store.queries import store_stats
    from paperfeed.store.vectors import coverage

    model = app.settings.embedding_model
    covered = coverage(app.engine, model)
    figures = store_stats(app.engine) | {
        "embedding_model": model,
        "embedded": covered.embedded,
        "pending": covered.pending,
        "oldest_embedded": covered.oldest_embedded and covered.oldest_embedded.isoformat(),
    }
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    click.echo(f"store:          {app.settings.database}")
    for name in ("papers", "authors", "organisations", "withdrawn"):
        click.echo(f"{name + ':':<15} {figures[name]:,}")
    if figures["announced_from"]:
        click.echo(f"announced:      {figures['announced_from']} .. {figures['announced_to']}")
    oldest = f", announced since {covered.oldest_embedded}" if covered.oldest_embedded else ""
    click.echo(f"embedded:       {covered.embedded:,} ({model}){oldest}")
    if not covered.complete:
        click.echo(f"pending:        {covered.pending:,}")
        click.echo(to_finish(covered))
    for run in figures["recent_runs"]:
        click.echo(
            f"run #{run['id']:<5} {run['source']:<10} {run['status']:<10} {run['started_at'][:19]}"
            f"  new {run['new']:,}, updated {run['updated']:,}, rejected {run['rejected']:,}"
        )


@click.command()
@click.argument("arxiv_id")
@JSON_OPTION
@pass_app
def show(app: AppContext, arxiv_id: str, as_json: bool) -> None:
    """One paper: ARXIV_ID may be an id, a versioned id or an arxiv.org URL."""
    from paperfeed.store.queries import get_paper

    try:
        ident = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId as exc:
        raise click.BadParameter(str(exc), param_hint="ARXIV_ID") from None
    paper = get_paper(app.engine, ident)
    if paper is None:
        raise click.ClickException(
            f"{ident} is not in the store; fetch it with: paperfeed ingest arxiv-api --ids {ident}"
        )
    if as_json:
        click.echo(json.dumps(paper, indent=2, default=str))
        return
    version = f"v{paper['version']}" if paper["version"] else ""
    click.echo(f"{paper['arxiv_id']}{version}  {paper['title']}")
    click.echo(", ".join(paper["authors"] or ["(authors unknown)"]))
    click.echo(f"categories: {' '.join(paper['categories'])}")
    for label in (
        "published",
        "updated",
        "announced",
        "doi",
        "journal_ref",
        "comments",
        "license",
        "organisation_name",
        "upvotes",
    ):
        if paper[label] is not None:
            click.echo(f"{label}: {paper[label]}")
    for link in [abs_url(ident), pdf_url(ident), *paper["links"]]:
        click.echo(f"link: {link}")
    click.echo()
    click.echo(paper["abstract"])
