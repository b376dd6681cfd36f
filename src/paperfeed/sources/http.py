"""A polite HTTP client for arXiv and friends: spacing between requests, ``Retry-After``,
retries with backoff. Tests swap the transport (``httpx.MockTransport``) and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

import httpx

from paperfeed.sources.base import SourceError

RETRY_STATUSES = {429, 500, 502, 503, 504}
QueryParams = Mapping[str, str | int | None]  # None: left out of the URL


class Unreachable(SourceError):
    """No connection to ``host`` at all (no network, no DNS): retrying will not help."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(
            f"cannot reach {host} ({reason}); check the network, or import a file "
            "instead (paperfeed ingest jsonl|kaggle|hf-daily FILE)"
        )
        self.host = host
        self.reason = reason


class PoliteClient:
    """GETs at most one request per ``delay`` seconds; retries 429/5xx and network errors,
    waiting as long as the server's ``Retry-After`` asks (arXiv's OAI-PMH sends 503 + it)."""

    def __init__(
        self,
        *,
        delay: float = 3.0,
        user_agent: str = "paperfeed",
        timeout: float = 60.0,
        retries: int = 5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )
        self.delay = delay
        self.retries = retries
        self._sleep = sleep
        self._clock = clock
        self._last: float | None = None

    def get(self, url: str, params: QueryParams | None = None) -> httpx.Response:
        """The response to ``GET url``; 4xx responses are returned for the caller to read
        (arXiv explains errors in the body). Raises :class:`SourceError` once retries run out."""
        shown = httpx.URL(url, params=params)
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                response = self._client.get(url, params=params)
            except httpx.ConnectError as exc:  # no route or no DNS: waiting will not help
                raise Unreachable(shown.host, str(exc)) from None
            except httpx.TransportError as exc:
                problem = f"cannot reach {shown} ({type(exc).__name__}: {exc})"
                wait = self._backoff(attempt)
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"{shown} answered HTTP {response.status_code}"
                wait = retry_after(response) or self._backoff(attempt)
            if attempt < self.retries:
                self._sleep(wait)
        raise SourceError(f"{problem}; gave up after {self.retries + 1} attempts")

    def close(self) -> None:
        self._client.close()

    def _wait_turn(self) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.delay:
            self._sleep(self.delay - (now - self._last))
        self._last = self._clock()

    def _backoff(self, attempt: int) -> float:
        return max(self.delay, 1.0) * 2.0**attempt


def retry_after(response: httpx.Response) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
