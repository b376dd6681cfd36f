"""How titles and abstracts with LaTeX read on the pages and in the mails."""

from __future__ import annotations

import pytest

from paperfeed.text import counted, plain


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (r"$\alpha$-divergences in $O(n^2)$", "\N{GREEK SMALL LETTER ALPHA}-divergences in O(n²)"),
        (r"Schr\"odinger cats", "Schrödinger cats"),
        (r"$T \gtrsim K \log m$ samples", "T \N{GREATER-THAN OR EQUIVALENT TO} K log m samples"),
        ("50% faster & 2x smaller #1", "50% faster & 2x smaller #1"),
        ("It costs $5 per run", "It costs $5 per run"),  # a lone $ is money
        (r"broken \frac{a", r"broken \frac{a"),  # does not parse: shown as it is
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # escaped by Jinja later
        (None, ""),
    ],
)
def test_latex_reads_as_plain_text(text: str | None, shown: str) -> None:
    assert plain(text) == shown


def test_counts_are_said_with_the_right_noun_on_pages_and_the_command_line() -> None:
    assert [counted(n, "paper") for n in (0, 1, 2, 1283)] == [
        "0 papers",
        "1 paper",
        "2 papers",
        "1,283 papers",
    ]
