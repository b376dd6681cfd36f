"""`paperfeed serve --workers 4`: every worker starts, passes uvicorn's health checks (a ping
each worker must answer within 5 s, or it is killed and replaced) and answers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from conftest import SAMPLE, free_port, wait_for
from paperfeed.cli import cli

WORKERS = 4
# what pip writes for the `paperfeed` command: run from a file, which every worker process
# imports again (as __mp_main__) before it can answer a health check
CONSOLE_SCRIPT = """import sys
from paperfeed.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""
HEALTH_CHECKS = 6.0  # seconds: past uvicorn's first round of pings, 5 s each at most


def test_serve_with_four_workers_starts_them_all_and_keeps_them(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["ingest", "jsonl", str(SAMPLE)]).exit_code == 0
    port, log, script = free_port(), tmp_path / "serve.log", tmp_path / "paperfeed"
    script.write_text(CONSOLE_SCRIPT)
    command = [sys.executable, str(script), "serve", "--workers", str(WORKERS)]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--port", str(port)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: log.read_text().count("Application startup complete") >= WORKERS, 120)
        time.sleep(HEALTH_CHECKS)
        pages = [httpx.get(f"http://127.0.0.1:{port}/papers", timeout=10) for _ in range(20)]
        assert [page.status_code for page in pages] == [200] * 20
        text = log.read_text()
        workers = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", text)]
        assert len(workers) == WORKERS, text  # none killed and started again
        for pid in workers:
            os.kill(pid, 0)  # each still running
        assert not re.search(r"died|not ready|kill|Traceback", text, re.IGNORECASE), text
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
