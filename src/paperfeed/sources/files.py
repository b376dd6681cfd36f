"""Reading JSON-lines files, plain or gzip-compressed, in constant memory."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import orjson

from paperfeed.sources.base import SourceError

GZIP_MAGIC = b"\x1f\x8b"
READ_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile is an OSError


class LineFile:
    """The lines of one file; ``position`` is how many bytes of the file were read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.size = path.stat().st_size
            with path.open("rb") as raw:
                self.compressed = raw.read(2) == GZIP_MAGIC
        except OSError as exc:
            raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from None
        self._raw: IO[bytes] | None = None

    @property
    def position(self) -> int:
        return self._raw.tell() if self._raw and not self._raw.closed else 0

    def lines(self, skip: int = 0) -> Iterator[tuple[int, bytes]]:
        """Yield ``(line number, line)`` from line ``skip + 1`` on; a corrupt or truncated
        gzip stream raises :class:`SourceError` saying where."""
        number = 0
        with self.path.open("rb") as self._raw:
            stream: Iterable[bytes] = (
                gzip.GzipFile(fileobj=self._raw) if self.compressed else self._raw
            )
            try:
                for number, line in enumerate(stream, 1):
                    if number > skip:
                        yield number, line
            except READ_ERRORS as exc:
                raise SourceError(
                    f"{self.path}: corrupt gzip data after line {number} ({exc})"
                ) from None

    def first_object(self) -> tuple[int, object]:
        """The first non-blank line parsed as JSON, or :class:`SourceError` if it is not JSON."""
        for number, line in self.lines():
            if line.strip():
                try:
                    return number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise SourceError(f"{self.path}:{number}: not JSON lines ({exc.msg})") from None
        raise SourceError(f"{self.path}: empty file, no records")

    def verify(self) -> None:
        """Decompress the whole file once so a corrupt gzip stream fails before any write."""
        if not self.compressed:
            return
        try:
            with self.path.open("rb") as raw, gzip.GzipFile(fileobj=raw) as stream:
                while stream.read(1 << 20):
                    pass
        except READ_ERRORS as exc:
            raise SourceError(f"{self.path}: corrupt gzip data ({exc})") from None
