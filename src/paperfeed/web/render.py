"""Templates and the filters they use: LaTeX shown as plain Unicode text (in search snippets
too, their highlights kept), dates, links."""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexGroupNode,
    LatexMathNode,
    LatexNode,
    LatexWalker,
)

from paperfeed.arxiv_ids import abs_url, pdf_url
from paperfeed.index.lexical import Snippet
from paperfeed.text import LATEX, UNESCAPED, UNESCAPED_DOLLAR, lead, plain
from paperfeed.web.security import csrf_token, current_user

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def snippet_html(snippet: Snippet | None) -> Markup:
    """A search snippet as HTML, the query's words in ``<b>``, with its LaTeX shown as
    :func:`plain` text like the rest of the card (as it came where the LaTeX does not parse)."""
    if snippet is None:
        return Markup("")
    if any(c in snippet.text for c in "$\\{"):
        snippet = _latex_as_text(snippet) or snippet
    return Markup(snippet.html())


def _latex_as_text(snippet: Snippet) -> Snippet | None:
    """``snippet`` read as :func:`plain` reads LaTeX, its highlights carried along: a LaTeX
    command a highlight touches is highlighted whole."""
    text = snippet.text
    if len(UNESCAPED_DOLLAR.findall(text)) % 2:  # the fragment ends inside $...$
        text += "$"
    escaped = [m.start() for m in UNESCAPED.finditer(text)]  # plain() puts \\ before each

    def moved(at: int) -> int:
        return at + bisect_left(escaped, at)

    ranges = [(moved(start), moved(end)) for start, end in snippet.highlights]
    try:
        marked = _marked(LatexWalker(UNESCAPED.sub(r"\\\1", text)).get_latex_nodes()[0], ranges)
    except Exception:  # pylatexenc raises many kinds on odd input; the raw text is fine
        return None
    shown = _collapsed(marked)
    return None if "%s" in shown.text else shown


def _marked(nodes: list[LatexNode], ranges: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The text of ``nodes``, as ``LATEX`` converts them, character by character, each with
    whether it is highlighted."""
    marked: list[tuple[str, bool]] = []
    for node in nodes:
        if node.isNodeType(LatexCharsNode):
            marked += [(c, _lit(at, ranges)) for at, c in enumerate(node.chars, node.pos)]
        elif node.isNodeType(LatexGroupNode):  # {…} reads as what it holds
            marked += _marked(node.nodelist, ranges)
        elif node.isNodeType(LatexMathNode) and node.displaytype == "inline":  # $…$ too, trimmed
            inside = _marked(node.nodelist, ranges)
            text = "".join(c for c, _ in inside)
            marked += inside[len(text) - len(text.lstrip()) : len(text.rstrip())]
        else:
            marked += _command(node, ranges)
    return marked


def _command(node: LatexNode, ranges: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """A LaTeX command's text, the highlighted words where they show in it (``\\emph{word}``),
    else all of it where a highlight touches it (``\\alpha``, ``\\"o``)."""
    text, end = LATEX.node_to_text(node), node.pos + node.len
    touching = [(max(s, node.pos), min(e, end)) for s, e in ranges if s < end and node.pos < e]
    if not touching:
        return [(c, False) for c in text]
    source, lit = node.latex_verbatim(), [False] * len(text)
    for start, stop in touching:
        word = source[start - node.pos : stop - node.pos]
        for found in re.finditer(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", text):
            lit[found.start() : found.end()] = [True] * len(word)
    return list(zip(text, lit if any(lit) else [True] * len(text), strict=True))


def _lit(at: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= at < end for start, end in ranges)


def _collapsed(marked: list[tuple[str, bool]]) -> Snippet:
    """The marked characters as a snippet, white space collapsed as :func:`plain` does."""
    text = "".join(c for c, _ in marked)
    shown: list[tuple[str, bool]] = []
    for word in re.finditer(r"\S+", text):
        if shown:  # a space is highlighted inside a highlight only
            inside = shown[-1][1] and marked[word.start() - 1][1] and marked[word.start()][1]
            shown.append((" ", inside))
        shown += marked[word.start() : word.end()]
    flags = "".join("1" if on else "0" for _, on in shown)
    return Snippet("".join(c for c, _ in shown), [m.span() for m in re.finditer("1+", flags)])


def day_label(value: date | datetime | None) -> str:
    return value.strftime("%a %d %b %Y") if value else ""


def counted(number: int, noun: str) -> str:
    """``1 paper``, ``1,283 papers``: a count and its noun (plurals by ``s``)."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def author_url(name: str) -> str:
    return "/author/" + quote(name, safe="")


def with_query(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (``None`` removes one)."""
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        params.pop(key, None)
    return f"{request.url.path}?{urlencode(params)}"


TEMPLATES.env.filters.update(
    lead=lead,
    plain=plain,
    snippet=snippet_html,
    day=day_label,
    arxiv_abs=abs_url,
    pdf=pdf_url,
    counted=counted,
)
TEMPLATES.env.globals.update(author_url=author_url, with_query=with_query)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the signed-in user and the CSRF token available."""
    context.setdefault("user", current_user(request))
    context.setdefault("csrf", csrf_token(request))
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
