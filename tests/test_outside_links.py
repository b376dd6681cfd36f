"""Links from outside (imports, submissions) are http(s) only: a ``javascript:`` address is
never stored, and one already in the store never becomes an ``href`` on a page, in the API,
in a feed or in a digest mail."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree, html
from sqlalchemy import Engine, update

from paperfeed.ingest.pipeline import ingest
from paperfeed.sources.hf_daily import HfDailySource
from paperfeed.store.queries import cards_by_id
from paperfeed.store.schema import Paper
from paperfeed.store.subscriptions import subscribe
from paperfeed.urls import safe_url, safe_urls
from protocol import body
from smtp_server import SmtpServer
from web_app import WebApp, build

HOSTILE_LINK = "javascript:alert(1)//github.com"
GOOD_LINK = "https://github.com/deepthought/audio"
PAPER = "2503.00403"  # on the trending list of the store's newest day
DAILY = "hf_daily_papers/daily_papers_2026-09-04_3entries.json"


@pytest.mark.parametrize(
    "url",
    [
        HOSTILE_LINK,
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/relative/path",
        "https://github.com@evil.example/",
        "https://exa mple.org/",
        "https:///no-host",
        "https://under_score.example/",
        "https://example.org:99999/",
        "https://" + "a" * 2_000 + ".org/",
        "",
    ],
)
def test_only_http_links_to_a_host_pass(url: str) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/deepthought/gnn-scale",
        "http://example.org/project?x=1#top",
        "HTTPS://Example.org/",
        "https://例え.jp/paper",
        "http://127.0.0.1:8080/",
        "http://[::1]/",
    ],
)
def test_http_links_pass_as_they_are(url: str) -> None:
    assert safe_url(url) == url
    assert safe_urls([url, HOSTILE_LINK, url]) == [url]


def test_an_hf_daily_import_stores_no_javascript_links(engine: Engine, tmp_path: Path) -> None:
    entries = json.loads(body(DAILY))
    entries[0]["paper"]["githubRepo"] = HOSTILE_LINK
    entries[0]["paper"]["projectPage"] = "javascript:fetch('//evil.example')"
    entries[1]["paper"]["githubRepo"] = GOOD_LINK
    path = tmp_path / "daily.json"
    path.write_text(json.dumps(entries))

    report = ingest(engine, HfDailySource.from_file(path))

    assert not report.rejections  # the paper is kept, its bad links are not
    found = cards_by_id(engine, [e["paper"]["id"] for e in entries])
    stored = [link for card in found.values() for link in card["links"]]
    assert GOOD_LINK in stored
    assert all(link.startswith("https://") for link in stored), stored


@pytest.fixture
def web(tmp_path: Path, smtp_server: SmtpServer) -> WebApp:
    """An app whose store already holds a hostile link (stored before the allow-list)."""
    web = build(tmp_path, smtp_url=smtp_server.url, public_url="https://papers.example.org")
    with web.engine.begin() as conn:
        conn.execute(
            update(Paper).where(Paper.arxiv_id == PAPER).values(links=[HOSTILE_LINK, GOOD_LINK])
        )
    return web


def hrefs(page: str) -> list[str]:
    return [str(h) for h in html.fromstring(page).xpath("//a/@href")]


@pytest.mark.parametrize(
    "path", [f"/papers/{PAPER}", "/papers", "/papers/trending", "/search?q=diffusion+audio"]
)
def test_a_stored_javascript_link_is_no_href_on_pages(web: WebApp, path: str) -> None:
    page = web.browser().get(path)
    assert page.status_code == 200
    assert GOOD_LINK in hrefs(page.text)  # the paper's card or page is there, with its code link
    assert not [h for h in hrefs(page.text) if "javascript" in h.lower()]
    assert "javascript:" not in page.text


def test_a_stored_javascript_link_is_not_in_the_api(web: WebApp) -> None:
    paper = web.browser().get(f"/api/papers/{PAPER}").json()
    assert (paper["githubRepo"], paper["links"]) == (GOOD_LINK, [GOOD_LINK])


def test_a_stored_javascript_link_is_not_in_digest_mail(
    web: WebApp, smtp_server: SmtpServer
) -> None:
    subscribe(web.engine, "reader@example.org", confirmed=True)
    web.services.run_digests(datetime(2025, 3, 10, 8, 0, tzinfo=UTC))
    [received] = smtp_server.received
    mail_html = received.message.get_body(("html",)).get_content()
    text = received.message.get_body(("plain",)).get_content()
    assert GOOD_LINK in hrefs(mail_html) and GOOD_LINK in text
    assert "javascript:" not in mail_html and "javascript:" not in text


def test_rss_descriptions_are_text_that_readers_do_not_decode_into_markup(
    web: WebApp,
) -> None:
    """RSS readers decode ``<description>`` as HTML: the hostile abstract's ``<img onerror>``
    must reach them escaped once more, so that it shows as text."""
    feed = etree.fromstring(web.browser().get("/feeds/daily.rss").content)
    [hostile] = [
        item.findtext("description")
        for item in feed.iter("item")
        if item.findtext("link", "").endswith("2503.06666")
    ]
    assert "<img" not in hostile and "&lt;img src=x" in hostile
    shown = html.fromstring(f"<div>{hostile}</div>")  # what a reader makes of it
    assert not shown.xpath("//img|//script") and "<img src=x" in shown.text_content()
    atom = etree.fromstring(web.browser().get("/feeds/daily.atom").content)
    contents = atom.iterfind(".//{http://www.w3.org/2005/Atom}content")
    assert all(c.get("type", "text") == "text" for c in contents)
    assert re.search(r"&lt;img src=x", web.browser().get("/feeds/daily.atom").text)
