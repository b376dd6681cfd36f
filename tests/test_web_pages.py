"""The HTML pages as a visitor sees them: the daily feed and its days, papers, organisations,
authors, search, trending, submitting a paper and the profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import update

from paperfeed.services import Services
from paperfeed.settings import Settings
from paperfeed.store.activity import set_hidden
from paperfeed.store.database import open_store
from paperfeed.store.keywords import pending_keywords, save_keywords
from paperfeed.store.queries import get_paper
from paperfeed.store.schema import papers
from paperfeed.web.app import create_app
from paperfeed.web.render import author_url
from protocol import recorded, unreachable
from web_app import (
    DEEP,
    GITHUB,
    HOSTILE_AUTHOR,
    NEXT_MONDAY,
    ORGANISED,
    PAPERS,
    WebApp,
    build,
    card_ids,
    sign_up,
    upvotes_shown,
)

AEW10 = "1707.08567"  # recorded arXiv API answer: "Proceedings of Workshop AEW10 …"
ARXIV_ROUTES = [
    ({"id_list": AEW10}, recorded("arxiv_api_atom/id_1707.08567_s0_m100_6a1afebfc6a3.xml")),
    ({"id_list": "0000.0000"}, recorded("arxiv_api_atom/id_0000.0000_s0_m100_8b51d9633a68.xml")),
]


pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def visitor(site: WebApp) -> TestClient:
    """A browser on the shared app (its own cookies); tests using it change nothing."""
    return site.browser()


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    """A fresh app for a test that changes things (accounts, votes, submissions)."""
    return build(tmp_path, routes=ARXIV_ROUTES)


@pytest.fixture
def browser(web: WebApp) -> TestClient:
    return web.browser()


def on_day(day: str) -> list[str]:
    return sorted(key for key, (*_, announced, _) in PAPERS.items() if str(announced) == day)


def text_of(page: str, xpath: str) -> str:
    nodes = html.fromstring(page).xpath(xpath)
    return " ".join(" ".join(node.text_content() for node in nodes).split())


def link(page: str, rel: str) -> str | None:
    found = html.fromstring(page).xpath(f"//nav[@class='days']/a[@rel='{rel}']/@href")
    return found[0] if found else None


# the daily feed ---------------------------------------------------------------------------


def test_the_home_page_is_the_daily_feed(visitor: TestClient) -> None:
    response = visitor.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, "/papers")


def test_the_feed_shows_the_newest_day_most_upvoted_first(visitor: TestClient) -> None:
    page = visitor.get("/papers")
    assert page.status_code == 200
    assert "Mon 10 Mar 2025" in text_of(page.text, "//h1")
    shown = card_ids(page.text)
    assert sorted(shown) == on_day(str(NEXT_MONDAY))
    assert shown[0] == "2503.00403"  # the only one of the day with upvotes
    assert f"{len(shown)} papers" in page.text
    assert (link(page.text, "prev"), link(page.text, "next")) == ("/papers/date/2025-03-07", None)


def test_a_day_links_the_announcement_days_around_it(visitor: TestClient) -> None:
    page = visitor.get("/papers/date/2025-03-05").text
    assert sorted(card_ids(page)) == on_day("2025-03-05")
    assert link(page, "prev") == "/papers/date/2025-03-04"
    assert link(page, "next") == "/papers/date/2025-03-07"  # Thursday had no announcements


def test_the_oldest_day_has_no_previous_link(visitor: TestClient) -> None:
    page = visitor.get("/papers/date/2025-03-03").text
    assert (link(page, "prev"), link(page, "next")) == (None, "/papers/date/2025-03-04")


@pytest.mark.parametrize(("day", "weekday"), [("2025-03-08", "Saturday"), ("2025-03-09", "Sunday")])
def test_a_weekend_day_says_arxiv_does_not_announce_then(
    visitor: TestClient, day: str, weekday: str
) -> None:
    page = visitor.get(f"/papers/date/{day}")
    assert page.status_code == 200
    assert f"arXiv does not announce papers on {weekday}s." in page.text
    assert card_ids(page.text) == []
    assert link(page.text, "prev") == "/papers/date/2025-03-07"
    assert link(page.text, "next") == "/papers/date/2025-03-10"
    assert "The previous announcement was on" in text_of(page.text, "//p[@class='empty']")


def test_a_weekday_without_papers_says_so(visitor: TestClient) -> None:
    page = visitor.get("/papers/date/2025-03-06").text
    assert "No papers were announced on this day" in page
    assert (link(page, "prev"), link(page, "next")) == (
        "/papers/date/2025-03-05",
        "/papers/date/2025-03-07",
    )


@pytest.mark.parametrize("day", ["2025-02-30", "yesterday", "2025-13-01", "0"])
def test_a_bad_date_is_a_not_found_page(visitor: TestClient, day: str) -> None:
    page = visitor.get(f"/papers/date/{day}")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "is not a date (YYYY-MM-DD)" in page.text
    assert 'href="/papers"' in page.text  # a way back


def test_an_empty_store_says_so_without_admin_commands(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(Services.from_settings(Settings(home=tmp_path / "home"), engine=engine))
    with TestClient(app, raise_server_exceptions=False) as browser:
        page = browser.get("/papers")
        assert page.status_code == 200
        assert "No papers here yet" in page.text
        assert "paperfeed" not in text_of(page.text, "//p[@class='empty']")
        assert browser.get("/papers/trending").status_code == 200
        assert browser.get("/api/daily_papers").json() == []


# papers, organisations, authors ----------------------------------------------------------


def test_a_paper_page_shows_the_paper(visitor: TestClient) -> None:
    page = visitor.get("/papers/2503.00001")
    assert page.status_code == 200
    assert text_of(page.text, "//h1") == "Graph neural networks at scale"
    assert text_of(page.text, "//p[@class='authors']") == "Ada Lovelace, Alan Turing"
    assert "Message passing between graph nodes" in text_of(page.text, "//p[@class='abstract']")
    links = html.fromstring(page.text).xpath("//p[@class='links']/a/@href")
    assert links == [
        "https://arxiv.org/abs/2503.00001",
        "https://arxiv.org/pdf/2503.00001",
        GITHUB,
    ]
    assert f'href="/org/{DEEP.handle}"' in page.text
    assert DEEP.name in page.text
    assert upvotes_shown(page.text, "2503.00001") == 3


def test_a_paper_page_lists_similar_papers_but_not_itself(visitor: TestClient) -> None:
    page = visitor.get("/papers/2503.00001").text
    similar = [
        str(i)
        for i in html.fromstring(page).xpath(
            "//section[@class='similar']//span[@class='id']/text()"
        )
    ]
    assert similar
    assert "2503.00001" not in similar
    assert similar[0] in {"2503.00002", "2503.00404"}  # the other graph papers


def test_a_versioned_id_redirects_to_the_paper(visitor: TestClient) -> None:
    response = visitor.get("/papers/2503.00001v2", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (301, "/papers/2503.00001")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/papers/2503.99999", "2503.99999 is not in this feed"),
        ("/papers/not-a-paper", "is not an arXiv id"),
        ("/org/nobody", "There is no organisation 'nobody' here"),
        ("/author/Nobody%20Known", "There are no papers by 'Nobody Known' here"),
        ("/papers/trending?period=year", "period is now, week or month"),
        ("/nowhere", "Not Found"),
    ],
)
def test_missing_things_are_not_found_pages(visitor: TestClient, path: str, message: str) -> None:
    page = visitor.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert message in text_of(page.text, "//p[@class='error']")


def test_an_organisation_page_lists_its_papers_newest_first(visitor: TestClient) -> None:
    page = visitor.get(f"/org/{DEEP.handle}")
    assert page.status_code == 200
    assert text_of(page.text, "//h1") == DEEP.name
    assert card_ids(page.text) == ["2503.00403", "2503.00201", "2503.00001"]
    assert set(card_ids(page.text)) == ORGANISED
    assert text_of(page.text, "//p[@class='count']") == "3 papers"


def test_one_paper_is_counted_as_one_paper(visitor: TestClient) -> None:
    page = visitor.get(author_url(HOSTILE_AUTHOR))
    assert text_of(page.text, "//p[@class='count']") == "1 paper"


def test_an_author_page_lists_the_authors_papers(visitor: TestClient) -> None:
    page = visitor.get("/author/Alan%20Turing")
    assert page.status_code == 200
    assert text_of(page.text, "//h1") == "Alan Turing"
    assert len(card_ids(page.text)) == len(PAPERS) - 1  # all but the hostile paper
    # the author links on the cards lead there
    feed = html.fromstring(visitor.get("/papers").text)
    assert "/author/Alan%20Turing" in feed.xpath("//article[@class='card']//a/@href")


# search -----------------------------------------------------------------------------------


def test_search_finds_the_matching_paper_first_with_highlights(visitor: TestClient) -> None:
    page = visitor.get("/search", params={"q": "protein structure"})
    assert page.status_code == 200
    assert card_ids(page.text)[0] == "2503.00003"
    snippet = html.fromstring(page.text).xpath("//p[@class='snippet']")[0]
    assert [b.text.lower() for b in snippet.iter("b")] == ["protein", "structure"]
    feed_link = "/feeds/search.atom?q=protein+structure"
    assert f'href="{feed_link}"' in page.text


def test_search_filters_and_modes(visitor: TestClient) -> None:
    quantum = visitor.get("/search", params={"q": "cat:quant-ph"}).text
    assert card_ids(quantum) == ["2503.00102"]
    lexical = visitor.get("/search", params={"q": "graph", "mode": "lexical", "sort": "date"})
    newest, *older = card_ids(lexical.text)  # the two older ones came the same day
    assert (newest, sorted(older)) == ("2503.00404", ["2503.00001", "2503.00002"])
    dated = visitor.get(
        "/search", params={"q": "graph", "mode": "lexical", "from": "2025-03-04"}
    ).text
    assert card_ids(dated) == ["2503.00404"]
    by_org = visitor.get("/search", params={"q": "graph", "mode": "lexical", "org": "deepthought"})
    assert card_ids(by_org.text) == ["2503.00001"]


def test_an_empty_search_shows_the_form_only(visitor: TestClient) -> None:
    page = visitor.get("/search")
    assert page.status_code == 200
    assert card_ids(page.text) == []
    assert "No papers match" not in page.text
    nothing = visitor.get("/search", params={"q": "zzyzx", "mode": "lexical"})
    assert "No papers match" in nothing.text


@pytest.mark.parametrize(
    "query",
    [
        "x" * 2_000,  # the longest the form takes; the search reads the first 1,000
        '"unbalanced quotes',
        "author:",
        "🤖🔥 ünïcödé",
        "'; DROP TABLE papers; --",
        "\x00\x1f control",
        "((( AND OR NOT )))",
        "cat:cs year:2020..1999 after:2025-13-45",
        "$\\alpha$ \\frac{",
        "<script>alert(1)</script>",
    ],
    ids=lambda q: repr(q[:20]),
)
def test_hostile_queries_get_a_page_never_an_error(visitor: TestClient, query: str) -> None:
    for params in ({"mode": "hybrid"}, {"mode": "lexical"}, {"mode": "dense"}, {"sort": "date"}):
        page = visitor.get("/search", params={"q": query, **params})
        assert page.status_code == 200, params
        assert "<script>alert(1)</script>" not in page.text


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"q": "graph", "from": "last week"}, "from: "),
        ({"q": "graph", "page": "0"}, "page: "),
        ({"q": "graph", "mode": "psychic"}, "mode: "),
    ],
)
def test_a_bad_search_parameter_is_explained(
    visitor: TestClient, params: dict[str, str], problem: str
) -> None:
    page = visitor.get("/search", params=params)
    assert page.status_code == 422
    assert problem in text_of(page.text, "//p[@class='error']")


def test_search_pages_through_results(visitor: TestClient) -> None:
    first = visitor.get("/search", params={"q": "the", "mode": "dense"}).text
    assert len(card_ids(first)) == 17  # every paper: fewer than a page
    assert 'rel="next"' not in first


# trending ---------------------------------------------------------------------------------


def test_trending_has_now_week_and_month_tabs(visitor: TestClient) -> None:
    now = visitor.get("/papers/trending").text
    assert card_ids(now)[:2] == ["2503.00403", "2503.00201"]  # fresh votes count most
    current = html.fromstring(now).xpath("//nav[@class='tabs']/a[@aria-current='page']/text()")
    assert current == ["Now"]
    week = visitor.get("/papers/trending", params={"period": "week"}).text
    assert card_ids(week) == ["2503.00201", "2503.00102", "2503.00403", "2503.00301"]
    month = visitor.get("/papers/trending", params={"period": "month"}).text
    assert card_ids(month) == [*card_ids(week)[:3], "2503.00001", "2503.00301", "2503.00003"]


def test_an_upvoted_paper_rises_in_trending(web: WebApp) -> None:
    before = card_ids(web.browser().get("/papers/trending").text)
    assert before.index("2503.00402") > before.index("2503.00201")
    for number in range(2):
        user = web.browser()
        token = sign_up(user, f"reader{number}@example.org")
        voted = user.post("/papers/2503.00402/upvote", data={"csrf_token": token, "on": "true"})
        assert voted.status_code == 200
    after = card_ids(web.browser().get("/papers/trending").text)
    assert after[:2] == ["2503.00403", "2503.00402"]  # above older papers with more votes
    week = card_ids(web.browser().get("/papers/trending?period=week").text)
    assert "2503.00402" in week


def test_a_visitors_day_page_shows_each_change_at_once(web: WebApp) -> None:
    """Pages of a day are kept (read and rendered once) until the store changes: a vote, a
    hidden paper, keywords written all show on the next visit."""
    visitor = web.browser()
    day = f"/papers/date/{NEXT_MONDAY}"
    first = visitor.get(day).text
    assert visitor.get(day).text == first  # kept: the same page
    newest = card_ids(first)
    reader = web.browser()
    token = sign_up(reader)
    reader.post(f"/papers/{newest[-1]}/upvote", data={"csrf_token": token, "on": "true"})
    assert upvotes_shown(visitor.get(day).text, newest[-1]) == 1
    due = [paper for batch in pending_keywords(web.engine, "any", 100) for paper in batch]
    save_keywords(web.engine, due, [["kept pages"] for _ in due])
    chips = text_of(
        visitor.get(day).text, "//article[@class='card']//*[contains(@class, 'keyword')]"
    )
    assert "kept pages" in chips
    set_hidden(web.engine, newest[0], True)
    assert newest[0] not in card_ids(visitor.get(day).text)


def test_a_visitors_paper_page_is_kept_but_shows_each_change_at_once(web: WebApp) -> None:
    """A visitor's paper page is rendered once and kept, with nothing of the visitor in it (no
    CSRF token, no session cookie), until the paper or its discussion changes."""
    visitor, path = web.browser(), "/papers/2503.00001"
    first = visitor.get(path)
    assert "csrf_token" not in first.text and "set-cookie" not in first.headers
    # a title changed behind the store's back (no changed_at) shows only on a page made anew
    with web.engine.begin() as conn:
        conn.execute(update(papers).where(papers.c.arxiv_id == "2503.00001").values(title="Behind"))
    assert visitor.get(path).text == first.text  # kept: not made again
    reader = web.browser()
    token = sign_up(reader)
    mine = reader.get(path).text
    assert "Behind" in mine and 'name="csrf_token"' in mine  # a signed-in reader's own page
    reader.post(f"{path}/upvote", data={"csrf_token": token, "on": "true"})
    assert upvotes_shown(visitor.get(path).text, "2503.00001") == 4
    reader.post(f"{path}/comments", data={"csrf_token": token, "body": "Nice graphs"})
    assert "Nice graphs" in visitor.get(path).text
    comment = html.fromstring(reader.get(path).text).xpath("//li/@id")[0].removeprefix("comment-")
    reader.post(f"/comments/{comment}/edit", data={"csrf_token": token, "body": "Edited"})
    assert "Edited" in visitor.get(path).text
    set_hidden(web.engine, "2503.00001", True)
    assert visitor.get(path).status_code == 404


# submitting papers ------------------------------------------------------------------------


def test_submit_asks_to_sign_in_first(visitor: TestClient) -> None:
    page = visitor.get("/submit").text
    assert 'href="/login?next=/submit"' in page
    refused = visitor.post("/submit", data={"paper": AEW10})
    assert refused.status_code == 401
    assert "Sign in first." in text_of(refused.text, "//p[@class='error']")


def submitted_ids(browser: TestClient) -> list[str]:
    """The arXiv ids the profile lists under "Submitted"."""
    profile = html.fromstring(browser.get("/profile").text)
    section = profile.xpath("//section[h2[starts-with(., 'Submitted')]]")[0]
    return [str(i) for i in section.xpath(".//span[@class='id']/text()")]


def test_submitting_an_arxiv_id_adds_the_paper(web: WebApp, browser: TestClient) -> None:
    token = sign_up(browser)
    response = browser.post(
        "/submit",
        data={"paper": f"https://arxiv.org/abs/{AEW10}v1", "csrf_token": token},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, f"/papers/{AEW10}")
    page = browser.get(f"/papers/{AEW10}").text
    assert "Proceedings of Workshop AEW10" in text_of(page, "//h1")
    assert submitted_ids(browser) == [AEW10]
    # indexed right after: found by its words
    found = browser.get("/search", params={"q": "AEW10 workshop", "mode": "lexical"}).text
    assert card_ids(found) == [AEW10]


def test_an_older_stored_paper_nobody_submitted_becomes_the_users_submission(
    web: WebApp, browser: TestClient
) -> None:
    token = sign_up(browser)
    response = browser.post("/submit", data={"paper": "arXiv:2503.00202", "csrf_token": token})
    assert response.url.path == "/papers/2503.00202"  # no route for it: arXiv was not asked
    assert submitted_ids(browser) == ["2503.00202"]  # brought to today's feed by this user


def test_a_paper_submitted_before_is_already_here_and_stays_the_first_submitters(
    web: WebApp, browser: TestClient
) -> None:
    ada = sign_up(browser)
    browser.post("/submit", data={"paper": AEW10, "csrf_token": ada})
    bob_browser = web.browser()
    bob = sign_up(bob_browser, "bob@example.org")
    page = bob_browser.post("/submit", data={"paper": f"arXiv:{AEW10}v1", "csrf_token": bob})
    assert page.status_code == 200
    said = text_of(page.text, "//p[@id='already']")
    assert said.startswith("Proceedings of Workshop AEW10")
    assert f"({AEW10}) is already here: another user submitted it on " in said
    link = html.fromstring(page.text).xpath("//p[@id='already']/a/@href")
    assert link == [f"/papers/{AEW10}"]
    assert submitted_ids(bob_browser) == []
    again = browser.post("/submit", data={"paper": AEW10, "csrf_token": ada})
    assert "is already here: you submitted it on " in text_of(again.text, "//p[@id='already']")
    assert submitted_ids(browser) == [AEW10]


def test_a_paper_on_the_feeds_newest_day_is_already_here(web: WebApp, browser: TestClient) -> None:
    token = sign_up(browser)
    page = browser.post("/submit", data={"paper": "2503.00402", "csrf_token": token})
    assert page.status_code == 200
    assert text_of(page.text, "//p[@id='already']") == (
        "Retrieval augmented generation benchmarks (2503.00402) is already here: it was "
        "announced on Mon 10 Mar 2025, the newest day of the feed."
    )
    assert submitted_ids(browser) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("my favourite paper", "is not an arXiv id or URL"),
        ("0000.0000", "arXiv has no paper 0000.0000"),
    ],
)
def test_a_bad_submission_is_explained_in_the_form(
    web: WebApp, browser: TestClient, text: str, message: str
) -> None:
    token = sign_up(browser)
    page = browser.post("/submit", data={"paper": text, "csrf_token": token})
    assert page.status_code == 400
    assert message in text_of(page.text, "//p[@class='error']")
    assert html.fromstring(page.text).xpath("//input[@name='paper']/@value") == [text]


def test_submitting_while_arxiv_is_unreachable_says_so(tmp_path: Path) -> None:
    web = build(tmp_path, routes=[({}, unreachable())])
    browser = web.browser()
    token = sign_up(browser)
    page = browser.post("/submit", data={"paper": AEW10, "csrf_token": token})
    assert page.status_code == 400
    said = text_of(page.text, "//p[@class='error']")
    assert "arXiv cannot be reached right now" in said
    for admin_talk in ("Errno", "paperfeed ingest", "export.arxiv.org"):
        assert admin_talk not in said
    assert "Traceback" not in page.text
    assert get_paper(web.engine, AEW10) is None
    assert "None yet." in browser.get("/profile").text


# the profile ------------------------------------------------------------------------------


def test_the_profile_lists_upvoted_and_saved_papers(browser: TestClient) -> None:
    token = sign_up(browser)
    browser.post("/papers/2503.00003/upvote", data={"csrf_token": token, "on": "true"})
    saved = browser.post("/papers/2503.00101/save", data={"csrf_token": token, "on": "true"})
    assert saved.status_code == 200
    assert "Saved ✓" in browser.get("/papers/2503.00101").text
    profile = html.fromstring(browser.get("/profile").text)

    def listed(title: str) -> list[str]:
        section = profile.xpath(f"//section[h2[starts-with(., '{title}')]]")[0]
        return [str(i) for i in section.xpath(".//span[@class='id']/text()")]

    assert (listed("Upvoted"), listed("Saved"), listed("Submitted")) == (
        ["2503.00003"],
        ["2503.00101"],
        [],
    )
    browser.post("/papers/2503.00101/save", data={"csrf_token": token, "on": "false"})
    assert "Saved ✓" not in browser.get("/papers/2503.00101").text


def test_the_profile_sends_signed_out_visitors_to_sign_in(visitor: TestClient) -> None:
    response = visitor.get("/profile", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/profile")


def test_a_page_past_the_end_says_so_and_leads_back(visitor: TestClient) -> None:
    day = visitor.get("/papers", params={"page": "99"})
    assert day.status_code == 200
    said = text_of(day.text, "//p[@class='empty']")
    assert said.endswith("papers: page 99 is past the last one. Back to the first page")
    deep = visitor.get("/search", params={"q": "graph", "page": "999"})
    assert deep.status_code == 200
    assert "Results stop at page 50" in text_of(deep.text, "//p[@class='note']")
    past = visitor.get("/search", params={"q": "graph", "page": "3"})
    assert "No more results on page 3." in text_of(past.text, "//p[@class='empty']")
