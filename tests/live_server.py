"""An ASGI app served for real by uvicorn in a background thread, for browser tests."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class LiveServer:
    """``with LiveServer(app) as server:`` serves ``app`` on 127.0.0.1 at ``server.url``
    (a free port the OS picks) until the block ends."""

    def __init__(self, app: Any, startup_timeout: float = 20.0) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,  # the OS picks a free port: no race with other processes
            lifespan="off",
            ws="none",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.startup_timeout = startup_timeout
        self.url = ""

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
