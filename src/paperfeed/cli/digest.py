"""``paperfeed digest`` (build and send digests) and ``paperfeed subscriptions`` (admin)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import orjson

from paperfeed.cli.context import JSON_OPTION, AppContext, pass_app, progress_bar, resumable


class Moment(click.ParamType):
    """An ISO 8601 date and time (UTC unless it says otherwise)."""

    name = "DATETIME"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a time like 2026-11-23T07:30", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group()
def digest() -> None:
    """Email digests: queue the due ones, send the outbox."""


@digest.command("run")
@click.option("--now", type=Moment(), help="Act as if it were this time (catching up, tests).")
@pass_app
def digest_run(app: AppContext, now: datetime | None) -> None:
    """Queue every digest that is due and not queued yet, then send the outbox.

    Safe to run at any time, as often as wanted (e.g. every 10 minutes from cron): each
    subscriber gets one digest per period however many runs there are.
    """
    with resumable(app), progress_bar(app, "Digests") as bar:
        done = 0

        def step(count: int) -> None:
            nonlocal done
            done += count
            bar(done, None)

        built, delivered = app.services.run_digests(now, step)
    click.echo(str(built))
    click.echo(str(delivered))
    if app.settings.smtp_url is None:
        click.echo("No mail server set: set PAPERFEED_SMTP_URL (smtp://user:pass@host:587).")


@digest.command("webhooks")
@click.option("--now", type=Moment(), help="Act as if it were this time (catching up, tests).")
@pass_app
def digest_webhooks(app: AppContext, now: datetime | None) -> None:
    """Queue the follows' new papers for their webhooks, then make the due calls (the
    worker does it every minute; this runs it once, e.g. from cron)."""
    with resumable(app):
        queued, delivered = app.services.run_webhooks(now)
    click.echo(str(queued))
    click.echo(str(delivered))


@digest.command("preview")
@click.argument("subscription_id", type=int)
@click.option("--html", is_flag=True, help="Print the HTML part instead of the text.")
@pass_app
def digest_preview(app: AppContext, subscription_id: int, html: bool) -> None:
    """Print the next digest of SUBSCRIPTION_ID as it would be mailed now (from the newest
    papers in the store)."""
    from paperfeed.digest.mail import DigestMail
    from paperfeed.store.subscriptions import get_subscription

    subscription = get_subscription(app.engine, subscription_id)
    if subscription is None:
        raise click.ClickException(f"there is no subscription {subscription_id}")
    mailer = app.services.mailer
    found = app.services.next_digest(subscription)
    mail = DigestMail(mailer.links, mailer.sender).mail(found)
    click.echo(f"Subject: {mail.subject}\n")
    click.echo(mail.html if html else mail.text)
    if not found.papers:
        click.echo("(no new papers: this digest would not be sent)")


@click.group()
def subscriptions() -> None:
    """Manage email subscriptions (admin)."""


@subscriptions.command("add")
@click.argument("email")
@click.option("--weekly", is_flag=True, help="Weekly instead of every weekday.")
@click.option("--search", "query", help="A saved search instead of trending papers.")
@click.option("--recommend", is_flag=True, help="Recommendations for the account of EMAIL.")
@click.option("--timezone", default="UTC", show_default=True, help="e.g. Europe/Berlin.")
@click.option("--hour", type=click.IntRange(0, 23), default=7, show_default=True)
@click.option("--confirmed", is_flag=True, help="Active at once, no confirmation mail.")
@pass_app
def subscriptions_add(
    app: AppContext,
    email: str,
    weekly: bool,
    query: str | None,
    recommend: bool,
    timezone: str,
    hour: int,
    confirmed: bool,
) -> None:
    """Subscribe EMAIL to a digest (trending papers unless --search or --recommend)."""
    from paperfeed.digest.outbox import deliver
    from paperfeed.digest.run import mail_link
    from paperfeed.store.schema import DigestKind, Frequency, SubscriptionStatus
    from paperfeed.store.subscriptions import SubscriptionError, subscribe

    kind = (
        DigestKind.RECOMMEND if recommend else DigestKind.SEARCH if query else DigestKind.TRENDING
    )
    try:
        made = subscribe(
            app.engine,
            email,
            kind=kind,
            frequency=Frequency.WEEKLY if weekly else Frequency.DAILY,
            query=query,
            timezone=timezone,
            hour=hour,
            confirmed=confirmed,
        )
    except SubscriptionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Subscription {made['id']}: {_describe(made)}")
    if made["status"] == SubscriptionStatus.PENDING:
        mail_link(app.engine, made, app.services.mailer)
        click.echo(str(deliver(app.engine, app.services.mailer.smtp)))
        click.echo("A confirmation mail asks the address to confirm (or add --confirmed).")


@subscriptions.command("list")
@click.option("--email", help="Only this address's subscriptions.")
@JSON_OPTION
@pass_app
def subscriptions_list(app: AppContext, email: str | None, as_json: bool) -> None:
    """List the subscriptions."""
    from paperfeed.store.subscriptions import list_subscriptions
    from paperfeed.text import counted

    found = list_subscriptions(app.engine, email=email)
    if as_json:
        click.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    for row in found:
        click.echo(f"{row['id']:>6}  {row['email']:<40} {_describe(row)}")
    click.echo(counted(len(found), "subscription"))


@subscriptions.command("remove")
@click.argument("email")
@pass_app
def subscriptions_remove(app: AppContext, email: str) -> None:
    """Delete every subscription of EMAIL, with its digest history."""
    from paperfeed.store.subscriptions import remove

    gone = remove(app.engine, email)
    if not gone:
        raise click.ClickException(f"{email} has no subscriptions")
    click.echo(f"Removed {gone} subscription{'s' if gone != 1 else ''} of {email}.")


def _describe(row: dict) -> str:
    from paperfeed.store.schema import DigestKind

    what = f"search “{row['query']}”" if row["kind"] == DigestKind.SEARCH else row["kind"]
    when = f"{row['frequency']} at {row['hour']:02d}:00 {row['timezone']}"
    return f"{what}, {when}, {row['status']}"
