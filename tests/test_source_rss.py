"""The arXiv announcement RSS source against recorded feeds."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from paperfeed.records import PaperRecord, validate
from paperfeed.sources.base import SourceError
from paperfeed.sources.rss import RssSource, split_creators
from protocol import FakeNet, Reply, broken, files, recorded

BASE = "https://rss.arxiv.org/rss/"
ALL = "arxiv_rss/rss_all_archives_2024-11-28.xml.gz"
EMPTY = "arxiv_rss/rss_empty_test_archive_2024-11-28.xml"
ERROR = "arxiv_rss/rss_error_bad_archive_2024-11-28.xml"
DAY = date(2024, 11, 28)


def read(reply: Reply, checkpoint=None, categories=("cs", "math")):
    net = FakeNet([({}, reply)])
    src = RssSource(net.client, BASE, list(categories))
    pairs = list(src.read(checkpoint))
    return [item for item, _ in pairs], [cp for _, cp in pairs], net, src


@pytest.fixture(scope="module")
def feed():
    """The all-archives feed, read once: (items, checkpoints, net, source)."""
    return read(recorded(ALL))


def by_id(items, arxiv_id: str) -> PaperRecord:
    return next(i for i in items if i.arxiv_id == arxiv_id)


@pytest.mark.parametrize(
    ("name", "count"), [(ALL, 1504), (EMPTY, 0), (ERROR, None)], ids=lambda v: str(v)[:30]
)
def test_every_recorded_feed_reads_as_expected(name: str, count: int | None) -> None:
    if count is None:
        with pytest.raises(SourceError):
            read(recorded(name))
        return
    items, _, _, _ = read(recorded(name))
    assert len(items) == count
    assert all(isinstance(i, PaperRecord) and validate(copy.copy(i)) for i in items)


def test_feed_url_joins_the_categories() -> None:
    _, _, net, _ = read(recorded(EMPTY))
    assert str(net.requests[0].url) == "https://rss.arxiv.org/rss/cs+math"


def test_announce_types_are_counted(feed) -> None:
    assert feed[3].announce_counts == {"new": 926, "cross": 9, "replace": 569}


def test_new_submission_fields(feed) -> None:
    record = feed[0][0]
    assert (record.arxiv_id, record.version) == ("2411.17700", 1)
    assert record.title == (
        "Exploring the Impact of Generative AI on Cross-Border E-Commerce Brand Building "
        "in Chinese Tianjin's Manufacturing Sector"
    )
    assert record.authors == ["Jun Cui"]
    assert (record.categories, record.primary_category) == (["cs.CY"], "cs.CY")
    assert record.license == "http://creativecommons.org/licenses/by/4.0/"
    assert record.source == "rss:cs+math"


def test_abstract_is_the_description_after_abstract(feed) -> None:
    abstract = feed[0][0].abstract
    assert abstract.startswith("This study investigates the influence of generative")
    assert abstract.endswith("structural equations (PLS-SEM).")


def test_announcement_day_is_announced_first_and_last_seen(feed) -> None:
    record = feed[0][0]
    assert (record.announced, record.first_seen, record.last_seen) == (DAY, DAY, DAY)


def test_replacement_carries_its_new_version(feed) -> None:
    record = by_id(feed[0], "1401.3665")
    assert (record.version, record.title, record.authors) == (
        4,
        "The existence of designs",
        ["Peter Keevash"],
    )


def test_cross_list_keeps_every_category_and_its_doi(feed) -> None:
    record = by_id(feed[0], "2202.06515")
    assert record.categories == ["astro-ph.CO", "astro-ph.GA", "physics.flu-dyn"]
    assert record.doi == "10.1063/5.0236964"
    assert record.journal_ref == "Physics of Fluids 36, 117158 (2024)"


def test_creators_lose_their_parenthesised_affiliations(feed) -> None:
    assert by_id(feed[0], "2411.17817").authors == [
        "Tianliang Yan",
        "Yubao Liu",
        "Leonid Prokhorov",
        "Jiri Smetana",
        "Haixing Miao",
        "Yiqiu Ma",
        "Vincent Boyer",
        "Denis Martynov",
    ]


def test_long_creator_lists_are_split(feed) -> None:
    authors = by_id(feed[0], "2403.07266").authors
    assert (len(authors), authors[:2]) == (207, ["NOvA Collaboration", "M. A. Acero"])


def test_code_links_come_from_the_abstract(feed) -> None:
    assert by_id(feed[0], "2411.17702").links == ["https://github.com/mandiehyewon/goodviews_ecg"]


def test_progress_counts_items(feed) -> None:
    assert feed[3].progress() == (1504, 1504)


def test_checkpoints_count_items_of_the_day(feed) -> None:
    assert feed[1][:2] == [{"index": 1, "day": "2024-11-28"}, {"index": 2, "day": "2024-11-28"}]


def test_resume_skips_items_done() -> None:
    items, _, _, _ = read(recorded(ALL), checkpoint={"index": 1502, "day": "2024-11-28"})
    assert [(i.arxiv_id, i.version) for i in items] == [("2411.17691", 2), ("2411.17697", 2)]


def test_checkpoint_of_another_day_starts_from_the_first_item() -> None:
    items, _, _, _ = read(recorded(ALL), checkpoint={"index": 1502, "day": "2024-11-27"})
    assert (len(items), items[0].arxiv_id) == (1504, "2411.17700")


def test_empty_feed_is_a_day_without_announcements() -> None:
    items, _, _, src = read(recorded(EMPTY))
    assert items == []
    assert (
        src.empty_day_message == "https://rss.arxiv.org/rss/cs+math: no announcements on 2024-11-28"
    )


def test_error_feed_raises_its_description() -> None:
    with pytest.raises(SourceError) as caught:
        read(recorded(ERROR), categories=["astroph"])
    assert str(caught.value) == (
        "https://rss.arxiv.org/rss/astroph: Bad archive 'astroph'. Valid archive names are: "
        "astro-ph, cond-mat, cs, econ, eess, gr-qc, hep-ex, hep-lat, hep-ph, hep-th, math, "
        "math-ph, nlin, nucl-ex, nucl-th, physics, q-bio, q-fin, quant-ph, stat, test."
    )


def test_broken_xml_names_the_url() -> None:
    with pytest.raises(SourceError, match=r"^https://rss\.arxiv\.org/rss/cs\+math: broken XML"):
        read(broken(EMPTY))


def test_http_error_without_a_feed_stops_the_run() -> None:
    with pytest.raises(SourceError, match=r"^https://rss\.arxiv\.org/rss/cs\+math: HTTP 404$"):
        read(Reply(b"Not Found", 404))


@pytest.mark.parametrize(
    ("creators", "names"),
    [
        ("A. One, B. Two, and C. Three", ["A. One", "B. Two", "C. Three"]),
        ("A. One and B. Two", ["A. One", "B. Two"]),
        ("A. One (Univ. X, Dept. Y and Z), B. Two", ["A. One", "B. Two"]),
        (" CMS Collaboration", ["CMS Collaboration"]),
    ],
)
def test_split_creators(creators: str, names: list[str]) -> None:
    assert split_creators(creators) == names


def test_files_helper_finds_the_three_feeds() -> None:
    assert files("arxiv_rss", "*.xml*") == sorted([ALL, EMPTY, ERROR])
