"""The OAI-PMH harvester against recorded arXiv responses."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime

import pytest

from paperfeed.records import PaperRecord, Withdrawal, validate
from paperfeed.sources.base import Rejected, SourceError
from paperfeed.sources.oai_pmh import OaiPmhSource
from protocol import (
    PATH,
    FakeNet,
    Reply,
    body,
    broken,
    files,
    network_error,
    recorded,
    unavailable,
    unreachable,
)

BASE = "https://oaipmh.arxiv.org/oai"
HEP_EX = "arxiv_oai_pmh/ListRecords_arxiv-physics-hep-ex.xml"
HEP_TH = "arxiv_oai_pmh/ListRecords_arxiv-physics-hep-th.xml"
SINGLE = "arxiv_oai_pmh/GetRecord_arxiv-single.xml"
HEP_EX_IDS = ["1706.05371", "1706.09418", "1707.00874"]
HEP_TH_IDS = ["1412.8323", "1507.07790", "1607.01710"]
TOKEN_ROUTE = {"resumptionToken": "TOKEN"}


def source(net: FakeNet, **kwargs) -> OaiPmhSource:
    return OaiPmhSource(net.client, BASE, set_spec="physics:hep-ex", **kwargs)


def harvest(routes, checkpoint=None, **kwargs):
    net = FakeNet(routes)
    src = source(net, **kwargs)
    pairs = list(src.read(checkpoint))
    return [item for item, _ in pairs], [cp for _, cp in pairs], net, src


def first_page() -> Reply:
    """The hep-ex page, with a resumption token to the hep-th page."""
    token = b'<resumptionToken completeListSize="6" cursor="0">TOKEN</resumptionToken>'
    return Reply(body(HEP_EX).replace(b"</ListRecords>", token + b"</ListRecords>"))


PAGED = [(TOKEN_ROUTE, recorded(HEP_TH)), ({"verb": "ListRecords"}, first_page())]


def oai_error(code: str, message: str) -> Reply:
    """The hep-ex response with its records replaced by an OAI-PMH error."""
    error = f'<error code="{code}">{message}</error>'.encode()
    return Reply(re.sub(rb"<ListRecords>.*</ListRecords>", error, body(HEP_EX), flags=re.S))


def ids(items) -> list[str]:
    return [item.arxiv_id for item in items]


@pytest.mark.parametrize("name", files("arxiv_oai_pmh"))
def test_every_recorded_response_gives_valid_records_for_its_identifiers(name: str) -> None:
    items, _, _, _ = harvest([({}, recorded(name))])
    expected = re.findall(r"<identifier>oai:arXiv.org:([^<]+)</identifier>", body(name).decode())
    assert ids(items) == expected
    assert all(isinstance(i, PaperRecord) and validate(copy.copy(i)) for i in items)


def test_record_fields_come_from_the_arxiv_metadata_format() -> None:
    items, _, _, _ = harvest([({}, recorded(HEP_EX))])
    record = items[1]
    assert record.title == "R-Parity Violation at the LHC"
    assert record.authors == [
        "Daniel Dercks",
        "Herbi Dreiner",
        "Manuel E. Krauss",
        "Toby Opferkuch",
        "Annika Reinert",
    ]
    assert (record.categories, record.primary_category) == (["hep-ph", "hep-ex"], "hep-ph")
    assert record.published == datetime(2017, 6, 28, tzinfo=UTC)
    assert record.updated == datetime(2017, 11, 26, tzinfo=UTC)
    assert record.doi == "10.1140/epjc/s10052-017-5414-4"
    assert record.journal_ref == "Eur. Phys. J. C (2017) 77:856"
    assert record.comments == (
        "43 pages, 13 tables, 17 figures; updated Figs. 11-17 and Tab. 12 including NLO "
        "corrections; version accepted for publication in EPJC"
    )
    assert record.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert record.abstract.startswith("We investigate the phenomenology of the MSSM")


def test_header_datestamp_is_first_and_last_seen() -> None:
    items, _, _, _ = harvest([({}, recorded(SINGLE))])
    assert (items[0].first_seen, items[0].last_seen) == (date(2018, 1, 25), date(2018, 1, 25))


def test_the_format_carries_no_version() -> None:
    items, _, _, _ = harvest([({}, recorded(HEP_EX))])
    assert [i.version for i in items] == [None, None, None]


def test_source_names_the_set() -> None:
    items, _, _, _ = harvest([({}, recorded(HEP_EX))])
    assert {i.source for i in items} == {"oai:physics:hep-ex"}


def test_author_suffix_follows_keyname() -> None:
    items, _, _, _ = harvest([({}, recorded("arxiv_oai_pmh/GetRecord_sample_arxiv_record4.xml"))])
    assert items[0].authors[44:47] == ["R. O'Brient", "R. W. IV", "A. Orlando"]
    assert len(items[0].authors) == 66


def test_affiliations_are_not_part_of_author_names() -> None:
    items, _, _, _ = harvest([({}, recorded("arxiv_oai_pmh/GetRecord_sample_arxiv_record5.xml"))])
    assert items[0].authors == [
        "Günter Burigana",
        "Tiziana Trombetti",
        "Daniela Paoletti",
        "Nazzareno Mandolesi",
        "Paolo Natoli",
    ]


def test_first_request_asks_for_the_arxiv_format_set_and_dates() -> None:
    _, _, net, _ = harvest(
        [({}, recorded(HEP_EX))], from_date=date(2017, 12, 14), until_date=date(2017, 12, 15)
    )
    assert net.params(0) == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "physics:hep-ex",
        "from": "2017-12-14",
        "until": "2017-12-15",
    }


def test_resumption_token_fetches_the_next_page() -> None:
    items, _, _, _ = harvest(PAGED)
    assert ids(items) == HEP_EX_IDS + HEP_TH_IDS


def test_token_request_carries_only_verb_and_token() -> None:
    _, _, net, _ = harvest(PAGED)
    assert net.params(1) == {"verb": "ListRecords", "resumptionToken": "TOKEN"}


def test_checkpoint_names_the_page_token_and_items_done() -> None:
    _, checkpoints, _, _ = harvest(PAGED)
    assert checkpoints == [
        {"token": None, "index": 1},
        {"token": None, "index": 2},
        {"token": None, "index": 3},
        {"token": "TOKEN", "index": 1},
        {"token": "TOKEN", "index": 2},
        {"token": "TOKEN", "index": 3},
    ]


def test_resume_refetches_the_page_and_skips_items_done() -> None:
    items, _, net, _ = harvest(PAGED, checkpoint={"token": "TOKEN", "index": 1})
    assert ids(items) == HEP_TH_IDS[1:]
    assert [net.params(i) for i in range(len(net.requests))] == [
        {"verb": "ListRecords", "resumptionToken": "TOKEN"}
    ]


def test_resume_in_the_first_page_goes_on_to_the_next() -> None:
    items, _, _, _ = harvest(PAGED, checkpoint={"token": None, "index": 2})
    assert ids(items) == HEP_EX_IDS[2:] + HEP_TH_IDS


def test_resume_with_an_expired_token_harvests_again_from_the_start() -> None:
    expired = oai_error("badResumptionToken", "The value of the resumptionToken is invalid")
    routes = [({"resumptionToken": "OLD"}, expired), *PAGED]
    items, _, _, _ = harvest(routes, checkpoint={"token": "OLD", "index": 2})
    assert ids(items) == HEP_EX_IDS + HEP_TH_IDS


def test_progress_counts_records_of_the_complete_list_size() -> None:
    _, _, _, src = harvest(PAGED)
    assert src.progress() == (6, 6)


def test_progress_total_is_unknown_without_a_token() -> None:
    _, _, _, src = harvest([({}, recorded(HEP_EX))])
    assert src.progress() == (3, None)


def test_requests_are_spaced_by_the_delay() -> None:
    _, _, net, _ = harvest(PAGED)
    assert [b - a for a, b in zip(net.times, net.times[1:], strict=False)] == [3.0]


def test_503_with_retry_after_is_waited_for_and_retried() -> None:
    items, _, net, _ = harvest([({}, [unavailable(7), recorded(HEP_EX)])])
    assert ids(items) == HEP_EX_IDS
    assert 7 in net.sleeps
    assert len(net.requests) == 2


def test_network_error_is_retried() -> None:
    items, _, net, _ = harvest([({}, [network_error(), recorded(HEP_EX)])])
    assert ids(items) == HEP_EX_IDS
    assert len(net.requests) == 2


def test_network_error_on_every_attempt_stops_the_run() -> None:
    with pytest.raises(
        SourceError, match=r"^cannot reach https://oaipmh\.arxiv\.org/oai\?verb=ListRecords&"
    ):
        harvest([({}, network_error())])


def test_no_network_stops_at_once_and_says_how_to_import_a_file() -> None:
    with pytest.raises(SourceError, match=r"^cannot reach oaipmh\.arxiv\.org .*ingest jsonl"):
        harvest([({}, unreachable())])


def test_deleted_record_yields_a_withdrawal() -> None:
    deleted = body(SINGLE).replace(b"<header>", b'<header status="deleted">')
    deleted = re.sub(rb"<metadata>.*</metadata>", b"", deleted, flags=re.S)
    items, _, _, _ = harvest([({}, Reply(deleted))])
    assert items == [Withdrawal("1401.2122")]


def test_record_without_id_is_rejected_and_harvest_goes_on() -> None:
    edited = body(HEP_EX).replace(b"<id>1706.05371</id>", b"")
    items, _, _, _ = harvest([({}, Reply(edited))])
    assert items[0] == Rejected("oai:arXiv.org:1706.05371", "missing arXiv id")
    assert ids(items[1:]) == HEP_EX_IDS[1:]


def test_broken_xml_names_the_url() -> None:
    with pytest.raises(SourceError, match=r"^https://oaipmh\.arxiv\.org/oai\?verb=ListRecords.*"):
        harvest([({}, broken(HEP_EX))])


def test_broken_xml_says_it_is_broken() -> None:
    with pytest.raises(SourceError, match="broken XML at line"):
        harvest([({}, broken(HEP_EX))])


def test_no_records_match_is_an_empty_harvest() -> None:
    items, _, _, src = harvest([({}, oai_error("noRecordsMatch", "No records match"))])
    assert items == []
    assert src.progress() == (0, None)


def test_other_oai_errors_stop_the_run_with_code_and_message() -> None:
    reply = oai_error("badResumptionToken", "The value of the resumptionToken is invalid")
    with pytest.raises(
        SourceError,
        match=r"OAI-PMH error badResumptionToken: The value of the resumptionToken is invalid$",
    ):
        harvest([({}, reply)])


def test_http_error_without_xml_stops_the_run() -> None:
    with pytest.raises(SourceError, match=r"oai\?verb=ListRecords.*: HTTP 404$"):
        harvest([({PATH: "/oai"}, Reply(b"<html>Not Found", 404))])


def test_params_identify_the_harvest() -> None:
    src = source(FakeNet([]), from_date=date(2024, 1, 2))
    assert src.params() == {
        "url": BASE,
        "set": "physics:hep-ex",
        "from": "2024-01-02",
        "until": None,
    }


def test_check_makes_no_request() -> None:
    net = FakeNet([])
    source(net).check()
    assert net.requests == []
