"""A comment's Markdown as the HTML pages show: CommonMark (markdown-it-py, raw HTML off) with
LaTeX shown as Unicode text (:func:`paperfeed.latex.to_text`) and arXiv ids linked to their
papers here, then sanitised by an allow-list (nh3, Rust's ammonia): only http(s) and mailto
links, each ``rel="nofollow ugc noopener"``, no images, no attributes but a link's ``href``
and a list's ``start``. Rendered once, when a comment is written or edited."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from paperfeed.arxiv_ids import parse_arxiv_id
from paperfeed.latex import to_text
from paperfeed.urls import safe_url

SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset(
    {
        "p",
        "br",
        "em",
        "strong",
        "del",
        "s",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "hr",
    }
)
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
LINK_REL = "nofollow ugc noopener"
# a new-style id (2503.00001, arXiv:2503.00001v2) or an old-style one (hep-th/9901001)
ARXIV_ID = re.compile(
    r"(?<![\w./-])(?:arxiv:)?(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})"
    r"(?:v\d+)?(?![\w/-]|\.\d)",
    re.IGNORECASE,
)


def _user_link(url: str) -> bool:
    """Whether a link a comment writes may stay one: what the site's one allow-list keeps
    (:func:`paperfeed.urls.safe_url`: http(s) with a good host, no credentials), or mailto."""
    return safe_url(url) is not None or url.strip().lower().startswith("mailto:")


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
    # images would load from anywhere; headings would shout over the page
    parser.disable(["image", "heading", "lheading"])
    parser.validateLink = _user_link  # type: ignore[method-assign]
    return parser


PARSER = _parser()


def comment_html(body: str) -> str:
    """``body`` (Markdown) as sanitised HTML."""
    tokens = PARSER.parse(body)
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _linked(_as_text(token.children))
    return nh3.clean(
        PARSER.renderer.render(tokens, PARSER.options, {}),
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(SCHEMES),
        link_rel=LINK_REL,
    )


def _as_text(children: list[Token]) -> list[Token]:
    """Text with LaTeX in it as Unicode (code spans keep theirs); the spaces at a text's ends
    stay, as they part it from the markup beside it (``$\alpha$ **bold**``)."""
    for child in children:
        if child.type == "text" and child.content.strip():
            text = child.content
            start, end = len(text) - len(text.lstrip()), len(text.rstrip())
            child.content = text[:start] + to_text(text[start:end]) + text[end:]
    return children


def _linked(children: list[Token]) -> list[Token]:
    """Text outside links with each arXiv id in it linked to the paper's page here."""
    out: list[Token] = []
    depth = 0
    for child in children:
        depth += {"link_open": 1, "link_close": -1}.get(child.type, 0)
        if child.type != "text" or depth or not ARXIV_ID.search(child.content):
            out.append(child)
            continue
        at = 0
        for found in ARXIV_ID.finditer(child.content):
            out.append(_text(child.content[at : found.start()]))
            out += _paper_link(found.group())
            at = found.end()
        out.append(_text(child.content[at:]))
    return out


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _paper_link(written: str) -> list[Token]:
    href = f"/papers/{parse_arxiv_id(written).id}"
    return [
        Token("link_open", "a", 1, attrs={"href": href}),
        _text(written),
        Token("link_close", "a", -1),
    ]
