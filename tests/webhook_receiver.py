"""A real HTTP server on 127.0.0.1 that takes webhook calls: it keeps each request and answers
as a test scripts it (a status, ``Retry-After``, or a delay past the caller's timeout)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    status: int = 204
    delay: float = 0.0  # seconds before answering
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """``with Receiver(port) as receiver:``; ``script`` answers the next calls in turn, then
    204 to every call."""

    def __init__(self, port: int = 0) -> None:
        self.calls: list[Call] = []
        self.script: deque[Answer] = deque()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.calls.append(Call(dict(self.headers.items()), body))
                answer = receiver.script.popleft() if receiver.script else Answer()
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the caller gave up waiting
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def deliveries(self) -> list[str]:
        """The ``X-Paperfeed-Delivery`` of each call received, in order."""
        return [call.headers["X-Paperfeed-Delivery"] for call in self.calls]
