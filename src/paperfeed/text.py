"""Text as people read it: titles and abstracts with arXiv's LaTeX shown as plain Unicode (by
:mod:`paperfeed.latex`), for the web pages, the feeds and the mails alike; counts with their
nouns, for pages and the command line; counts over time as a text sparkline, for mails."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from paperfeed.latex import DOLLAR, to_text

LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"  # ▁ to █, an eighth to a whole
ASCII_PUNCTUATION = bytes(c for c in range(128) if not chr(c).isalnum())


def plain(text: str | None) -> str:
    """LaTeX in a title or abstract as readable Unicode (``$\\alpha^3$`` -> α³); the text as it
    is where the LaTeX does not parse. Jinja escapes the result like any text."""
    return to_text(text) if text else ""


def lead(text: str | None, chars: int = 260) -> str:
    """The opening of an abstract for a card, LaTeX shown as text. The raw text is cut first
    (at a space, never inside ``$...$``): converting a whole abstract is the slow part."""
    if not text or len(text) <= chars:
        return plain(text)
    head = text[: max(text.rfind(" ", 0, chars), chars // 2)]
    dollars = [m.start() for m in DOLLAR.finditer(head)]
    if len(dollars) % 2:
        head = head[: dollars[-1]]
    return plain(head.rstrip()) + " …"


def counted(number: int, noun: str) -> str:
    """``1 paper``, ``1,283 papers``: a count and its noun (plurals by ``s``)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def sparkline(counts: Sequence[int]) -> str:
    """Counts as a line of block characters for plain text (``▁▃█``): nothing is the lowest
    block, anything more at least the second, the highest count the full block."""
    top = max(counts, default=0)
    return "".join(
        BLOCKS[0] if not count or not top else BLOCKS[1 + round(count / top * 6)]
        for count in counts
    )


def folded_title(title: str) -> str:
    """A title's ASCII letters and digits, lower-cased, LaTeX commands and accents dropped: the
    stored, indexed key that finds the few papers a reference's title may be (library matching
    then compares the exact folded title, which needs the LaTeX read and is ten times slower)."""
    if "\\" in title:
        title = LATEX_COMMAND.sub("", title)
    if not title.isascii():
        title = unicodedata.normalize("NFKD", title)
    return title.lower().encode("ascii", "ignore").translate(None, ASCII_PUNCTUATION).decode()
