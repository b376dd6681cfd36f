"""A user's library in the store: tags, notes, "not interested", export and account deletion."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import Engine, func, select

from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.store import library
from paperfeed.store.accounts import create_user, get_user, verify_email
from paperfeed.store.activity import UnknownPaper, set_saved, set_vote
from paperfeed.store.queries import get_paper
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import list_subscriptions, subscribe
from paperfeed.store.user_data import delete_account, export_user_data

IDS = ["2501.00001", "2501.00002", "2501.00003"]


@pytest.fixture
def user(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict:
    from web_app import CHEAP_HASHER

    monkeypatch.setattr("paperfeed.store.accounts.HASHER", CHEAP_HASHER)
    ingest(engine, MemorySource([paper(i) for i in IDS]))
    return create_user(engine, "ada@example.org", "correct horse", "Ada")


def test_tagging_saves_the_paper_under_each_tag(engine: Engine, user: dict) -> None:
    kept = library.set_tags(engine, user["id"], IDS[0], ["reading  list", "GNN", "gnn", " "])
    assert kept == ["GNN", "reading list"]
    assert library.library_ids(engine, user["id"]) == [IDS[0]]
    assert library.library_ids(engine, user["id"], tag="GNN") == [IDS[0]]
    assert library.user_tags(engine, user["id"]) == [
        {"name": "GNN", "papers": 1},
        {"name": "reading list", "papers": 1},
    ]


def test_setting_tags_again_replaces_them_and_unsaving_drops_them(
    engine: Engine, user: dict
) -> None:
    library.set_tags(engine, user["id"], IDS[0], ["a", "b"])
    library.set_tags(engine, user["id"], IDS[0], ["b", "c"])
    assert library.library_details(engine, user["id"], IDS)[IDS[0]]["tags"] == ["b", "c"]
    set_saved(engine, user["id"], IDS[0], False)
    assert library.library_ids(engine, user["id"]) == []
    assert [t["papers"] for t in library.user_tags(engine, user["id"])] == [0, 0, 0]
    library.set_tags(engine, user["id"], IDS[1], ["B"])  # the same tag as "b"
    assert library.library_ids(engine, user["id"], tag="b") == [IDS[1]]


def test_deleting_a_tag_keeps_its_papers_saved(engine: Engine, user: dict) -> None:
    library.set_tags(engine, user["id"], IDS[0], ["to read"])
    assert library.delete_tag(engine, user["id"], "to read")
    assert not library.delete_tag(engine, user["id"], "to read")
    assert library.library_ids(engine, user["id"]) == [IDS[0]]


@pytest.mark.parametrize(
    ("names", "reason"),
    [(["x" * 101], "at most 100 characters"), ([str(n) for n in range(21)], "at most 20 tags")],
)
def test_unusable_tags_are_refused_with_the_reason(
    engine: Engine, user: dict, names: list[str], reason: str
) -> None:
    with pytest.raises(library.LibraryError, match=reason):
        library.set_tags(engine, user["id"], IDS[0], names)
    assert library.library_ids(engine, user["id"]) == []


def test_a_note_is_kept_replaced_and_removed_by_an_empty_one(engine: Engine, user: dict) -> None:
    library.set_note(engine, user["id"], IDS[1], "  Compare with section 4.  ")
    assert library.library_details(engine, user["id"], [IDS[1]])[IDS[1]]["note"] == (
        "Compare with section 4."
    )
    library.set_note(engine, user["id"], IDS[1], "")
    assert library.library_details(engine, user["id"], [IDS[1]]) == {}
    with pytest.raises(library.LibraryError, match="at most 5000"):
        library.set_note(engine, user["id"], IDS[1], "x" * 5001)


def test_not_interested_is_marked_and_taken_back(engine: Engine, user: dict) -> None:
    library.set_not_interested(engine, user["id"], IDS[2], True)
    library.set_not_interested(engine, user["id"], IDS[2], True)
    assert library.library_details(engine, user["id"], IDS)[IDS[2]]["not_interested"]
    library.set_not_interested(engine, user["id"], IDS[2], False)
    assert library.library_details(engine, user["id"], IDS) == {}


def test_library_actions_on_an_unknown_paper_raise(engine: Engine, user: dict) -> None:
    with pytest.raises(UnknownPaper):
        library.set_tags(engine, user["id"], "2999.99999", ["x"])


def test_saving_many_papers_at_once_counts_the_new_ones(engine: Engine, user: dict) -> None:
    set_saved(engine, user["id"], IDS[0], True)
    assert library.save_papers(engine, user["id"], IDS, "imported") == 2
    assert library.save_papers(engine, user["id"], IDS, "imported") == 0
    assert sorted(library.library_ids(engine, user["id"], tag="imported")) == IDS


def test_export_holds_all_the_users_data_as_json(engine: Engine, user: dict) -> None:
    library.set_tags(engine, user["id"], IDS[0], ["gnn"])
    library.set_note(engine, user["id"], IDS[0], "good baseline")
    library.set_note(engine, user["id"], IDS[2], "not saved, but noted")
    set_vote(engine, user["id"], IDS[1], True)
    library.set_not_interested(engine, user["id"], IDS[2], True)
    subscribe(engine, "ada@example.org", kind="search", query="graphs", confirmed=True)
    verify_email(engine, user["id"], user["email"])  # the address's subscriptions are hers
    data = orjson.loads(orjson.dumps(export_user_data(engine, user["id"])))
    assert data["account"]["email"] == "ada@example.org"
    assert data["account"]["email_verified_at"]
    assert [(e["arxiv_id"], e["tags"], e["note"]) for e in data["library"]] == [
        (IDS[0], ["gnn"], "good baseline"),
        (IDS[2], [], "not saved, but noted"),
    ]
    assert [e["arxiv_id"] for e in data["upvoted"]] == [IDS[1]]
    assert [e["arxiv_id"] for e in data["not_interested"]] == [IDS[2]]
    assert [(s["kind"], s["query"]) for s in data["subscriptions"]] == [("search", "graphs")]
    assert data["tags"] == ["gnn"]


def test_deleting_an_account_removes_everything_and_takes_its_upvotes_back(
    engine: Engine, user: dict
) -> None:
    library.set_tags(engine, user["id"], IDS[0], ["gnn"])
    library.set_note(engine, user["id"], IDS[0], "note")
    set_vote(engine, user["id"], IDS[1], True)
    subscribe(engine, "ada@example.org", confirmed=True)
    verify_email(engine, user["id"], user["email"])  # the address's subscriptions are hers
    assert delete_account(engine, user["id"])
    assert get_user(engine, user["id"]) is None
    assert get_paper(engine, IDS[1])["votes"] == 0
    assert list_subscriptions(engine, email="ada@example.org") == []
    with engine.connect() as conn:
        for table in (library.tags, library.paper_tags, library.notes):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 3
    assert not delete_account(engine, user["id"])
