"""``paperfeed search``, ``paperfeed similar`` and ``paperfeed index``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from paperfeed.cli.context import (
    DAY,
    JSON_OPTION,
    AppContext,
    pass_app,
    progress_bar,
    resumable,
)
from paperfeed.index.dense import VectorIndex, VectorIndexError, embed_pending
from paperfeed.index.embedding import EmbeddingError
from paperfeed.index.query import Filters
from paperfeed.ranking.search import MODES, SORTS, Hit
from paperfeed.store.vectors import VectorFileError, import_vectors

FAILURES = (EmbeddingError, VectorFileError, VectorIndexError)


@click.command()
@click.argument("query")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--cat", "categories", multiple=True, help="Category or archive (cs.CL, cs).")
@click.option("--author", "authors", multiple=True, help="Author name (all must match).")
@click.option("--org", "organisation", help="Organisation handle.")
@click.option("--from", "date_from", type=DAY, help="Announced on or after.")
@click.option("--to", "date_to", type=DAY, help="Announced on or before.")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@JSON_OPTION
@pass_app
def search(app: AppContext, query: str, as_json: bool, **options) -> None:
    """Search the store: plain words, "quoted phrases", author:NAME, cat:CS.CL, year:2024,
    after:YYYY-MM-DD, before:YYYY-MM-DD."""
    filters = Filters(
        categories=options.pop("categories"),
        authors=options.pop("authors"),
        organisation=options.pop("organisation"),
        date_from=options.pop("date_from"),
        date_to=options.pop("date_to"),
    )
    try:
        results = app.services.searcher.search(query, filters=filters, **options)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    for note in results.notes:
        app.console.print(f"note: {note}")
    _print_hits(results.hits, as_json)


@click.command()
@click.argument("arxiv_id")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@JSON_OPTION
@pass_app
def similar(app: AppContext, arxiv_id: str, limit: int, as_json: bool) -> None:
    """Papers similar to ARXIV_ID, by embedding (never the paper itself)."""
    try:
        hits = app.services.searcher.similar(arxiv_id, limit)
    except KeyError:
        raise click.ClickException(
            f"{arxiv_id} has no embedding yet: run `paperfeed index` (or ingest it first)"
        ) from None
    _print_hits(hits, as_json)


@click.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild the indexes from the store.")
@click.option("--no-embed", is_flag=True, help="Only the lexical index; embed later.")
@click.option(
    "--import-vectors",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Precomputed vectors (.npz with ids + vectors, or JSON lines {id, vector}).",
)
@pass_app
def index(app: AppContext, rebuild: bool, no_embed: bool, import_vectors: Path | None) -> None:
    """Bring the search indexes up to date with the store. Papers are searchable by words at
    once and by meaning once embedded; embedding resumes where an interrupted run stopped."""
    with resumable(app):
        build_indexes(app, rebuild=rebuild, no_embed=no_embed, import_vectors=import_vectors)


def build_indexes(
    app: AppContext,
    *,
    rebuild: bool = False,
    no_embed: bool = False,
    import_vectors: Path | None = None,
) -> None:
    """Update (or ``rebuild``) the lexical index, then embed what is pending (or import
    vectors) and update the vector index, with progress bars and a line for each."""
    settings, engine = app.settings, app.engine
    lexical = app.services.lexical
    with progress_bar(app, "words") as step:
        changed = (lexical.rebuild if rebuild else lexical.update)(engine, on_progress=step)
    click.echo(f"lexical index: {changed:,} papers (re)indexed, {lexical.count():,} in all")
    if no_embed and not import_vectors:
        return
    try:
        embedder = app.services.embedder
        if import_vectors:
            done = import_vectors_file(app, import_vectors, embedder.model)
        else:
            with progress_bar(app, "embeddings") as step:
                done = embed_pending(
                    engine, embedder, batch_size=settings.embedding_commit_size, on_progress=step
                )
        vectors = VectorIndex(settings.index_dir / "dense")  # a writer: saves a new generation
        update = (vectors.rebuild if rebuild else vectors.update)(engine, embedder.model)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"dense index ({embedder.model}): {done:,} papers embedded, {update.added:,} added, "
        f"{len(vectors):,} in all"
    )


def import_vectors_file(app: AppContext, path: Path, model: str) -> int:
    """Store precomputed vectors under ``model``; unknown ids are listed, not fatal."""
    result = import_vectors(app.engine, model, path)
    if result.unknown:
        shown = ", ".join(result.unknown[:5])
        click.echo(f"{len(result.unknown):,} ids not in the store were skipped: {shown}")
    return result.imported


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        rows = [
            {**asdict(hit), "snippet": hit.snippet.html() if hit.snippet else None} for hit in hits
        ]
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not hits:
        click.echo("No papers found.")
    for rank, hit in enumerate(hits, 1):
        authors = ", ".join((hit.authors or [])[:3]) + (
            " et al." if len(hit.authors or []) > 3 else ""
        )
        click.echo(f"{rank:>3}. {hit.arxiv_id}  {hit.title}")
        click.echo(f"     {authors}  [{' '.join(hit.categories[:3])}]  {hit.announced or ''}")
