"""Templates and the filters they use: LaTeX shown as plain Unicode text, dates, links."""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from paperfeed.arxiv_ids import abs_url, pdf_url
from paperfeed.text import UNESCAPED_DOLLAR, lead, plain
from paperfeed.web.security import csrf_token, current_user

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def snippet_html(fragment: str | None) -> Markup:
    """A search snippet (escaped abstract text, the query's words in ``<b>``) with its LaTeX
    shown as :func:`plain` text, like the rest of the card; as it came if that fails."""
    if not fragment:
        return Markup("")
    if not any(c in fragment for c in "$\\{"):
        return Markup(fragment)
    fragment = fragment.replace("\x02", "").replace("\x03", "")  # the markers below
    opened, closed = fragment.count("<b>"), fragment.count("</b>")
    marked = html.unescape(fragment.replace("<b>", "\x02").replace("</b>", "\x03"))
    if len(UNESCAPED_DOLLAR.findall(marked)) % 2:  # the fragment ends inside $...$
        marked += "$"
    shown = plain(marked)
    if shown.count("\x02") != opened or shown.count("\x03") != closed:
        return Markup(fragment)
    return Markup(str(escape(shown)).replace("\x02", "<b>").replace("\x03", "</b>"))


def day_label(value: date | datetime | None) -> str:
    return value.strftime("%a %d %b %Y") if value else ""


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
    lead=lead, plain=plain, snippet=snippet_html, day=day_label, arxiv_abs=abs_url, pdf=pdf_url
)
TEMPLATES.env.globals.update(author_url=author_url, with_query=with_query)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the signed-in user and the CSRF token available."""
    context.setdefault("user", current_user(request))
    context.setdefault("csrf", csrf_token(request))
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
