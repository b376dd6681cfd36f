"""The server: :func:`build_server` over the services, run on stdio (:func:`serve_stdio`,
for an agent that starts it) or Streamable HTTP (:func:`http_app`, :func:`serve_http`)."""

from __future__ import annotations

from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError
from starlette.types import ASGIApp

from paperfeed.mcp import papers, personal
from paperfeed.mcp.auth import Caller, TokenCheck
from paperfeed.services import Services

INSTRUCTIONS = (
    "paperfeed: research papers from arXiv, by day, trending, and searched by words and "
    "meaning. Tools answer JSON; read a paper in full as Markdown at paper://<arXiv id>. "
    "The library, recommendation and subscription tools act for the user whose API token the "
    "server was given."
)
PATH = "/mcp"


class PaperfeedServer(MCPServer[Any]):
    """An :class:`MCPServer` whose wrong arguments are told in plain words (``limit: Input
    should be greater than or equal to 1``), not as pydantic's report."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            wrong = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in cause.errors()
            )
            raise ToolError(f"Wrong arguments for {name}: {wrong}.") from None


def build_server(services: Services, token: str | None = None) -> MCPServer[Any]:
    """The tools and resources over ``services``; ``token`` is the stdio caller's API token."""
    server = PaperfeedServer("paperfeed", instructions=INSTRUCTIONS, log_level="WARNING")
    papers.register(server, services)
    personal.register(server, services, Caller(services.engine, token))
    return server


def serve_stdio(services: Services, token: str | None) -> None:
    """Serve one client on standard input and output until it closes them."""
    build_server(services, token).run("stdio")


def http_app(services: Services, host: str) -> ASGIApp:
    """The Streamable HTTP app (at ``/mcp``), refusing unknown API tokens."""
    app = build_server(services).streamable_http_app(streamable_http_path=PATH, host=host)
    return TokenCheck(app, services.engine)


def serve_http(services: Services, host: str, port: int) -> None:
    """Serve Streamable HTTP at ``http://HOST:PORT/mcp`` until stopped."""
    uvicorn.run(http_app(services, host), host=host, port=port, log_level="warning")
