"""LaTeX as plain Unicode text: the one set of rules for titles, abstracts, search snippets,
author names and imported references.

pylatexenc reads the LaTeX (symbols, accents, text commands); on top of its rules, in maths
(``$...$``, ``\\(...\\)``) a sub- or superscript is written in Unicode's small characters where
each of its characters has one (``x^2`` -> x², ``\\ell_1`` -> ℓ₁, ``n^{1/2}`` -> n¹ᐟ²), else kept
readable as ``^x`` for one character and ``^(...)`` for more (``W_Q``, ``e^(-λ t)``). Outside
maths only a braced script is one (``H_{2}O`` -> H₂O): ``snake_case``, ``x^2`` and URLs stay as
they are. A lone ``$`` is money, a ``~`` after a space means "about" (``~10 ms``), and text
whose LaTeX does not parse is shown as it came.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any, NamedTuple

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexNode,
    LatexSpecialsNode,
    LatexWalker,
)
from pylatexenc.latexwalker import (
    get_default_latex_context_db as get_default_parsing_db,
)
from pylatexenc.macrospec import MacroSpec

# text without any reads the same as LaTeX (x^2 or a_b outside maths are kept as they are)
SIGNS = re.compile(r"[\\${~]|--|``|''")
LITERAL = re.compile(r"(?<!\\)[%&#]")  # comment/alignment characters, meant literally
LITERAL_WITH_DOLLAR = re.compile(r"(?<!\\)[%&#$]")
# a Greek letter right after a command (\sim followed by nu): pylatexenc reads one unknown
# command, the author meant the command and the letter
GLUED = re.compile(r"\\[A-Za-z]+(?=(?![\x00-\x7f])[^\W\d_])")
DOLLAR = re.compile(r"(?<!\\)\$")
logging.getLogger("pylatexenc").setLevel(logging.ERROR)

# a prime, a star or a dagger reads as raised already
SUPERSCRIPTS = dict(
    zip(
        "0123456789+-−=()/'*′″‴†‡abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφϕχ∘⊤",  # noqa: RUF001
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᐟ′*′″‴†‡ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵠᵡ°ᵀ",  # noqa: RUF001
        strict=True,
    )
)
SUBSCRIPTS = dict(
    zip(
        "0123456789+-−=()aehijklmnoprstuvxβγρφϕχ",  # noqa: RUF001
        "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵩᵪ",
        strict=True,
    )
)
SCRIPTS = {"^": SUPERSCRIPTS, "_": SUBSCRIPTS}


class Piece(NamedTuple):
    """Some of the text and the span ``[start, end)`` of the source it was read from."""

    text: str
    start: int
    end: int


def script(mark: str, text: str) -> str:
    """``text`` as a superscript (``mark`` ``^``) or subscript (``_``): in Unicode's small
    characters if each has one, else as ``^x`` or ``^(xy)``."""
    small = SCRIPTS[mark]
    squeezed = "".join(text.split())
    if all(c in small for c in squeezed):
        return "".join(small[c] for c in squeezed)
    text = text.strip()
    bracketed = len(text) == 1 or re.fullmatch(r"\([^()]*\)", text)
    return f"{mark}{text}" if bracketed else f"{mark}({text})"


@lru_cache(maxsize=20_000)
def to_text(text: str) -> str:
    """``text`` with its LaTeX as Unicode (``$\\alpha^3$-SecBench`` -> α³-SecBench), white space
    folded; as it is where it has no LaTeX or where its LaTeX does not parse."""
    if not SIGNS.search(text):
        return text
    if "}" not in text and all(sign.group() == "--" for sign in SIGNS.finditer(text)):
        return _dashes(text)
    found = pieces(text)
    return text if found is None else " ".join("".join(p.text for p in found).split())


def _dashes(text: str) -> str:
    """A text whose only LaTeX is dashes as :func:`pieces` reads it (``--`` an en dash,
    ``---`` an em dash), white space folded, without the parser: 29 of the 80 abstract
    openings with LaTeX on the cards of a week have only dashes, and the parser takes ~1.5 ms
    for each."""
    return " ".join(text.replace("---", "\u2014").replace("--", "\u2013").split())


def pieces(text: str) -> list[Piece] | None:
    """``text`` read as :func:`to_text` reads it, piece by piece, each with where it was in
    ``text`` (plain text is a piece of its own); None where the LaTeX does not parse."""
    odd = len(DOLLAR.findall(text)) % 2  # then a $ is money ("costs $5"), not maths
    literal = LITERAL_WITH_DOLLAR if odd else LITERAL
    edits = sorted(
        [(m.start(), "\\") for m in literal.finditer(text)]
        + [(m.end(), "{}") for m in GLUED.finditer(text)]
    )
    source, origin, last = "", [], 0  # origin: where each character of source is in text
    for at, insert in [*edits, (len(text), "")]:
        source += text[last:at] + insert
        origin += [*range(last, at), *[at] * len(insert)]
        last = at
    origin.append(len(text))
    try:
        nodes = LatexWalker(source, latex_context=_parsing()).get_latex_nodes()[0]
        found = _converter().pieces(nodes)
    except Exception:  # pylatexenc raises many kinds on odd input; the raw text is fine
        return None
    if "%s" in "".join(p.text for p in found) and "%s" not in text:
        return None  # a macro missing its argument: pylatexenc leaves its template
    if not edits:
        return found
    return [Piece(p.text, origin[p.start], origin[p.end]) for p in found]


class _Converter(LatexNodes2Text):
    """pylatexenc's conversion, with scripts in maths and each piece's place in the source."""

    def nodelist_to_text(self, nodelist: list[LatexNode]) -> str:
        return "".join(p.text for p in self.pieces(nodelist))

    def pieces(self, nodes: list[LatexNode]) -> list[Piece]:
        found: list[Piece] = []
        mark: Piece | None = None  # a ^ or _ waiting for what it raises or lowers
        for at, node in enumerate(nodes):
            if not node.isNodeType(LatexCharsNode):
                inner = self._node_pieces(node)
                if mark:
                    raised = script(mark.text, "".join(p.text for p in inner))
                    found.append(Piece(raised, mark.start, node.pos + node.len))
                    mark = None
                else:
                    found += inner
                continue
            maths = node.parsing_state.in_math_mode
            after_command = at and self._is_bare_macro_node(nodes[at - 1])
            if maths and after_command and nodes[at - 1].macro_post_space:
                found.append(Piece(" ", node.pos, node.pos))  # T \gtrsim K: T ≳ K, not T ≳K
            # outside maths only x^{...} is a script: snake_case and URLs stay as they are
            braced = at + 1 < len(nodes) and nodes[at + 1].isNodeType(LatexGroupNode)
            last, run = node.pos + len(node.chars) - 1, node.pos  # run: plain text from there
            for i, c in enumerate(node.chars, node.pos):
                if mark and not c.isspace():
                    found.append(Piece(script(mark.text, c), mark.start, i + 1))
                    mark, run = None, i + 1
                elif c in SCRIPTS and not mark and (maths or (braced and i == last)):
                    if run < i:
                        found.append(Piece(node.chars[run - node.pos : i - node.pos], run, i))
                    mark = Piece(c, i, i + 1)
                elif mark:  # x^ 2
                    run = i + 1
            if not mark and run <= last:
                found.append(Piece(node.chars[run - node.pos :], run, last + 1))
        if mark:
            found.append(mark)
        return found

    def specials_node_to_text(self, node: LatexSpecialsNode) -> str:
        before = node.parsing_state.s[node.pos - 1 : node.pos]
        if node.specials_chars == "~" and before in ("", " ", "("):
            return "~"  # "at ~10 ms" means about 10 ms, a tie (Fig.~2) follows a word
        return str(super().specials_node_to_text(node))

    def macro_node_to_text(self, node: LatexMacroNode) -> str:
        if self.latex_context.get_macro_spec(node.macroname) is None:  # pylatexenc drops it
            return "".join(map(self._groupnodecontents_to_text, _arguments(node)))  # \\texttt{x}
        return str(super().macro_node_to_text(node))

    def _node_pieces(self, node: LatexNode) -> list[Piece]:
        if node.isNodeType(LatexGroupNode):  # {…} reads as what it holds
            return self.pieces(node.nodelist)
        if node.isNodeType(LatexMathNode):
            inside = self.pieces(node.nodelist)
            while inside and not inside[0].text.strip():
                inside.pop(0)
            while inside and not inside[-1].text.strip():
                inside.pop()
            if node.displaytype == "inline":
                return inside
            end = node.pos + node.len
            return [Piece(" ", node.pos, node.pos), *inside, Piece(" ", end, end)]
        return [Piece(self.node_to_text(node), node.pos, node.pos + node.len)]


def _arguments(node: LatexMacroNode) -> list[LatexNode]:
    return [arg for arg in getattr(node.nodeargd, "argnlist", None) or () if arg is not None]


def _link(node: LatexMacroNode, l2tobj: LatexNodes2Text) -> str:
    """``\\href{url}{text}``: the text, and the address where it is not that."""
    url, text = (l2tobj.node_arg_to_text(node, k) for k in (0, 1))
    return str(text if text == url else f"{text} ({url})")


def _scripted(mark: str) -> Callable[[LatexMacroNode, LatexNodes2Text], str]:
    return lambda node, l2tobj: script(mark, l2tobj.node_arg_to_text(node, 0))


# macros pylatexenc's defaults lack or show otherwise: (name, arguments, text)
MACROS: list[tuple[str, str, str | Callable[..., Any]]] = [
    *((name, "", name) for name in ("TeX", "LaTeX", "BibTeX")),
    ("url", "{", "%s"),  # not wrapped in < >
    ("href", "{{", _link),
    ("verb", "", lambda node: node.nodeargd.verbatim_text),  # code, as it is
    ("operatorname", "*{", lambda node, l2tobj: l2tobj.node_arg_to_text(node, 1)),
    *((name, "{", "%s") for name in ("bm", "boldsymbol", "mathbfit")),
    ("textsuperscript", "{", _scripted("^")),
    ("textsubscript", "{", _scripted("_")),
]


@cache
def _parsing() -> Any:
    context = get_default_parsing_db()
    specs = [MacroSpec(name, args) for name, args, _ in MACROS if args]
    context.add_context_category("paperfeed", macros=specs, prepend=True)
    return context


@cache
def _converter() -> _Converter:
    context = get_default_latex_context_db()
    specs = [MacroTextSpec(name, simplify_repl=text) for name, _, text in MACROS]
    context.add_context_category("paperfeed", macros=specs, prepend=True)
    return _Converter(latex_context=context, math_mode="text", strict_latex_spaces="macros")
