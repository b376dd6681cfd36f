"""``paperfeed search``, ``paperfeed similar`` and ``paperfeed index``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paperfeed.cli.context import (
    DAY,
    JSON_OPTION,
    AppContext,
    pass_app,
    progress_bar,
    resumable,
)
from paperfeed.index.query import MODES, SORTS, Filters

if TYPE_CHECKING:
    from paperfeed.index.embedding import Embedder
    from paperfeed.ranking.search import Hit
    from paperfeed.store.vectors import Coverage


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
    with index_errors():
        results = app.services.searcher.search(query, filters=filters, **options)
    for note in results.notes:
        app.console.print(f"note: {note}")
    _print_hits(results.hits, as_json)


@click.command()
@click.argument("arxiv_id")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@JSON_OPTION
@pass_app
def similar(app: AppContext, arxiv_id: str, limit: int, as_json: bool) -> None:
    """Papers similar to ARXIV_ID by meaning, words, authors, categories and co-saves (never
    the paper itself)."""
    try:
        hits = app.services.searcher.similar(arxiv_id, limit)
    except KeyError:
        raise click.ClickException(
            f"{arxiv_id} is not in the store: ingest it first (or submit it on the site)"
        ) from None
    _print_hits(hits, as_json)


@click.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild the indexes from the store.")
@click.option("--no-embed", is_flag=True, help="Only the lexical index; embed later.")
@click.option(
    "--embed-limit",
    type=click.IntRange(0),
    help="Embed at most N papers this run (the first in queue order).",
)
@click.option("--since", type=DAY, help="Embed only papers announced on or after this day.")
@click.option(
    "--import-vectors",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Precomputed vectors: Parquet, .npz, or JSON lines (gzip or not); needs --model.",
)
@click.option(
    "--model",
    "vectors_model",
    metavar="NAME",
    help="The model that made the --import-vectors file; must be the configured one.",
)
@click.option(
    "--id-column",
    metavar="NAME",
    help="Column (key, array) of arXiv ids in the file [default: id, arxiv_id or ids].",
)
@click.option(
    "--vector-column",
    metavar="NAME",
    help="Column of vectors in the file [default: vector, embedding, vectors or embeddings].",
)
@click.option(
    "--ray-address",
    help="Embed on a Ray cluster: local (start one here), auto (the cluster this machine "
    "is part of) or ray://HOST:10001. Needs pip install 'paperfeed[ray]'.",
)
@click.option("--ray-gpus", type=click.FloatRange(0), default=0.0, help="GPUs per Ray worker.")
@click.option(
    "--ray-workers", type=click.IntRange(1), help="Ray workers [default: as many as fit]."
)
@pass_app
def index(
    app: AppContext,
    rebuild: bool,
    no_embed: bool,
    embed_limit: int | None,
    since: date | None,
    import_vectors: Path | None,
    vectors_model: str | None,
    id_column: str | None,
    vector_column: str | None,
    ray_address: str | None,
    ray_gpus: float,
    ray_workers: int | None,
) -> None:
    """Bring the search indexes up to date with the store. Papers are searchable by words at
    once and by meaning once embedded: papers submitted on the site first, then the newest
    announced. Embedding resumes where an interrupted run stopped."""
    vectors = None
    if import_vectors:
        if not vectors_model:
            raise click.UsageError("--import-vectors needs --model NAME: the model of the vectors")
        vectors = VectorsToImport(import_vectors, vectors_model, id_column, vector_column)
    elif vectors_model or id_column or vector_column:
        raise click.UsageError("--model, --id-column and --vector-column go with --import-vectors")
    if not ray_address and (ray_gpus or ray_workers):
        raise click.UsageError("--ray-gpus and --ray-workers go with --ray-address")
    with resumable(app):
        build_indexes(
            app,
            rebuild=rebuild,
            no_embed=no_embed,
            embed=EmbedRun(embed_limit, since, ray_address, ray_gpus, ray_workers),
            import_vectors=vectors,
        )


@dataclass(frozen=True)
class EmbedRun:
    """Bounds of one embedding run."""

    limit: int | None = None  # papers at most
    since: date | None = None  # announced on or after
    ray_address: str | None = None  # embedding on this Ray cluster (workers there)
    ray_gpus: float = 0  # per Ray worker
    ray_workers: int | None = None  # default: as many as the cluster holds


@contextmanager
def document_embedder(app: AppContext, embed: EmbedRun) -> Iterator[tuple[Embedder, int]]:
    """What embeds the pending papers and how many to give it at once: the configured model,
    here or on Ray workers (given enough papers at once to keep every worker busy)."""
    from paperfeed.services import ray_embedder

    if not embed.ray_address:
        yield app.services.embedder, app.settings.embedding_commit_size
        return
    with ray_embedder(
        app.settings, embed.ray_address, gpus=embed.ray_gpus, workers=embed.ray_workers
    ) as workers:
        yield workers, workers.round_size


@dataclass(frozen=True)
class VectorsToImport:
    """A file of precomputed vectors, the model that made them and its columns."""

    path: Path
    model: str
    id_column: str | None = None
    vector_column: str | None = None


def build_indexes(
    app: AppContext,
    *,
    rebuild: bool = False,
    no_embed: bool = False,
    embed: EmbedRun = EmbedRun(),
    import_vectors: VectorsToImport | None = None,
) -> None:
    """Update (or ``rebuild``) the lexical index, then embed what is pending (or import
    vectors) and update the vector index, with progress bars and a line for each."""
    from paperfeed.index.dense import VectorIndex, embed_pending

    engine = app.engine
    lexical = app.services.lexical
    with progress_bar(app, "words") as step:
        changed = (lexical.rebuild if rebuild else lexical.update)(engine, on_progress=step)
    click.echo(f"lexical index: {changed:,} papers (re)indexed, {lexical.count():,} in all")
    if no_embed and not import_vectors:
        return
    with index_errors():
        embedder = app.services.embedder
        if not import_vectors and not embed.ray_address:
            embedder.embed_documents(["warm up"])  # loads the model: the rate below is embedding's
        started = time.monotonic()
        if import_vectors:
            done = import_vectors_file(app, import_vectors, embedder.model)
        else:
            with (
                progress_bar(app, "embeddings", unit="papers") as step,
                document_embedder(app, embed) as (documents, batch_size),
            ):
                done = embed_pending(
                    engine,
                    documents,
                    batch_size=batch_size,
                    limit=embed.limit,
                    since=embed.since,
                    on_progress=step,
                )
        seconds = time.monotonic() - started
        vectors = VectorIndex(app.services.vectors_folder)  # a writer: saves a generation
        update = (vectors.rebuild if rebuild else vectors.update)(engine, embedder.model)
    timed = done and seconds > 0 and not import_vectors
    rate = f" in {seconds:,.0f} s ({done / seconds:,.1f}/s)" if timed else ""
    click.echo(
        f"dense index ({embedder.model}): {done:,} papers embedded{rate}, "
        f"{update.added:,} added, {len(vectors):,} in all"
    )
    if vectors.coverage is not None and not vectors.coverage.complete:
        click.echo(to_finish(vectors.coverage))


@contextmanager
def index_errors() -> Iterator[None]:
    """A model, vector file or vector index that fails ends the command with one line."""
    from paperfeed.index.dense import VectorIndexError
    from paperfeed.index.embedding import EmbeddingError
    from paperfeed.store.vector_files import VectorFileError

    try:
        yield
    except (EmbeddingError, VectorFileError, VectorIndexError) as exc:
        raise click.ClickException(str(exc)) from None


def to_finish(covered: Coverage) -> str:
    """What is left to embed, and how to get it done."""
    from paperfeed.text import counted

    since = f" (papers announced up to {covered.newest_pending})" if covered.newest_pending else ""
    return (
        f"{counted(covered.pending, 'paper')} still to embed{since}: run `paperfeed index` "
        "again, or "
        "`paperfeed worker` (or `paperfeed serve --worker`) to embed them in the background."
    )


def import_vectors_file(app: AppContext, vectors: VectorsToImport, model: str) -> int:
    """Store precomputed vectors under ``model`` and say what was imported and skipped."""
    from paperfeed.store.vectors import import_vectors

    result = import_vectors(
        app.engine,
        model,
        vectors.path,
        made_by=vectors.model,
        id_column=vectors.id_column,
        vector_column=vectors.vector_column,
    )
    click.echo(f"{vectors.path.name}: {result}")
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
