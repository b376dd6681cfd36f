"""The arXiv API (Atom) source against recorded responses."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from paperfeed.records import PaperRecord, validate
from paperfeed.sources.arxiv_api import NOT_FOUND, ArxivApiSource
from paperfeed.sources.base import Rejected, SourceError
from protocol import FakeNet, Reply, body, broken, files, manifest, recorded

BASE = "https://export.arxiv.org/api/query"
ATOM = "arxiv_api_atom/"
AEW10 = ATOM + "id_1707.08567_s0_m100_6a1afebfc6a3.xml"
PAIR = ATOM + "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.xml"
ABC = ATOM + "id_abc_s0_m100_b79c8dcf6bc3.xml"
QUANT_PH = ATOM + "id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml"
LEGACY = ATOM + "legacy_2016/id_list=1111.2011v2.xml"
PAGES = {
    "0": ATOM + "q_testing_s0_m10_bc5a6c384fe9.xml",
    "10": ATOM + "q_testing_s10_m10_34e56e15aaac.xml",
    "20": ATOM + "q_testing_s20_m10_348a237fecab.xml",
}
REJECTED = {
    ATOM + "id_0000.0000_s0_m100_8b51d9633a68.xml": [Rejected("0000.0000", NOT_FOUND)],
    ATOM + "id_0808.05394_s0_m100_7b0c7d0a7cdd.xml": [Rejected("0808.05394", NOT_FOUND)],
    PAIR: [Rejected("0808.05394", NOT_FOUND)],
    ABC: [Rejected("abc", "incorrect id format for abc")],
}


def read(routes, checkpoint=None, **kwargs):
    net = FakeNet(routes)
    src = ArxivApiSource(net.client, BASE, **kwargs)
    pairs = list(src.read(checkpoint))
    return [item for item, _ in pairs], [cp for _, cp in pairs], net, src


def recorded_request(name: str) -> dict[str, str]:
    query = parse_qs(urlsplit(manifest()[name]["request_url"]).query, keep_blank_values=True)
    return {key: values[0] for key, values in query.items()}


def replay(name: str):
    """Read ``name`` through the source as the request it recorded."""
    asked = recorded_request(name)
    if asked.get("id_list"):
        return read([({}, recorded(name))], ids=asked["id_list"].split(","))
    start, size = int(asked.get("start", 0)), int(asked.get("max_results", 10))
    return read(
        [({}, recorded(name))],
        checkpoint={"start": start},
        query=asked["search_query"],
        page_size=size,
        max_results=start + size,
    )


def versioned(items) -> list[str]:
    return [f"{i.arxiv_id}v{i.version}" for i in items if isinstance(i, PaperRecord)]


@pytest.mark.parametrize("name", files("arxiv_api_atom"))
def test_every_recorded_response_gives_one_record_per_entry(name: str) -> None:
    items, _, _, _ = replay(name)
    entries = re.findall(r"<id>https?://arxiv\.org/abs/([^<]+)</id>", body(name).decode())
    assert versioned(items) == entries
    records = [i for i in items if isinstance(i, PaperRecord)]
    assert all(validate(copy.copy(r)) for r in records)


@pytest.mark.parametrize("name", files("arxiv_api_atom"))
def test_every_recorded_failure_is_reported(name: str) -> None:
    items, _, _, _ = replay(name)
    assert [i for i in items if isinstance(i, Rejected)] == REJECTED.get(name, [])


@pytest.mark.parametrize("name", files("arxiv_api_atom"))
def test_requests_ask_what_was_recorded(name: str) -> None:
    _, _, net, _ = replay(name)
    asked = recorded_request(name)
    key = "id_list" if asked.get("id_list") else "search_query"
    assert net.params(0)[key] == asked[key]


def test_entry_fields() -> None:
    items, _, _, _ = read([({}, recorded(AEW10))], ids=["1707.08567"])
    record = items[0]
    assert (record.arxiv_id, record.version) == ("1707.08567", 1)
    assert record.title == (
        "Proceedings of Workshop AEW10: Concepts in Information Theory and Communications"
    )
    assert len(record.authors) == 34
    assert record.authors[:2] == ["Kees A. Schouhamer Immink", "Stan Baggen"]
    assert record.authors[-1] == "Hirosuke Yamamoto"
    assert (record.categories, record.primary_category) == (["cs.IT"], "cs.IT")
    assert record.published == datetime(2017, 7, 27, 8, 18, 33, tzinfo=UTC)
    assert record.comments == (
        "44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck"
    )
    assert record.source == "arxiv-api"


def test_old_style_id_and_cross_list_categories() -> None:
    items, _, _, _ = read([({}, recorded(QUANT_PH))], ids=["quant-ph/0201082v1"])
    assert (items[0].arxiv_id, items[0].version) == ("quant-ph/0201082", 1)
    assert items[0].categories == ["quant-ph", "cs.PL"]


def test_legacy_feed_fields() -> None:
    items, _, _, _ = read([({}, recorded(LEGACY))], ids=["1111.2011v2"])
    record = items[0]
    assert (record.arxiv_id, record.version) == ("1111.2011", 2)
    assert record.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert record.doi == "10.1103/PhysRevB.85.115117"
    assert record.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert record.updated == datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert record.authors == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]


def test_code_links_come_from_abstract_and_comment() -> None:
    items, _, _, _ = replay(ATOM + "q_testing_s40_m10_96dd32eb854c.xml")
    assert items[8].arxiv_id == "1706.00679"
    assert items[8].links == ["https://github.com/ydecastro/super-resolution-testing"]


def test_id_look_up_reports_ids_not_found_in_request_order() -> None:
    items, _, _, _ = read([({}, recorded(PAIR))], ids=["0808.05394", "1707.08567"])
    assert items[0] == Rejected("0808.05394", NOT_FOUND)
    assert items[1].arxiv_id == "1707.08567"


def test_malformed_id_is_rejected_with_arxivs_reason() -> None:
    items, _, _, _ = read([({}, recorded(ABC))], ids=["abc"])
    assert items == [Rejected("abc", "incorrect id format for abc")]


def test_malformed_id_in_a_list_is_rejected_and_the_others_looked_up_again() -> None:
    routes = [({"id_list": "abc,1707.08567"}, recorded(ABC)), ({}, recorded(AEW10))]
    items, _, net, _ = read(routes, ids=["abc", "1707.08567"])
    assert items[0] == Rejected("abc", "incorrect id format for abc")
    assert items[1].arxiv_id == "1707.08567"
    assert [net.params(i)["id_list"] for i in range(2)] == ["abc,1707.08567", "1707.08567"]


def test_error_naming_no_id_looks_each_id_up_alone() -> None:
    vague = Reply(body(ABC).replace(b"incorrect id format for abc", b"internal error"), 400)
    routes = [
        ({"id_list": "0808.05394,1707.08567"}, vague),
        ({"id_list": "0808.05394"}, recorded(ATOM + "id_0808.05394_s0_m100_7b0c7d0a7cdd.xml")),
        ({"id_list": "1707.08567"}, recorded(AEW10)),
    ]
    items, _, _, _ = read(routes, ids=["0808.05394", "1707.08567"])
    assert items[0] == Rejected("0808.05394", NOT_FOUND)
    assert items[1].arxiv_id == "1707.08567"


def test_id_lists_are_chunked_by_page_size() -> None:
    routes = [({"id_list": "0808.05394,1707.08567"}, recorded(PAIR)), ({}, recorded(QUANT_PH))]
    _, _, net, _ = read(routes, ids=["0808.05394", "1707.08567", "quant-ph/0201082v1"], page_size=2)
    assert [net.params(i)["id_list"] for i in range(2)] == [
        "0808.05394,1707.08567",
        "quant-ph/0201082v1",
    ]


def test_id_checkpoints_name_chunk_and_index() -> None:
    routes = [({"id_list": "0808.05394,1707.08567"}, recorded(PAIR)), ({}, recorded(QUANT_PH))]
    _, checkpoints, _, _ = read(
        routes, ids=["0808.05394", "1707.08567", "quant-ph/0201082v1"], page_size=2
    )
    assert checkpoints == [
        {"chunk": 0, "index": 1},
        {"chunk": 0, "index": 2},
        {"chunk": 1, "index": 1},
    ]


def test_id_look_up_resumes_at_its_chunk() -> None:
    items, _, net, _ = read(
        [({}, recorded(QUANT_PH))],
        checkpoint={"chunk": 1, "index": 0},
        ids=["0808.05394", "1707.08567", "quant-ph/0201082v1"],
        page_size=2,
    )
    assert versioned(items) == ["quant-ph/0201082v1"]
    assert len(net.requests) == 1


def test_search_pages_with_start_and_max_results() -> None:
    routes = [({"start": start}, recorded(name)) for start, name in PAGES.items()]
    _, _, net, _ = read(routes, query="testing", page_size=10, max_results=30)
    assert [(net.params(i)["start"], net.params(i)["max_results"]) for i in range(3)] == [
        ("0", "10"),
        ("10", "10"),
        ("20", "10"),
    ]


def test_search_yields_every_page_in_order() -> None:
    routes = [({"start": start}, recorded(name)) for start, name in PAGES.items()]
    items, checkpoints, _, src = read(routes, query="testing", page_size=10, max_results=30)
    assert [items[0].arxiv_id, items[10].arxiv_id, items[20].arxiv_id] == [
        "2202.12139",
        "2403.16981",
        "2008.01944",
    ]
    assert checkpoints[-1] == {"start": 30}
    assert src.progress() == (30, 30)


def test_search_resumes_at_start() -> None:
    routes = [({"start": start}, recorded(name)) for start, name in PAGES.items()]
    items, _, net, _ = read(
        routes, checkpoint={"start": 20}, query="testing", page_size=10, max_results=30
    )
    assert len(items) == 10
    assert [net.params(i)["start"] for i in range(len(net.requests))] == ["20"]


def test_search_stops_at_total_results() -> None:
    name = ATOM + "legacy_2016/search_query=au_del_maestro_AND_ti_checkerboard.xml"
    items, _, net, src = read([({}, recorded(name))], query="au:del_maestro AND ti:checkerboard")
    assert versioned(items) == ["cond-mat/0603029v1"]
    assert len(net.requests) == 1
    assert src.progress() == (1, 1)


def test_empty_page_before_total_results_stops_the_run() -> None:
    empty = re.sub(rb"<entry>.*</entry>", b"", body(PAGES["10"]), flags=re.S)
    routes = [({"start": "0"}, recorded(PAGES["0"])), ({"start": "10"}, Reply(empty))]
    with pytest.raises(SourceError, match="no entries at start=10 of 30 results"):
        read(routes, query="testing", page_size=10, max_results=30)


def test_search_error_entry_stops_the_run() -> None:
    with pytest.raises(SourceError, match=r"arXiv API error: incorrect id format for abc$"):
        read([({}, recorded(ABC))], query="testing")


def test_http_error_without_atom_error_stops_the_run() -> None:
    with pytest.raises(SourceError, match=r"query\?id_list=1707\.08567.*: HTTP 400$"):
        read([({}, Reply(b"Bad Request", 400))], ids=["1707.08567"])


def test_http_error_with_a_feed_but_no_error_entry_stops_the_run() -> None:
    reply = Reply(body(ATOM + "id_0000.0000_s0_m100_8b51d9633a68.xml"), 404)
    with pytest.raises(SourceError, match=r": HTTP 404$"):
        read([({}, reply)], ids=["0000.0000"])


def test_broken_xml_names_the_url() -> None:
    with pytest.raises(SourceError, match=r"^https://export\.arxiv\.org/api/query\?id_list="):
        read([({}, broken(AEW10))], ids=["1707.08567"])


def test_ids_and_query_are_exclusive() -> None:
    with pytest.raises(ValueError, match="exactly one of ids and query"):
        ArxivApiSource(FakeNet([]).client, BASE, ids=["1707.08567"], query="testing")


def test_params_identify_the_look_up() -> None:
    src = ArxivApiSource(FakeNet([]).client, BASE, ids=["1707.08567", "1707.08567"])
    assert src.params() == {
        "url": BASE,
        "ids": ["1707.08567"],
        "query": None,
        "page_size": 100,
        "max_results": None,
    }
