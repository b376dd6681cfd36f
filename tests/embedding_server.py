"""An OpenAI-compatible ``/v1/embeddings`` server over any paperfeed embedder, with faults on
demand, for tests and benchmarks of the ``openai`` backend::

    with EmbeddingServer(embedder) as server:
        OpenAIEmbedder(server.url, embedder.model).embed_documents(texts)

It runs in background threads (one per connection, as a real server would take requests in
parallel) and records what it saw: requests, texts embedded, the most requests in flight.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass(frozen=True)
class Fault:
    """How to answer one request instead of embedding: an HTTP status, or no answer at all."""

    status: int | None = None  # None: close the connection without a word
    retry_after: int | None = None


class EmbeddingServer:
    """``embedder`` served at ``url`` (``http://127.0.0.1:<port>/v1``) on a free port, which
    stays the same across :meth:`stop` and :meth:`start`. ``delay`` seconds are spent on each
    request, so that concurrent ones overlap even with a fast embedder."""

    def __init__(self, embedder: Any, *, delay: float = 0.0) -> None:
        self.embedder = embedder
        self.delay = delay
        self.port = 0
        self.requests = 0  # received, faulty or not
        self.request_times: list[float] = []  # time.monotonic() of each
        self.texts: list[str] = []  # embedded and answered, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: deque[Fault] = deque()
        self._answers_left: int | None = None  # then the server dies
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> EmbeddingServer:
        self.embedder.dim  # noqa: B018 - loads the model before the first request
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (again) on the port, and answer normally."""
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._answers_left = None
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, name="embedding-server", daemon=True).start()

    def stop(self) -> None:
        """Stop listening and cut every open connection, as a crash would."""
        if self._httpd is not None:
            self._shut(self._httpd)

    def _shut(self, httpd: _Server) -> None:
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            if self._httpd is httpd:
                self._httpd = None
            for connection in self._connections:
                with contextlib.suppress(OSError):  # closed meanwhile
                    connection.shutdown(socket.SHUT_RDWR)

    def fail(self, count: int = 1, status: int = 503, retry_after: int | None = None) -> None:
        """Answer the next ``count`` requests with ``status`` (and a ``Retry-After``)."""
        self._faults.extend([Fault(status, retry_after)] * count)

    def drop(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        self._faults.extend([Fault()] * count)

    def die_after(self, answers: int) -> None:
        """Answer ``answers`` more requests, then stop (requests already in flight get
        nothing)."""
        self._answers_left = answers

    def _answer(self, handler: _Handler) -> None:
        body = orjson.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        with self._lock:
            self.requests += 1
            self.request_times.append(time.monotonic())
            fault = self._faults.popleft() if self._faults else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if fault and fault.status:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                error = {"message": f"injected HTTP {fault.status}", "type": "server_error"}
                handler.reply(fault.status, {"error": error}, headers)
            elif fault or not self._embed(handler, body):
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _embed(self, handler: _Handler, body: dict[str, Any]) -> bool:
        """Answer with the vectors of the texts (or why not); ``False`` if the server is dead."""
        texts = body.get("input")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            error = {"message": "input must be a list of strings", "type": "invalid_request"}
            handler.reply(400, {"error": error})
            return True
        vectors = self.embedder.embed_documents(texts) if texts else []
        data = [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(vectors)
        ]
        with self._lock:
            if self._answers_left == 0:
                return False
            self.texts += texts
            if self._answers_left is not None:
                self._answers_left -= 1
            last = self._answers_left == 0
        handler.reply(200, {"object": "list", "data": data, "model": body.get("model")})
        if last and self._httpd is not None:
            threading.Thread(target=self._shut, args=(self._httpd,), daemon=True).start()
        return True

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: EmbeddingServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # not a connection cut on purpose
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect of an API server

    def setup(self) -> None:
        super().setup()
        self.server.owner._opened(self.connection)

    def finish(self) -> None:
        self.server.owner._closed(self.connection)
        with contextlib.suppress(OSError):  # the connection was cut
            super().finish()

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/embeddings":
            self.reply(404, {"error": {"message": f"no route {self.path}"}})
            return
        self.server.owner._answer(self)

    def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        content = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the counters instead
