"""``paperfeed mcp``: the MCP server for AI agents, on stdio or Streamable HTTP."""

from __future__ import annotations

import click

from paperfeed.cli.context import AppContext, pass_app

INSTALL = "pip install 'paperfeed[mcp]'"


@click.command("mcp")
@click.option(
    "--http", "over_http", is_flag=True, help="Serve Streamable HTTP at /mcp instead of stdio."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="With --http: address to listen on."
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8001, show_default=True, help="With --http."
)
@click.option(
    "--token",
    envvar="PAPERFEED_MCP_TOKEN",
    help="For stdio: the API token of the user the library tools act for (over HTTP each "
    "client sends its own as Authorization: Bearer).",
)
@pass_app
def mcp(app: AppContext, over_http: bool, host: str, port: int, token: str | None) -> None:
    """Serve the MCP server for AI agents: search, papers, the daily feed and trending for
    anybody; a user's library, recommendations and subscriptions with their API token."""
    try:
        from paperfeed.mcp.server import serve_http, serve_stdio
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "mcp":
            raise
        raise click.ClickException(f"the MCP server needs the mcp package: {INSTALL}") from None
    from paperfeed.store.accounts import user_for_token

    if over_http:
        if token:
            raise click.UsageError("--token is for stdio: over HTTP each client sends its own.")
        click.echo(f"MCP server at http://{host}:{port}/mcp (Ctrl-C stops it)", err=True)
        serve_http(app.services, host, port)
        return
    if token and user_for_token(app.engine, token) is None:
        raise click.ClickException("unknown API token (make one with paperfeed admin token)")
    serve_stdio(app.services, token)
