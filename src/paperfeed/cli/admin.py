"""``paperfeed admin``: make admins, verify addresses, make API tokens, hide papers."""

from __future__ import annotations

import click

from paperfeed.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.cli.context import AppContext, pass_app


@click.group()
def admin() -> None:
    """Administer the site: admins, addresses, and papers hidden from it."""


@admin.command("create")
@click.argument("email")
@click.option("--password", help="For a new account (asked for, hidden, when not given).")
@pass_app
def admin_create(app: AppContext, email: str, password: str | None) -> None:
    """Make EMAIL an admin, creating the account if it has none."""
    from paperfeed.store.accounts import AccountError, find_user, make_admin

    exists = find_user(app.engine, email) is not None
    if not exists and password is None:
        password = click.prompt(
            f"Password for {email.strip().lower()}", hide_input=True, confirmation_prompt=True
        )
    try:
        user = make_admin(app.engine, email, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{user['email']} is an admin ({'existing' if exists else 'new'} account).")


@admin.command("verify")
@click.argument("email")
@pass_app
def admin_verify(app: AppContext, email: str) -> None:
    """Verify the address of EMAIL's account, as its mailed link would (for a site that
    cannot send mail, or a user whose mail does not arrive)."""
    from paperfeed.store.accounts import is_verified, verify_email

    user = app.account(email)
    if is_verified(user):
        click.echo(f"{user['email']} was verified already.")
        return
    verify_email(app.engine, user["id"], user["email"])
    click.echo(f"{user['email']} is verified.")


@admin.command("hide")
@click.argument("arxiv_id")
@click.option("--show", is_flag=True, help="Show the paper again.")
@pass_app
def admin_hide(app: AppContext, arxiv_id: str, show: bool) -> None:
    """Hide ARXIV_ID from every page, feed and search (or --show it again)."""
    from paperfeed.store.activity import UnknownPaper, set_hidden

    try:
        ident = parse_arxiv_id(arxiv_id).id
        set_hidden(app.engine, ident, not show)
    except InvalidArxivId as exc:
        raise click.BadParameter(str(exc), param_hint="ARXIV_ID") from None
    except UnknownPaper:
        raise click.ClickException(f"{arxiv_id} is not in the store") from None
    click.echo(f"{ident} is {'shown' if show else 'hidden'}.")


@admin.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@pass_app
def admin_token(app: AppContext, email: str, name: str) -> None:
    """Make an API token for EMAIL's account and print it (the only time it is shown): for
    the JSON API and the MCP server. The profile page lists and revokes tokens."""
    from paperfeed.store.accounts import create_token

    user = app.account(email)
    click.echo(create_token(app.engine, user["id"], name))
