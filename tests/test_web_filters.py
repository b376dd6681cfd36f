"""Category filters (``cat=``) on the day, trending, search, organisation and author pages and
their API twins; the category chips as links; the order of a day's papers, remembered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine, update

from memory_source import MemorySource, paper
from paperfeed.ingest.pipeline import ingest
from paperfeed.store import feed
from paperfeed.store.schema import papers
from web_app import DEEP, HOSTILE, PAPERS, WebApp, build_shared, card_ids

# the newest day's papers in more categories than the shared store's (cs.LG, quant-ph)
CATEGORIES = {
    "2503.00401": ["cs.CV", "cs.LG"],
    "2503.00402": ["cs.CL", "cs.IR"],
    "2503.00403": ["eess.AS"],
    "2503.00404": ["q-bio.BM", "cs.LG"],
    "2503.00201": ["cs.CL"],  # Deep Thought Lab's, on Wednesday
}
PUBLISHED = {
    "2503.00401": datetime(2025, 3, 9, 10, tzinfo=UTC),
    "2503.00404": datetime(2025, 3, 8, 10, tzinfo=UTC),
}
NEWEST_DAY = sorted([*[*CATEGORIES][:4], HOSTILE])  # 2025-03-10, in arXiv's order


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> WebApp:
    web = build_shared(tmp_path_factory.mktemp("filters"))
    with web.engine.begin() as conn:
        for arxiv_id, categories in CATEGORIES.items():
            changed = {"categories": categories, "published": PUBLISHED.get(arxiv_id)}
            conn.execute(update(papers).where(papers.c.arxiv_id == arxiv_id).values(**changed))
    return web


@pytest.fixture
def visitor(site: WebApp) -> TestClient:
    return site.browser()


def xpath(page: str, path: str) -> list[str]:
    return [str(found) for found in html.fromstring(page).xpath(path)]


def removals(page: str) -> dict[str, str]:
    """The active filters a page shows: each category and the link that removes it."""
    links = html.fromstring(page).xpath("//p[@class='filters']/a[contains(@class, 'chip')]")
    return {link.text.strip(): link.get("href") for link in links}


def notes(page: str) -> list[str]:
    return xpath(page, "//p[@class='note']/text()")


# the day pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cat=cs.CL", ["2503.00402"]),
        ("cat=CS.cl", ["2503.00402"]),  # any case
        ("cat=cs", ["2503.00401", "2503.00402", "2503.00404", HOSTILE]),  # the archive
        ("cat=eess&cat=q-bio.BM", ["2503.00403", "2503.00404"]),  # any of several
        ("cat=eess.AS,cs.CV", ["2503.00401", "2503.00403"]),  # as the search box takes them
        ("cat=q", []),  # no archive is a prefix of another's name
    ],
)
def test_a_day_page_lists_only_papers_in_the_categories(
    visitor: TestClient, query: str, expected: list[str]
) -> None:
    page = visitor.get(f"/papers?{query}&sort=id")
    assert page.status_code == 200
    assert card_ids(page.text) == expected
    if not expected:
        assert "No papers in q on" in page.text


def test_an_older_day_and_an_archive_without_categories_filter_too(visitor: TestClient) -> None:
    page = visitor.get("/papers/date/2025-03-04?cat=quant-ph").text
    assert card_ids(page) == ["2503.00102"]
    assert xpath(page, "//p[@class='count']/text()") == ["1 paper"]
    # the days around it keep the filter
    assert xpath(page, "//nav[@class='days']/a/@href") == [
        "/papers/date/2025-03-03?cat=quant-ph",
        "/papers/date/2025-03-05?cat=quant-ph",
    ]


def test_the_active_filters_are_shown_and_each_removable(visitor: TestClient) -> None:
    page = visitor.get("/papers?cat=cs.CL&cat=eess").text
    assert removals(page) == {"cs.CL": "/papers?cat=eess", "eess": "/papers?cat=cs.CL"}
    assert xpath(page, "//a[@class='clear-filters']/@href") == ["/papers"]
    rest = visitor.get(removals(page)["cs.CL"]).text
    assert card_ids(rest) == ["2503.00403"]
    assert removals(visitor.get("/papers").text) == {}


def test_category_chips_link_to_the_papers_day_in_that_category(visitor: TestClient) -> None:
    chip = "//article[.//span[@class='id']='2503.00402']//a[@class='tag']/@href"
    expected = ["/papers/date/2025-03-10?cat=cs.CL", "/papers/date/2025-03-10?cat=cs.IR"]
    # the same link on every page a card is on: a visitor's cards are rendered once
    assert xpath(visitor.get("/papers").text, chip) == expected
    assert xpath(visitor.get("/papers?cat=cs.IR").text, chip) == expected
    assert xpath(visitor.get("/author/Alan%20Turing").text, chip) == expected
    assert card_ids(visitor.get(expected[0]).text) == ["2503.00402"]


# sorting a day ----------------------------------------------------------------------------


def sort_tabs(page: str) -> tuple[list[str], list[str]]:
    """The sort tabs' labels and the current one."""
    tabs = "//nav[@class='tabs sort']/a"
    return xpath(page, f"{tabs}/text()"), xpath(page, f"{tabs}[@aria-current='page']/text()")


def test_a_day_sorts_by_upvotes_newest_or_arxiv_order(visitor: TestClient) -> None:
    trending = visitor.get("/papers").text
    assert card_ids(trending)[0] == "2503.00403"  # the only one with upvotes
    assert sort_tabs(trending) == (["Most upvoted", "Newest", "arXiv order"], ["Most upvoted"])
    newest = card_ids(visitor.get("/papers?sort=newest").text)
    assert newest == ["2503.00401", "2503.00404", HOSTILE, "2503.00403", "2503.00402"]
    assert card_ids(visitor.get("/papers?sort=id").text) == NEWEST_DAY


def test_the_sort_is_remembered_for_the_visitor_only(visitor: TestClient, site: WebApp) -> None:
    page = visitor.get("/papers?sort=id&cat=cs").text
    assert xpath(page, "//nav[@class='tabs sort']/a/@href") == [
        "/papers?sort=trending&cat=cs",
        "/papers?sort=newest&cat=cs",
        "/papers?sort=id&cat=cs",
    ]
    again = visitor.get("/papers").text
    assert card_ids(again) == NEWEST_DAY
    assert sort_tabs(again)[1] == ["arXiv order"]
    assert card_ids(visitor.get("/papers/date/2025-03-05").text) == [
        "2503.00201",
        "2503.00202",
        "2503.00203",
    ]
    assert card_ids(site.browser().get("/papers").text)[0] == "2503.00403"  # someone else
    visitor.get("/papers?sort=trending")
    assert card_ids(visitor.get("/papers").text)[0] == "2503.00403"


# the other pages --------------------------------------------------------------------------


def test_trending_filters_by_category_and_its_tabs_keep_the_filter(visitor: TestClient) -> None:
    page = visitor.get("/papers/trending?period=week&cat=quant-ph").text
    assert card_ids(page) == ["2503.00102"]
    assert xpath(page, "//nav[@class='tabs']/a/@href") == [
        "/papers/trending?cat=quant-ph",
        "/papers/trending?period=week&cat=quant-ph",
        "/papers/trending?period=month&cat=quant-ph",
    ]
    assert removals(page) == {"quant-ph": "/papers/trending?period=week"}
    now = card_ids(visitor.get("/papers/trending?cat=cs.CL").text)
    assert set(now) == {"2503.00201", "2503.00402"}


def test_organisation_and_author_pages_filter_by_category(visitor: TestClient) -> None:
    org = visitor.get(f"/org/{DEEP.handle}?cat=cs.CL").text
    assert card_ids(org) == ["2503.00201"]
    assert removals(org) == {"cs.CL": f"/org/{DEEP.handle}"}
    author = visitor.get("/author/Alan%20Turing", params={"cat": ["quant-ph", "eess"]}).text
    assert card_ids(author) == ["2503.00403", "2503.00102"]
    # an author with no papers in the category is still there; one with none at all is not
    assert visitor.get("/author/Alan%20Turing?cat=math").status_code == 200
    assert visitor.get("/author/Nobody?cat=cs").status_code == 404


def test_search_takes_several_categories_and_shows_them(visitor: TestClient) -> None:
    page = visitor.get("/search", params={"cat": ["quant-ph", "cs.LG"], "mode": "lexical"})
    assert len(card_ids(page.text)) == len(PAPERS)
    quantum = visitor.get("/search?cat=quant-ph&cat=nope%25&mode=lexical").text
    assert card_ids(quantum) == ["2503.00102"]
    assert notes(quantum) == [
        "Ignored: 'nope%' is not an arXiv category or archive (like cs.CL or cs)."
    ]
    assert removals(quantum) == {"quant-ph": "/search?mode=lexical"}
    assert xpath(quantum, "//input[@name='cat']/@value") == ["quant-ph"]


def test_the_search_forms_empty_dates_filter_nothing(visitor: TestClient) -> None:
    # as a browser sends the form with its From and To left empty
    page = visitor.get("/search?q=graph&mode=lexical&cat=&author=&from=&to=")
    assert page.status_code == 200
    assert card_ids(page.text) == card_ids(visitor.get("/search?q=graph&mode=lexical").text)
    assert visitor.get("/api/papers/search?q=graph&from=0").status_code == 422


# bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ['cs.CL"', "cs%", "c_", "<script>alert(1)</script>", "x" * 250, "cs.CL OR 1=1"]
)
def test_pages_ignore_a_bad_category_and_say_so(visitor: TestClient, value: str) -> None:
    page = visitor.get("/papers", params={"cat": value, "sort": "id"})
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert notes(page.text) and notes(page.text)[0].startswith("Ignored: ")
    if value != "cs.CL OR 1=1":  # its good parts are kept: cs.CL, OR
        assert card_ids(page.text) == NEWEST_DAY


def test_a_bad_sort_is_ignored_with_a_note(visitor: TestClient) -> None:
    page = visitor.get("/papers?sort=random").text
    assert card_ids(page)[0] == "2503.00403"
    assert notes(page) == ["Ignored: sort 'random' is not one of trending, newest, id."]


# the API ----------------------------------------------------------------------------------


def entry_ids(entries: list[dict]) -> list[str]:
    return sorted(entry["paper"]["id"] for entry in entries)


def test_the_daily_papers_api_takes_categories_as_an_extra(visitor: TestClient) -> None:
    assert entry_ids(visitor.get("/api/daily_papers?cat=cs.CL").json()) == ["2503.00402"]
    found = visitor.get("/api/daily_papers?date=2025-03-04&cat=quant-ph&cat=eess").json()
    assert entry_ids(found) == ["2503.00102"]
    assert len(visitor.get("/api/daily_papers?cat=").json()) == len(NEWEST_DAY)  # no filter


def test_the_trending_api_takes_categories(visitor: TestClient) -> None:
    found = visitor.get("/api/papers/trending?period=week&cat=quant-ph").json()
    assert entry_ids(found) == ["2503.00102"]


@pytest.mark.parametrize(
    "path", ["/api/daily_papers", "/api/papers/trending", "/api/papers/search"]
)
def test_the_api_refuses_a_bad_category(visitor: TestClient, path: str) -> None:
    response = visitor.get(path, params={"cat": ["cs.CL", "cs%"]})
    assert response.status_code == 400
    assert response.json() == {
        "error": "'cs%' is not an arXiv category or archive (like cs.CL or cs)"
    }


def test_filters_work_on_a_fresh_app_of_the_same_store(tmp_path: Path) -> None:
    """The listing kept per store version is kept per filter and sort too."""
    web = build_shared(tmp_path)
    visitor = web.browser()
    everything = card_ids(visitor.get("/papers").text)
    assert card_ids(visitor.get("/papers?cat=quant-ph").text) == []
    assert card_ids(visitor.get("/papers").text) == everything
    assert card_ids(visitor.get("/papers?sort=id").text) == sorted(everything)


def test_the_store_filters_categories_alike_on_each_database(engine: Engine) -> None:
    """The one SQL condition, on SQLite and (in CI) PostgreSQL."""
    day = date(2025, 3, 10)
    listed = {
        "2503.00001": ["cs.CL", "cs.LG"],
        "2503.00002": ["hep-th"],
        "2503.00003": ["math.AG", "hep-th"],
        "2503.00004": ["cond-mat.mes-hall"],
        "2503.00005": ["cs_CL"],  # not a category: no "_" may match any character
    }
    records = [paper(key, categories=names, announced=day) for key, names in listed.items()]
    ingest(engine, MemorySource(records), today=day)

    def found(*names: str) -> list[str]:
        cards = feed.day_papers(engine, day, *feed.in_categories(names), order="id")
        return [card["arxiv_id"] for card in cards]

    assert found("cs.cl") == ["2503.00001"]
    assert found("hep-th") == ["2503.00002", "2503.00003"]
    assert found("math", "cond-mat") == ["2503.00003", "2503.00004"]
    assert found("cond-mat.mes-hall") == ["2503.00004"]
    assert found("cs.C", "hep", "mat") == []
    assert len(found()) == len(listed)
    assert feed.day_count(engine, day, *feed.in_categories(["cs"])) == 1
