"""``paperfeed library``: a user's saved papers, tags and notes, imported and exported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import orjson

from paperfeed.cli.context import JSON_OPTION, AppContext, pass_app

USER = click.option("--user", "email", required=True, help="The account's email address.")


@contextmanager
def library_errors(arxiv_id: str) -> Iterator[None]:
    """One-line errors for a paper that is not in the store, or a tag or note refused."""
    from paperfeed.store.activity import UnknownPaper
    from paperfeed.store.library import LibraryError

    try:
        yield
    except UnknownPaper:
        raise click.ClickException(f"{arxiv_id} is not in the store") from None
    except LibraryError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("library")
def library_group() -> None:
    """A user's library: saved papers with tags and notes."""


@library_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@USER
@click.option("--tag", help="File the imported papers under this tag.")
@pass_app
def library_import(app: AppContext, file: Path, email: str, tag: str | None) -> None:
    """Save the papers of a BibTeX, RIS or CSL-JSON FILE (from Zotero, Mendeley, JabRef...)
    that are in the store; every entry that is not is listed with the reason."""
    from paperfeed.library.matching import match_references
    from paperfeed.library.references import ImportFormatError, parse_references
    from paperfeed.store import library

    user = app.account(email)
    try:
        parsed = parse_references(file.read_bytes(), file.name)
        found = match_references(app.engine, parsed.references)
        added = library.save_papers(
            app.engine, user["id"], [m.arxiv_id for m in found.matched], tag
        )
    except (ImportFormatError, library.LibraryError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    for entry in parsed.skipped:
        click.echo(f"skipped {entry.location}: {entry.reason}")
    for miss in found.unmatched:
        click.echo(f"not found {miss.reference.location} ({miss.reference.title}): {miss.reason}")
    click.echo(
        f"{len(parsed.references):,} {parsed.format} entries: {len(found.matched):,} in the "
        f"store ({added:,} new to the library), {len(found.unmatched):,} not found, "
        f"{len(parsed.skipped):,} unreadable"
    )


@library_group.command("export")
@USER
@click.option("--bibtex", is_flag=True, help="The library as BibTeX instead of all as JSON.")
@click.option("--tag", help="With --bibtex: only this tag's papers.")
@pass_app
def library_export(app: AppContext, email: str, bibtex: bool, tag: str | None) -> None:
    """Print all of a user's data as JSON (library, tags, notes, upvotes, subscriptions), or
    the library as BibTeX."""
    from paperfeed.library.export import to_bibtex
    from paperfeed.store import library
    from paperfeed.store.user_data import export_user_data

    user = app.account(email)
    if not bibtex:
        data = export_user_data(app.engine, user["id"])
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(to_bibtex(library.whole_library(app.engine, user["id"], tag)), nl=False)


@library_group.command("list")
@USER
@click.option("--tag", help="Only this tag's papers.")
@JSON_OPTION
@pass_app
def library_list(app: AppContext, email: str, tag: str | None, as_json: bool) -> None:
    """List a user's saved papers, newest first, with tags and notes."""
    from paperfeed.store import library
    from paperfeed.text import counted

    user = app.account(email)
    ids = [card["arxiv_id"] for card in library.whole_library(app.engine, user["id"], tag)]
    details = library.library_details(app.engine, user["id"], ids)
    rows = [{"arxiv_id": i, **details.get(i, {"tags": [], "note": None})} for i in ids]
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        tags = f"  [{', '.join(row['tags'])}]" if row["tags"] else ""
        click.echo(f"{row['arxiv_id']}{tags}{'  ' + row['note'] if row['note'] else ''}")
    click.echo(counted(len(rows), "paper"))


@library_group.command("tag")
@click.argument("arxiv_id")
@click.argument("tags", nargs=-1)
@USER
@pass_app
def library_tag(app: AppContext, arxiv_id: str, tags: tuple[str, ...], email: str) -> None:
    """Save ARXIV_ID under exactly TAGS (none: saved, untagged)."""
    from paperfeed.store import library

    user = app.account(email)
    with library_errors(arxiv_id):
        kept = library.set_tags(app.engine, user["id"], arxiv_id, tags)
    click.echo(f"{arxiv_id} saved{' under ' + ', '.join(kept) if kept else ''}.")


@library_group.command("note")
@click.argument("arxiv_id")
@click.argument("text")
@USER
@pass_app
def library_note(app: AppContext, arxiv_id: str, text: str, email: str) -> None:
    """Keep TEXT as the note on ARXIV_ID ("" removes it)."""
    from paperfeed.store import library

    user = app.account(email)
    with library_errors(arxiv_id):
        kept = library.set_note(app.engine, user["id"], arxiv_id, text)
    click.echo(f"Note on {arxiv_id} {'kept' if kept else 'removed'}.")


@library_group.command("not-interested")
@click.argument("arxiv_id")
@USER
@click.option("--undo", is_flag=True, help="Take the mark back.")
@pass_app
def library_not_interested(app: AppContext, arxiv_id: str, email: str, undo: bool) -> None:
    """Mark ARXIV_ID "not interested": papers like it leave the user's recommendations."""
    from paperfeed.store import library

    user = app.account(email)
    with library_errors(arxiv_id):
        library.set_not_interested(app.engine, user["id"], arxiv_id, not undo)
    click.echo(f"{arxiv_id}: {'mark taken back' if undo else 'not interested'}.")


@click.command()
@USER
@click.option("--tag", help="Recommendations from this tag's papers only.")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@JSON_OPTION
@pass_app
def recommend(app: AppContext, email: str, tag: str | None, limit: int, as_json: bool) -> None:
    """Recent papers for a user, from what they saved, upvoted and rejected, with why."""
    user = app.account(email)
    recommender = app.services.recommender
    found = recommender.recommend(user["id"], tag=tag, limit=limit) if recommender else []
    if as_json:
        rows = [
            {
                "arxiv_id": r.arxiv_id,
                "score": r.score,
                "because": r.because,
                "title": r.card["title"],
            }
            for r in found
        ]
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for item in found:
        click.echo(f"{item.arxiv_id}  {item.card['title']}")
        if item.because:
            click.echo(f"{'':12}because you saved {item.because}: {item.because_title}")
    if not found:
        click.echo("Nothing to recommend: save or upvote a few papers, and run `paperfeed index`.")
