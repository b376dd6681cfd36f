"""Derived indexes that fail their checks: set aside (kept, not deleted), the admin told once;
and the checksum the checks use.

Everything under the index folder can be rebuilt from the store, so a bad index never has to
stop the site: it is renamed ``<folder>.broken-<time>`` (for a look later), the caller goes on
with an empty one, and one log line says what happened and what to run.
"""

from __future__ import annotations

import logging
import os
import zlib
from datetime import datetime
from pathlib import Path

log = logging.getLogger("paperfeed.index")

CHECKSUM_BUDGET = 64 << 20  # bytes of an index's files checksummed when it opens (~50 ms)
REBUILD = "run `paperfeed index --rebuild` (or keep `paperfeed worker` running) to rebuild it"


class BrokenIndex(RuntimeError):
    """An index whose files fail their checks (missing, truncated, corrupt, mismatched)."""


def set_aside(folder: Path, reason: str, meanwhile: str) -> Path | None:
    """Rename the broken ``folder`` out of the way and log one line: what is wrong with it,
    where it went, how the site copes (``meanwhile``) and what to run. ``None``: it was gone
    already (another process set it aside first)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder.with_name(f"{folder.name}.broken-{stamp}")
    suffix = 1
    while target.exists():  # two set aside within a second
        suffix += 1
        target = folder.with_name(f"{folder.name}.broken-{stamp}-{suffix}")
    try:
        os.rename(folder, target)
    except FileNotFoundError:
        return None
    log.error(
        "%s is broken (%s): set aside as %s; %s; %s", folder, reason, target, meanwhile, REBUILD
    )
    return target


def crc32(path: Path, length: int | None = None) -> int:
    """The CRC32 of the file's first ``length`` bytes (all of it by default)."""
    found = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20 if length is None else min(length, 1 << 20)):
            found = zlib.crc32(chunk, found)
            if length is not None:
                length -= len(chunk)
                if not length:
                    break
    return found
