"""The digest schedule beside the web app: a failed run is logged, the server goes on."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.worker import start_digest_schedule


def test_a_failing_digest_run_is_logged_and_the_schedule_stops_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.from_settings(Settings(home=tmp_path / "home", digest_minutes=1))
    tried = threading.Event()

    def broken(*args: object) -> None:
        tried.set()
        raise ConnectionError("the mail server went away")

    monkeypatch.setattr(services, "run_digests", broken)
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="paperfeed.worker"):
        thread = start_digest_schedule(services, stop)
        assert tried.wait(10)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert "digest run failed; trying again in 1 min" in caplog.text
    assert "the mail server went away" in caplog.text
