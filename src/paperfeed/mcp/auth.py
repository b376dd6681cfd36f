"""Who is calling: a user's API token (``paperfeed admin token``, or the profile page), sent as
``Authorization: Bearer …`` over HTTP or given to ``paperfeed mcp --token`` for stdio; without
one, only the public tools answer."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from paperfeed.store.accounts import bearer_token, user_for_token

SIGN_IN = (
    "This tool needs a signed-in user: give the MCP server one of your API tokens (the "
    "profile page makes one) as the Authorization: Bearer header, or with --token."
)
UNKNOWN = "Unknown API token."


class Caller:
    """Finds the user a tool call comes from: by its HTTP request's bearer token, or else by
    the token the stdio server was started with."""

    def __init__(self, engine: Engine, token: str | None = None) -> None:
        self.engine = engine
        self.token = token

    def user(self, ctx: Context) -> dict[str, Any]:
        """The calling user; a tool error without a token, or with one that is no user's."""
        headers = ctx.headers
        token = bearer_token(headers) if headers is not None else self.token
        if token is None:
            raise ToolError(SIGN_IN)
        user = user_for_token(self.engine, token)
        if user is None:
            raise ToolError(UNKNOWN)
        return user


class TokenCheck:
    """Refuses (401, ``{"error": …}``) an HTTP request with a token that is no user's, as the
    JSON API does, so that a client set up with a wrong token learns so at once; requests
    without a token pass (the public tools answer them)."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = bearer_token(Headers(scope=scope)) if scope["type"] == "http" else None
        if token and await anyio.to_thread.run_sync(user_for_token, self.engine, token) is None:
            refusal = JSONResponse({"error": UNKNOWN}, 401, headers={"WWW-Authenticate": "Bearer"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
