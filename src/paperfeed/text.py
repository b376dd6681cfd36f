"""Titles and abstracts as readable text: arXiv's LaTeX shown as plain Unicode, for the web
pages and the mails alike."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces="macros")
UNESCAPED = re.compile(r"(?<!\\)([%&#])")  # comment/alignment characters, meant literally
UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
logging.getLogger("pylatexenc").setLevel(logging.ERROR)


@lru_cache(maxsize=20_000)
def plain(text: str | None) -> str:
    """LaTeX in a title or abstract as readable Unicode (``$\\alpha$`` -> Greek alpha); the text
    as it is where the LaTeX does not parse. Jinja escapes the result like any text."""
    if not text or not any(c in text for c in "$\\{"):
        return text or ""
    if len(UNESCAPED_DOLLAR.findall(text)) % 2:  # a lone $ is money ("costs $5"), not maths
        return text
    try:
        converted = LATEX.latex_to_text(UNESCAPED.sub(r"\\\1", text))
    except Exception:  # pylatexenc raises many kinds on odd input; the raw text is fine
        return text
    return text if "%s" in converted else " ".join(converted.split())


def lead(text: str | None, chars: int = 260) -> str:
    """The opening of an abstract for a card, LaTeX shown as text. The raw text is cut first
    (at a space, never inside ``$...$``): converting a whole abstract is the slow part."""
    if not text or len(text) <= chars:
        return plain(text)
    head = text[: max(text.rfind(" ", 0, chars), chars // 2)]
    dollars = [m.start() for m in UNESCAPED_DOLLAR.finditer(head)]
    if len(dollars) % 2:
        head = head[: dollars[-1]]
    return plain(head.rstrip()) + " …"
