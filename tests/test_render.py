"""How search snippets read on the pages: escaped, the query's words in ``<b>``, and LaTeX
shown as text like the rest of the card."""

from __future__ import annotations

import pytest

from paperfeed.index.lexical import Snippet
from paperfeed.web.render import snippet_html


def snippet(text: str, *words: str) -> Snippet:
    """``text`` with ``words`` highlighted, each at its first place after the one before."""
    highlights: list[tuple[int, int]] = []
    for word in words:
        start = text.index(word, highlights[-1][1] if highlights else 0)
        highlights.append((start, start + len(word)))
    return Snippet(text, highlights)


@pytest.mark.parametrize(
    ("shown", "html"),
    [
        (
            snippet("a <b> & 'sparse' attention", "sparse"),
            "a &lt;b&gt; &amp; &#x27;<b>sparse</b>&#x27; attention",
        ),
        (
            snippet(r"We bound the $\alpha$-divergence by $\beta^2$.", "divergence"),
            "We bound the \N{GREEK SMALL LETTER ALPHA}-<b>divergence</b> by "
            "\N{GREEK SMALL LETTER BETA}².",
        ),
        (
            snippet(r"an \emph{sparse attention} layer", "sparse", "attention"),
            "an <b>sparse</b> <b>attention</b> layer",
        ),
        (snippet(r"for $p \neq q$ only", "neq"), "for p <b>\N{NOT EQUAL TO}</b> q only"),
        (snippet(r"Schr\"odinger cats", "odinger"), "Schr<b>ödinger</b> cats"),
        (
            snippet(r"the $\ell_1$ norm", "ell"),
            "the <b>\N{SCRIPT SMALL L}</b>\N{SUBSCRIPT ONE} norm",
        ),
        (snippet(r"in $O(n^2)$ time", "time"), "in O(n\N{SUPERSCRIPT TWO}) <b>time</b>"),
        (snippet(r"50% faster: $x$ sparse & #1", "sparse"), "50% faster: x <b>sparse</b> &amp; #1"),
        (  # the fragment ends inside $...$
            snippet(r"the bound $\alpha + \beta", "bound"),
            "the <b>bound</b> \N{GREEK SMALL LETTER ALPHA} + \N{GREEK SMALL LETTER BETA}",
        ),
        (snippet(r"broken \frac{a sparse", "sparse"), r"broken \frac{a <b>sparse</b>"),  # as it is
        (None, ""),
    ],
)
def test_snippets_show_latex_as_text_and_keep_the_highlights(
    shown: Snippet | None, html: str
) -> None:
    assert snippet_html(shown) == html
