"""The search box's language: words, phrases, filters, and input that must not break it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.index.query import MAX_CHARS, ParsedQuery, parse_query


def test_words_and_phrases_are_the_free_text() -> None:
    parsed = parse_query('graph "message passing" networks')
    assert parsed == ParsedQuery(terms=("graph", "networks"), phrases=("message passing",))
    assert parsed.text == "graph networks message passing"


def test_repeated_words_are_kept_once() -> None:
    assert parse_query("Graph graph GRAPH nets").terms == ("Graph", "nets")


@pytest.mark.parametrize(
    ("text", "authors"),
    [
        ("author:Hinton", ("Hinton",)),
        ('au:"Geoffrey Hinton"', ("Geoffrey Hinton",)),
        ("Author:Hinton au:LeCun", ("Hinton", "LeCun")),
    ],
)
def test_author_filters(text: str, authors: tuple[str, ...]) -> None:
    assert parse_query(text) == ParsedQuery(authors=authors)


@pytest.mark.parametrize(
    ("text", "categories"),
    [
        ("cat:cs.CL", ("cs.CL",)),
        ("cat:cs", ("cs",)),
        ("category:hep-th cat:q-bio.NC", ("hep-th", "q-bio.NC")),
    ],
)
def test_category_filters(text: str, categories: tuple[str, ...]) -> None:
    assert parse_query(text) == ParsedQuery(categories=categories)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("year:2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("year:2020..2023", date(2020, 1, 1), date(2023, 12, 31)),
        ("year:2020..", date(2020, 1, 1), None),
        ("date:..2023-03", None, date(2023, 3, 31)),
        ("date:2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("date:2024-03-05", date(2024, 3, 5), date(2024, 3, 5)),
        ("after:2024-01-01", date(2024, 1, 1), None),
        ("before:2024-06-30", None, date(2024, 6, 30)),
        ("after:2024-03", date(2024, 3, 1), None),
        ("before:2024", None, date(2024, 12, 31)),
        ("year:2020..2023 after:2021-06-01 before:2024", date(2021, 6, 1), date(2023, 12, 31)),
    ],
)
def test_date_filters(text: str, start: date | None, end: date | None) -> None:
    parsed = parse_query(text)
    assert (parsed.date_from, parsed.date_to, parsed.notes) == (start, end, ())


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("after:xyz", "bad date 'after:xyz' ignored"),
        ("date:2024-02-30", "bad date 'date:2024-02-30' ignored"),
        ("year:2024-13", "bad date 'year:2024-13' ignored"),
        ("year:0000", "bad date 'year:0000' ignored"),
        ("year:..", "bad date 'year:..' ignored"),
        ("before:2024..2025", "bad date 'before:2024..2025' ignored"),
        ("cat:", "empty filter 'cat:' ignored"),
        ('au:""', "empty filter 'au:' ignored"),
        ("cat:cs.CL;--", "bad category 'cat:cs.CL;--' ignored"),
        ("author:!!", "bad author 'author:!!' ignored"),
        ("after:2024-06 before:2024-01", "the date range is empty"),
    ],
)
def test_bad_filters_are_ignored_with_a_note(text: str, note: str) -> None:
    assert parse_query(text).notes == (note,)


def test_unknown_filter_is_searched_as_text() -> None:
    parsed = parse_query("foo:bar baz")
    assert (parsed.terms, parsed.notes) == (
        ("foo:bar", "baz"),
        ("unknown filter 'foo:' searched as text",),
    )


def test_a_word_ending_in_a_colon_is_text_without_a_note() -> None:
    assert parse_query("BERT: pretraining") == ParsedQuery(terms=("BERT:", "pretraining"))


@pytest.mark.parametrize(
    ("text", "terms", "phrases"),
    [
        ('"dangling quote', ("dangling", "quote"), ()),
        ('closed "phrase" and "open', ("closed", "and", "open"), ("phrase",)),
        ('""', (), ()),
        ('"   "', (), ()),
        ('"+++"', (), ()),
    ],
)
def test_quotes(text: str, terms: tuple[str, ...], phrases: tuple[str, ...]) -> None:
    parsed = parse_query(text)
    assert (parsed.terms, parsed.phrases) == (terms, phrases)


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("gra\x00ph\x07 net\u200bworks", ("graph", "networks")),
        ("tabs\tand\nnewlines\r\n", ("tabs", "and", "newlines")),
        ("lone \ud800surrogate", ("lone", "surrogate")),
        ("+ - * ^ ~ ( ) [ ] { } ; -- '", ()),
        ("🤖 ✨", ()),
    ],
)
def test_control_characters_and_punctuation_are_dropped(text: str, terms: tuple[str, ...]) -> None:
    assert parse_query(text).terms == terms


def test_long_input_is_cut_with_a_note() -> None:
    parsed = parse_query("word " * 2_000)  # 10 kB
    assert (parsed.terms, parsed.notes) == (("word",), ("query cut to 1,000 characters",))
    assert len(parse_query("x" * 10_000).terms[0]) == MAX_CHARS


@given(st.text(st.characters(exclude_categories=())))
def test_any_string_parses(text: str) -> None:
    parsed = parse_query(text)
    assert len(parsed.text) <= MAX_CHARS


def test_an_upper_case_and_asks_for_every_word() -> None:
    assert parse_query("graph AND networks") == ParsedQuery(
        terms=("graph", "networks"), every_word=True
    )
    assert parse_query("graph and networks").terms == ("graph", "and", "networks")
