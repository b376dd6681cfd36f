"""How LaTeX in titles, abstracts and references reads as text: one set of rules for the
cards, the paper pages, the feeds, the mails, the search snippets and imported libraries."""

# ruff: noqa: RUF001 - the Unicode the LaTeX reads as is the point here

from __future__ import annotations

import itertools
import json
import re

import pytest

from conftest import ARXIV
from paperfeed.latex import DOLLAR, SIGNS, SUBSCRIPTS, SUPERSCRIPTS, Piece, pieces, to_text

WEEK = ARXIV / "arxiv_week_sample.jsonl"
MATHS = re.compile(r"(?<!\\)\$[^$]*(?<!\\)\$|\\\(.*?\\\)")
COMMAND = re.compile(r"\\[A-Za-z]+")


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        # the three the users saw half converted
        (r"$\alpha^3$-SecBench", "α³-SecBench"),
        (r"sparse recovery in $\ell_1$", "sparse recovery in ℓ₁"),
        (r"$T \gtrsim K \log m$ samples", "T ≳ K log m samples"),
        # scripts in maths, in Unicode's small characters
        ("$x^2 + y_1$", "x² + y₁"),
        (r"$O(n^{1/2})$ time", "O(n¹ᐟ²) time"),
        (r"$\theta^{(t)}_{i-1}$", "θ⁽ᵗ⁾ᵢ₋₁"),
        (r"$x_{\text{max}}$, $A^\top$, $\mathbb{R}^d$", "xₘₐₓ, Aᵀ, ℝᵈ"),
        (r"$x^*$ and $f^\prime$", "x* and f′"),
        (r"\(x_1\) and \[y^2\]", "x₁ and y²"),
        # ... and readable where a character has none
        ("$W_Q$", "W_Q"),
        (r"$e^{-\lambda t}$", "e^(-λ t)"),
        (r"$C_0^{(q)}$", "C₀^(q)"),
        (r"$\pi_i^{\alpha_i}$", "πᵢ^(αᵢ)"),
        # symbols, spaces kept around commands
        (r"$a \leq b \in S \to T \approx U$", "a ≤ b ∈ S → T ≈ U"),
        (r"$E_{x\simν}$", "E_(x∼ν)"),  # a Greek letter glued to a command
        (r"$\mathcal{O}(\log^2 n)$", "𝒪(log² n)"),
        (r"$\operatorname{softmax}(\bm{x})$", "softmax(x)"),
        # text commands and accents
        (r"\textbf{Bold} and \emph{emphasis}, \texttt{code}", "Bold and emphasis, code"),
        (r"Schr\"odinger, {\'E}cole, Na{\"\i}ve", "Schrödinger, École, Naïve"),
        (r"\textsuperscript{th} and CO\textsubscript{2}", "ᵗʰ and CO₂"),
        (r"code at \url{https://x.org/a_b}", "code at https://x.org/a_b"),
        (r"code \href{https://x.org/a}{here}", "code here (https://x.org/a)"),
        ("a--b ``quoted''", "a–b “quoted”"),
        ("in Fig.~2 at ~70 ms (~2x)", "in Fig. 2 at ~70 ms (~2x)"),
        (r"50\% faster \& 2x smaller", "50% faster & 2x smaller"),
        ("50% faster & 2x smaller #1 {SOTA}", "50% faster & 2x smaller #1 SOTA"),
        # _ and ^ outside maths: code, names, URLs; a braced script is one still
        (r"the snake_case name and x^2 in $x^2$", "the snake_case name and x^2 in x²"),
        (r"\verb|a_b^c| and \texttt{n\_iter}", "a_b^c and n_iter"),
        (r"R^{-1} and H_{2}O", "R⁻¹ and H₂O"),
        # a lone $ is money, not maths
        (r"It costs $5 with Schr\"odinger", "It costs $5 with Schrödinger"),
    ],
)
def test_latex_reads_as_text(latex: str, text: str) -> None:
    assert to_text(latex) == text


@pytest.mark.parametrize(
    "text",
    [
        "Attention is all you need",
        "snake_case, x^2 and https://x.org/a_b?c=d stay as they are",
        "It costs $5 per run",
        "Split\n  over lines",
    ],
)
def test_text_without_latex_is_left_as_it_is(text: str) -> None:
    assert to_text(text) == text


def test_latex_that_does_not_parse_is_shown_as_it_came() -> None:
    for odd in [r"broken \frac{a", "\\url", r"\verb|a"]:
        assert to_text(odd) == odd
    for signs in itertools.product(["$", "\\", "^", "_", "{", "}", "x", " "], repeat=4):
        assert isinstance(to_text("".join(signs)), str)  # never raises


def test_each_piece_says_where_it_was_in_the_text() -> None:
    text = r"50% $\alpha^2$ & more"
    assert pieces(text) == [
        Piece("50", 0, 2),
        Piece("%", 2, 3),
        Piece(" ", 3, 4),
        Piece("α", 5, 11),
        Piece("²", 11, 13),
        Piece(" ", 14, 15),
        Piece("&", 15, 16),
        Piece(" more", 16, 21),
    ]


def _week(count: int) -> list[str]:
    with WEEK.open(encoding="utf-8") as lines:
        papers = [json.loads(line) for line in itertools.islice(lines, count)]
    return [text for paper in papers for text in (paper["title"], paper["abstract"])]


def leftovers(text: str) -> list[str]:
    """What of ``text``'s LaTeX is still LaTeX once read: a command anywhere; in maths a
    ``^``/``_`` not written as a small character that Unicode has. Outside maths ``_`` and
    ``^`` stay (code, names, URLs), and where the ``$`` do not pair, it is all text."""
    shown = to_text(text)
    found = COMMAND.findall(shown) + re.findall(r"[\^_]\{", shown)
    if len(DOLLAR.findall(text)) % 2 == 0:
        for maths in MATHS.findall(text):
            for script in re.finditer(r"([\^_])(.?)", to_text(maths)):
                mark, after = script.groups()
                small = SUPERSCRIPTS if mark == "^" else SUBSCRIPTS
                if after in ("", "{", "\\", " ") or (after != "(" and after in small):
                    found.append(f"{maths} -> {to_text(maths)}")
    return found


def test_text_whose_only_latex_is_dashes_reads_as_the_parser_reads_it() -> None:
    texts = [*_week(1283), "a---b -- c----d", "x -- y\n  z", "a-b and --- at the end ---"]
    dashed = [t for t in texts if {s.group() for s in SIGNS.finditer(t)} == {"--"}]
    assert len(dashed) > 20
    for text in dashed:
        found = pieces(text)
        assert found is not None
        assert to_text(text) == " ".join("".join(p.text for p in found).split())
    assert to_text("a--b} c") == "a–b c"  # a stray brace: the parser drops it


def test_500_real_titles_and_abstracts_read_as_text() -> None:
    texts = _week(500)
    assert sum(bool(re.search(r"[\\$]", text)) for text in texts) > 50  # there is LaTeX
    failed = {text[:80]: found for text in texts if (found := leftovers(text))}
    assert not failed
