"""Templates and the filters they use: LaTeX shown as plain Unicode text (in search snippets
too, their highlights kept), dates, links."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable, Mapping
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from paperfeed.arxiv_ids import abs_url, pdf_url
from paperfeed.index.lexical import Snippet
from paperfeed.latex import DOLLAR, SIGNS, Piece, pieces
from paperfeed.records import keywords_of
from paperfeed.text import counted, lead, plain
from paperfeed.urls import code_url, is_code_url, safe_urls
from paperfeed.web.kept import Kept
from paperfeed.web.security import csrf_token, current_user

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
VISITOR_PAGE_SECONDS = 300  # how long a visitor's page is kept at most, whatever its key


def snippet_html(snippet: Snippet | None) -> Markup:
    """A search snippet as HTML, the query's words in ``<b>``, with its LaTeX shown as
    :func:`plain` text like the rest of the card (as it came where the LaTeX does not parse)."""
    if snippet is None:
        return Markup("")
    if SIGNS.search(snippet.text):
        snippet = _latex_as_text(snippet) or snippet
    return Markup(snippet.html())


def _latex_as_text(snippet: Snippet) -> Snippet | None:
    """``snippet`` read as :func:`plain` reads LaTeX, its highlights carried along: a piece
    of LaTeX a highlight touches (``\\alpha``, ``x^2``) is highlighted whole."""
    text = snippet.text
    if len(DOLLAR.findall(text)) % 2:  # the fragment ends inside $...$
        text += "$"
    found = pieces(text)
    if found is None:
        return None
    return _collapsed([lit for piece in found for lit in _marked(piece, text, snippet.highlights)])


def _marked(piece: Piece, source: str, ranges: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """A piece's characters, each with whether it is highlighted: the highlighted words where
    they show in it (``\\emph{word}``), else all of it where a highlight touches it."""
    text, start, end = piece
    if text == source[start:end]:  # plain text: each character lit where it is
        return [(c, any(s <= at < e for s, e in ranges)) for at, c in enumerate(text, start)]
    touching = [(max(s, start), min(e, end)) for s, e in ranges if s < end and start < e]
    if not touching:
        return [(c, False) for c in text]
    lit = [False] * len(text)
    for begin, stop in touching:
        word = source[begin:stop]
        for found in re.finditer(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", text):
            lit[found.start() : found.end()] = [True] * len(word)
    return list(zip(text, lit if any(lit) else [True] * len(text), strict=True))


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


def author_url(name: str) -> str:
    return "/author/" + quote(name, safe="")


def phrase_search(phrase: str) -> str:
    """The search for papers with ``phrase`` in it, as a phrase."""
    return "/search?" + urlencode({"q": f'"{phrase}"'})


def with_query(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed, each where it was: a list gives
    one several values (``cat=a&cat=b``), ``None`` or an empty list removes it."""
    given = {key: _values(value) for key, value in changes.items()}
    params: list[tuple[str, str]] = []
    placed: set[str] = set()
    for key, value in request.query_params.multi_items():
        if key not in given:
            params.append((key, value))
        elif key not in placed:
            placed.add(key)
            params += [(key, new) for new in given[key]]
    params += [(key, v) for key, values in given.items() if key not in placed for v in values]
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def category_url(day: date | None, category: str) -> str:
    """The day page of a paper's announcement ``day`` (the newest day without one), filtered by
    ``category``: the same link whatever page a card is on, so cards are rendered once."""
    where = f"/papers/date/{day.isoformat()}" if day else "/papers"
    return f"{where}?{urlencode({'cat': category})}"


TEMPLATES.env.filters.update(
    lead=lead,
    plain=plain,
    snippet=snippet_html,
    day=day_label,
    arxiv_abs=abs_url,
    pdf=pdf_url,
    counted=counted,
    safe_urls=safe_urls,
    code_url=code_url,
    is_code_url=is_code_url,
    keywords=lambda paper: keywords_of(paper if isinstance(paper, Mapping) else vars(paper)),
    phrase_search=phrase_search,
)


@pass_context
def anonymous_cards(
    context: Context, papers: list[dict[str, Any]], votes_from: bool = False
) -> Markup:
    """The cards of a list as a visitor who is not signed in sees them, each rendered once per
    version of its paper (and with or without ``votes_from``, the upvotes' origins, and with
    its ``why`` if a similar paper's) and kept
    in the app's ``state.cards``: such a card shows the paper and nothing of the visitor (its
    vote form carries no CSRF token: voting needs signing in first, which makes a new one).
    A busy day's page is 100 cards, and rendering them was most of the page's time."""
    kept: Kept[Markup] = context["request"].app.state.cards
    return Markup("").join(
        # changed_at moves with every change to a paper, an upvote too (ours or Hugging
        # Face's); keywords_at with its keywords: together they name the version
        kept.get(
            (
                paper["arxiv_id"],
                paper["changed_at"],
                paper["keywords_at"],
                votes_from,
                tuple(paper.get("why") or ()),
            ),
            partial(_anonymous_card, paper, votes_from),
        )
        for paper in papers
    )


def _anonymous_card(paper: dict[str, Any], votes_from: bool) -> Markup:
    """A card rendered with no visitor in the context: no user, no CSRF token."""
    card = TEMPLATES.env.get_template("_cards.html").module.card  # type: ignore[attr-defined]
    return Markup(card(paper, votes_from=votes_from))


TEMPLATES.env.globals.update(
    author_url=author_url,
    with_query=with_query,
    anonymous_cards=anonymous_cards,
    category_url=category_url,
)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the signed-in user and the CSRF token available."""
    if "user" not in context:
        context["user"] = current_user(request)
    if "csrf" not in context:  # made on first use: a session for whoever is shown a form
        context["csrf"] = csrf_token(request)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def visitor_page(
    request: Request,
    version: Callable[[], Hashable],
    template: str,
    context: Callable[[], dict[str, Any]],
) -> HTMLResponse:
    """``template`` with ``context()``: for a signed-in user made afresh; for a visitor not
    signed in rendered once per URL and ``version()`` (which must name the version of all
    else the page shows; asked for visitors only) and kept in the app's ``state.pages`` for at
    most :data:`VISITOR_PAGE_SECONDS` (what the version cannot name, such as a commenter's new
    display name, shows by then). Such a page holds nothing of the visitor: no user, no CSRF
    token, no session started for it."""
    if current_user(request) is not None:
        return page(request, template, **context())
    kept: Kept[bytes] = request.app.state.pages
    made = int(time.time() // VISITOR_PAGE_SECONDS)

    def render() -> bytes:
        return bytes(page(request, template, user=None, csrf="", **context()).body)

    where = (request.url.path, request.url.query)  # its links keep the query (with_query)
    return HTMLResponse(kept.get((*where, template, version(), made), render))
