"""Serving recorded protocol responses (``shared/data/protocol``) to the network sources:
an ``httpx.MockTransport`` answering by query parameters, and a fake clock so tests never wait.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx

from paperfeed.sources.http import PoliteClient

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PROTOCOL = DATA / "protocol"
PATH = ":path"  # a route key matching the request's URL path instead of a query parameter


@dataclass(frozen=True)
class Reply:
    """One HTTP response to serve."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Answer = Reply | Exception
Route = tuple[dict[str, str], Answer | Sequence[Answer]]


@cache
def manifest() -> dict[str, dict]:
    """The manifest entries of the recorded files, by path relative to ``PROTOCOL``."""
    entries = json.loads((PROTOCOL / "manifest.json").read_text())
    return {entry["file"]: entry for entry in entries}


def files(folder: str, pattern: str = "*.xml") -> list[str]:
    """The recorded files of a folder (recursively), as paths relative to ``PROTOCOL``."""
    return sorted(str(p.relative_to(PROTOCOL)) for p in (PROTOCOL / folder).rglob(pattern))


def body(name: str) -> bytes:
    """A recorded body, decompressed if the file is gzip."""
    raw = (PROTOCOL / name).read_bytes()
    return gzip.decompress(raw) if name.endswith(".gz") else raw


def recorded(name: str) -> Reply:
    """A recorded file as the response it was, with the status code the manifest gives."""
    return Reply(body(name), manifest().get(name, {}).get("status_code", 200))


def broken(name: str) -> Reply:
    """A recorded body cut in half: its XML or JSON does not parse."""
    data = body(name)
    return Reply(data[: len(data) // 2])


def unavailable(seconds: int) -> Reply:
    """``503 Service Unavailable`` with ``Retry-After``, as arXiv's OAI-PMH sends."""
    return Reply(b"Retry later", 503, {"Retry-After": str(seconds)})


def network_error() -> Exception:
    """A connection that broke off, raised by the transport (worth retrying)."""
    return httpx.ReadTimeout("timed out")


def unreachable() -> Exception:
    """No connection at all (no network, no DNS), raised by the transport."""
    return httpx.ConnectError("[Errno -2] Name or service not known")


def recorded_transport(
    routes: Sequence[Route], on_request: Callable[[httpx.Request], None] = lambda r: None
) -> httpx.MockTransport:
    """A transport answering each request from the first route whose keys all match its
    query parameters (``PATH`` matches the URL path); a sequence of answers is served in
    turn, its last answer repeating. A request no route matches fails the test."""
    served: dict[int, int] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        on_request(request)
        for number, (match, answers) in enumerate(routes):
            if all(_value(request, key) == value for key, value in match.items()):
                sequence = answers if isinstance(answers, Sequence) else [answers]
                answer = sequence[min(served.get(number, 0), len(sequence) - 1)]
                served[number] = served.get(number, 0) + 1
                if isinstance(answer, Exception):
                    raise answer
                return httpx.Response(answer.status, headers=answer.headers, content=answer.body)
        raise AssertionError(f"no recorded reply for {request.url}")

    return httpx.MockTransport(handle)


def _value(request: httpx.Request, key: str) -> str | None:
    return request.url.path if key == PATH else request.url.params.get(key)


class FakeNet:
    """A :class:`PoliteClient` on recorded routes with a fake clock: ``sleeps`` are the waits
    asked for, ``requests`` and ``times`` what was requested and when."""

    def __init__(self, routes: Sequence[Route], *, delay: float = 3.0, retries: int = 2) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.client = PoliteClient(
            delay=delay,
            retries=retries,
            transport=recorded_transport(routes, self._record),
            sleep=self._sleep,
            clock=lambda: self.now,
        )

    def params(self, number: int) -> dict[str, str]:
        """The query parameters of request ``number``."""
        return dict(self.requests[number].url.params)

    def _record(self, request: httpx.Request) -> None:
        self.requests.append(request)
        self.times.append(self.now)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
