"""A size limit on every request body, applied as it arrives: a declared ``Content-Length``
over the limit is refused before a byte is read, a chunked body once it passes the limit.

The refusal is an :class:`HTTPException` (413) raised where the app reads the body, so the
app's own handlers answer it: ``{"error": ...}`` under ``/api``, the error page elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: bodies of at most ``default`` bytes, or ``larger[path]`` for the few
    paths that take files."""

    def __init__(self, app: ASGIApp, default: int, larger: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.larger = dict(larger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        too_large = _too_large(limit)
        if declared.isdigit() and int(declared) > limit:

            async def refuse() -> Message:
                raise too_large

            await self.app(scope, refuse, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> HTTPException:
    size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} kB"
    return HTTPException(413, f"The request body is over {size}: send less at once.")
