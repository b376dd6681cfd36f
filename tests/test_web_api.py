"""The JSON API (Hugging Face-like shapes), API tokens, OpenAPI, and the Atom/RSS feeds."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree, html
from sqlalchemy import Engine

from paperfeed.store.accounts import create_token, create_user
from paperfeed.store.queries import get_paper
from paperfeed.store.vectors import count_to_embed
from paperfeed.worker import Worker
from protocol import recorded, unreachable
from web_app import (
    DEEP,
    GITHUB,
    HOSTILE,
    HOSTILE_AUTHOR,
    HOSTILE_TITLE_SHOWN,
    NEXT_MONDAY,
    PAPERS,
    SCRIPT,
    WebApp,
    build,
    sign_up,
)

AEW10 = "1707.08567"
ROUTES = [({"id_list": AEW10}, recorded("arxiv_api_atom/id_1707.08567_s0_m100_6a1afebfc6a3.xml"))]
ATOM = "{http://www.w3.org/2005/Atom}"


pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def api(site: WebApp) -> TestClient:
    return site.browser()


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    """A fresh app for a test that changes things."""
    return build(tmp_path, routes=ROUTES)


@pytest.fixture
def client(web: WebApp) -> TestClient:
    return web.browser()


def bearer(web: WebApp, email: str = "ada@example.org") -> dict[str, str]:
    """The ``Authorization`` header of a new user's API token."""
    user = create_user(web.engine, email, "correct horse")
    return {"Authorization": f"Bearer {create_token(web.engine, user['id'])}"}


def ids(entries: list[dict]) -> list[str]:
    return [entry["paper"]["id"] for entry in entries]


def on_day(day: str) -> list[str]:
    return sorted(key for key, (*_, announced, _) in PAPERS.items() if str(announced) == day)


# reading ----------------------------------------------------------------------------------


def test_daily_papers_are_the_newest_day_by_default(api: TestClient) -> None:
    entries = api.get("/api/daily_papers").json()
    assert sorted(ids(entries)) == on_day(str(NEXT_MONDAY))
    assert ids(entries)[0] == "2503.00403"  # most upvoted first
    first = entries[0]
    assert set(first) >= {"paper", "title", "summary", "publishedAt", "organization"}
    assert first["title"] == first["paper"]["title"] == "Diffusion models for audio"
    assert first["organization"] == {"name": DEEP.handle, "fullname": DEEP.name, "avatarUrl": ""}
    assert first["publishedAt"] == f"{NEXT_MONDAY}T00:00:00Z"  # when it came to the feed


def test_daily_papers_of_a_date(api: TestClient) -> None:
    assert sorted(ids(api.get("/api/daily_papers?date=2025-03-05").json())) == on_day("2025-03-05")
    assert api.get("/api/daily_papers?date=2025-03-08").json() == []  # a Saturday
    assert len(api.get("/api/daily_papers?date=2025-03-05&limit=2").json()) == 2


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("date=2025-02-30", 400),
        ("date=monday", 400),
        ("date=0", 400),
        ("date=99999-01-01", 400),
        ("limit=0", 422),
        ("limit=101", 422),
    ],
)
def test_bad_parameters_are_a_json_error(api: TestClient, query: str, status: int) -> None:
    response = api.get(f"/api/daily_papers?{query}")
    assert response.status_code == status
    assert list(response.json()) == ["error"]
    assert query.split("=")[0] in response.json()["error"]


def test_a_paper_has_hugging_faces_shape(api: TestClient) -> None:
    response = api.get("/api/papers/2503.00001")
    assert response.status_code == 200
    paper = response.json()
    assert {key: paper[key] for key in ("id", "title", "summary", "authors", "upvotes")} == {
        "id": "2503.00001",
        "title": "Graph neural networks at scale",
        "summary": "Message passing between graph nodes on billions of edges.",
        "authors": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}],
        "upvotes": 3,
    }
    assert paper["publishedAt"] == "2025-03-03T00:00:00Z"  # no submission time: the day
    assert paper["submittedOnDailyAt"] == "2025-03-03T00:00:00Z"  # announced: in the feed
    assert paper["announcedOn"] == "2025-03-03"
    assert paper["githubRepo"] == GITHUB
    assert paper["organization"]["name"] == DEEP.handle
    assert (paper["numComments"], paper["ai_keywords"], paper["arxivComment"]) == (0, [], None)
    assert paper["categories"] == ["cs.LG"]


def test_a_paper_by_versioned_id_or_url(api: TestClient) -> None:
    for spelling in ("2503.00001v3", "arXiv:2503.00001"):
        assert api.get(f"/api/papers/{spelling}").json()["id"] == "2503.00001"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/papers/2503.99999", "2503.99999 is not in this feed"),
        ("/api/papers/nonsense", "'nonsense' is not an arXiv id"),
        ("/api/papers/2503.99999/similar", "2503.99999 is not in this feed"),
        ("/api/nowhere", "Not Found"),
    ],
)
def test_unknown_papers_are_json_404s(api: TestClient, path: str, message: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": message}


def test_search_returns_entries_with_highlights(api: TestClient) -> None:
    results = api.get("/api/papers/search", params={"q": "protein structure"}).json()
    assert ids(results)[0] == "2503.00003"
    assert "<b>protein</b>" in results[0]["highlight"].lower()
    assert isinstance(results[0]["score"], float)
    quantum = api.get("/api/papers/search", params={"q": "qubits", "cat": "quant-ph"}).json()
    assert ids(quantum) == ["2503.00102"]
    assert len(api.get("/api/papers/search", params={"q": "the", "limit": 3}).json()) == 3
    assert api.get("/api/papers/search").json() == []  # nothing asked, nothing found


@pytest.mark.parametrize(
    ("word", "arxiv_id"),
    [("qubits", "2503.00102"), ("lensing", "2503.00101"), ("emulators", "2503.00203")],
)
def test_the_only_paper_with_a_word_comes_first_in_hybrid_search(
    api: TestClient, word: str, arxiv_id: str
) -> None:
    assert ids(api.get("/api/papers/search", params={"q": word, "mode": "lexical"}).json()) == [
        arxiv_id
    ]
    assert ids(api.get("/api/papers/search", params={"q": word}).json())[0] == arxiv_id


@pytest.mark.parametrize(
    "query",
    ["x" * 250, '"open quote', "🤖", "'; DROP TABLE papers; --", "\x00", "author:"],
    ids=lambda q: repr(q[:12]),
)
def test_hostile_api_searches_are_answered(api: TestClient, query: str) -> None:
    response = api.get("/api/papers/search", params={"q": query})
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_bad_search_parameters_are_json_errors(api: TestClient) -> None:
    too_long = {"q": "x" * 251}  # Hugging Face's bound
    for params in (
        too_long,
        {"q": "x", "mode": "magic"},
        {"q": "x", "limit": 121},
        {"q": "x", "to": "?"},
    ):
        response = api.get("/api/papers/search", params=params)
        assert (response.status_code, list(response.json())) == (422, ["error"])


def test_trending_and_the_weeks_top(api: TestClient) -> None:
    now = ids(api.get("/api/papers/trending").json())
    assert now[:2] == ["2503.00403", "2503.00201"]
    week = api.get("/api/papers/trending?period=week").json()
    assert ids(week) == ["2503.00201", "2503.00102", "2503.00403", "2503.00301"]
    assert [entry["paper"]["upvotes"] for entry in week] == [12, 7, 5, 2]
    assert len(api.get("/api/papers/trending?limit=3").json()) == 3
    assert api.get("/api/papers/trending?period=year").status_code == 422


def test_similar_papers_never_include_the_paper(api: TestClient) -> None:
    for arxiv_id in ("2503.00001", "2503.00402", HOSTILE):
        similar = ids(api.get(f"/api/papers/{arxiv_id}/similar").json())
        assert similar
        assert arxiv_id not in similar
    nearest = ids(api.get("/api/papers/2503.00001/similar?limit=2").json())
    assert len(nearest) == 2
    assert nearest[0] in {"2503.00002", "2503.00404"}


def test_the_api_gives_html_in_titles_as_plain_data(api: TestClient) -> None:
    paper = api.get(f"/api/papers/{HOSTILE}").json()
    assert paper["title"].startswith(SCRIPT)
    assert paper["authors"][0] == {"name": HOSTILE_AUTHOR}


# writing with API tokens ------------------------------------------------------------------


def test_an_api_token_upvotes_without_csrf(web: WebApp, client: TestClient) -> None:
    headers = bearer(web)
    voted = client.post("/api/papers/2503.00001v1/upvote", headers=headers)
    assert voted.json() == {"id": "2503.00001", "upvotes": 4, "upvoted": True}
    again = client.post("/api/papers/2503.00001/upvote", headers=headers)
    assert again.json()["upvotes"] == 4  # once per user
    other = client.post("/api/papers/2503.00001/upvote", headers=bearer(web, "bob@example.org"))
    assert other.json()["upvotes"] == 5
    assert client.get("/api/papers/2503.00001").json()["upvotes"] == 5
    undone = client.delete("/api/papers/2503.00001/upvote", headers=headers)
    assert undone.json() == {"id": "2503.00001", "upvotes": 4, "upvoted": False}


def test_an_api_token_saves_papers(web: WebApp, client: TestClient) -> None:
    headers = bearer(web)
    assert client.post("/api/papers/2503.00003/save", headers=headers).json() == {
        "id": "2503.00003",
        "saved": True,
    }
    assert client.delete("/api/papers/2503.00003/save", headers=headers).json()["saved"] is False
    assert client.post("/api/papers/2503.99999/save", headers=headers).status_code == 404


@pytest.mark.parametrize("header", ["Bearer pf_forged", "Bearer ", "Basic YWRhOnB3", "pf_x"])
def test_a_bad_api_token_is_a_json_401(api: TestClient, header: str) -> None:
    response = api.post("/api/papers/2503.00001/upvote", headers={"Authorization": header})
    assert response.status_code == 401
    forged = header == "Bearer pf_forged"
    assert response.json() == {"error": "Unknown API token." if forged else "Sign in first."}
    assert api.get("/api/papers/2503.00001").json()["upvotes"] == 3


def test_a_token_made_on_the_profile_page_works(web: WebApp, client: TestClient) -> None:
    page = client.post("/profile/tokens", data={"csrf_token": sign_up(client)}).text
    [secret] = html.fromstring(page).xpath("//code[@class='token']/text()")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (
        web.browser()
        .post(  # no cookie: the token alone
            "/api/papers/2503.00102/upvote", headers=headers
        )
        .json()["upvotes"]
        == 8
    )


def test_submitting_through_the_api(web: WebApp, client: TestClient) -> None:
    headers = bearer(web)
    response = client.post("/api/papers/submit", json={"id": f"arXiv:{AEW10}"}, headers=headers)
    assert response.status_code == 201
    paper = response.json()
    assert paper["id"] == AEW10
    assert paper["title"].startswith("Proceedings of Workshop AEW10")
    assert paper["submittedAt"].endswith("Z")
    assert client.get(f"/api/papers/{AEW10}").status_code == 200
    # found by its words at once; embedding is left to the worker, which takes it first
    found = client.get("/api/papers/search", params={"q": "AEW10", "mode": "lexical"}).json()
    assert [hit["paper"]["id"] for hit in found] == [AEW10]
    embedder = web.services.embedder
    assert count_to_embed(web.engine, embedder.model) == 1
    assert Worker(web.services, threading.Event()).round().embedded == 1
    assert any(text.startswith("Proceedings of Workshop AEW10") for text in embedder.texts)
    refused = client.post("/api/papers/submit", json={"id": "a paper"}, headers=headers)
    assert refused.status_code == 400
    assert "is not an arXiv id or URL" in refused.json()["error"]
    assert client.post("/api/papers/submit", json={"id": AEW10}).status_code == 401


def test_submitting_through_the_api_while_arxiv_is_unreachable(tmp_path: Path) -> None:
    web = build(tmp_path, routes=[({}, unreachable())])
    response = web.browser().post("/api/papers/submit", json={"id": AEW10}, headers=bearer(web))
    assert response.status_code == 400
    assert "arXiv cannot be reached right now" in response.json()["error"]
    assert get_paper(web.engine, AEW10) is None


def test_votes_and_trending_on_each_database(engine: Engine, tmp_path: Path) -> None:
    web = build(tmp_path, engine=engine)
    client = web.browser()
    ada, bob = bearer(web), bearer(web, "bob@example.org")
    assert ids(client.get("/api/papers/trending").json()).index("2503.00402") > 1
    for headers in (ada, ada, bob):
        client.post("/api/papers/2503.00402/upvote", headers=headers)
    assert client.get("/api/papers/2503.00402").json()["upvotes"] == 2
    assert ids(client.get("/api/papers/trending").json())[:2] == ["2503.00403", "2503.00402"]
    week = client.get("/api/papers/trending?period=week").json()
    assert ("2503.00402", 2) in [(e["paper"]["id"], e["paper"]["upvotes"]) for e in week]
    client.delete("/api/papers/2503.00402/upvote", headers=ada)
    assert client.get("/api/papers/2503.00402").json()["upvotes"] == 1
    submitted = client.post("/api/papers/submit", json={"id": "2503.00202"}, headers=bob)
    assert submitted.status_code == 201  # an older paper nobody had submitted: bob's now
    assert submitted.json()["submittedAt"].endswith("Z")
    again = client.post("/api/papers/submit", json={"id": "2503.00202"}, headers=ada)
    assert (again.status_code, again.json()) == (200, submitted.json())  # still bob's
    newest = client.post("/api/papers/submit", json={"id": "2503.00402"}, headers=ada)
    assert (newest.status_code, newest.json()["submittedAt"]) == (200, None)  # in the feed


# OpenAPI ----------------------------------------------------------------------------------


def test_openapi_describes_the_api_only(api: TestClient) -> None:
    schema = api.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/daily_papers",
        "/api/papers/{arxiv_id}",
        "/api/papers/search",
        "/api/papers/trending",
        "/api/papers/{arxiv_id}/similar",
        "/api/papers/{arxiv_id}/upvote",
        "/api/papers/submit",
    } <= paths
    assert all(path.startswith("/api/") for path in paths)
    assert set(schema["paths"]["/api/papers/{arxiv_id}/upvote"]) == {"post", "delete"}
    docs = api.get("/api/docs")
    assert docs.status_code == 200


def test_the_api_docs_need_no_internet(api: TestClient) -> None:
    docs = html.fromstring(api.get("/api/docs").text)
    assets = docs.xpath("//script/@src | //link/@href")
    assert assets and all(asset.startswith("/api/docs/static/") for asset in assets)
    for asset in assets:  # Swagger UI itself, served from here
        assert api.get(asset).status_code == 200


# feeds ------------------------------------------------------------------------------------


def atom_links(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [entry.find(f"{ATOM}link").get("href") for entry in root.iter(f"{ATOM}entry")]


def test_the_daily_atom_feed_lists_the_newest_day(api: TestClient) -> None:
    response = api.get("/feeds/daily.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)
    assert root.findtext(f"{ATOM}title") == "paperfeed: papers of 2025-03-10"
    links = atom_links(response.content)
    assert sorted(link.rsplit("/", 1)[1] for link in links) == on_day(str(NEXT_MONDAY))
    assert links[0] == "http://testserver/papers/2503.00403"  # in the feed's order
    [hostile] = [e for e in root.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}id").endswith(HOSTILE)]
    assert hostile.findtext(f"{ATOM}title") == HOSTILE_TITLE_SHOWN


@pytest.mark.parametrize("path", ["/feeds/daily.atom", "/feeds/trending.rss"])
def test_feeds_are_dated_by_their_papers_and_answer_304_when_unchanged(
    api: TestClient, path: str
) -> None:
    first = api.get(path)
    assert first.headers["last-modified"] == "Mon, 10 Mar 2025 00:00:00 GMT"  # the newest day
    if path.endswith(".atom"):
        updated = etree.fromstring(first.content).findtext(f"{ATOM}updated")
        assert updated == "2025-03-10T00:00:00+00:00"
    again = api.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert api.get(path).content == first.content  # nothing in it is the time of the request


def test_the_trending_rss_feed(api: TestClient) -> None:
    response = api.get("/feeds/trending.rss")
    assert response.headers["content-type"].startswith("application/rss+xml")
    root = etree.fromstring(response.content)
    links = [item.findtext("link") for item in root.iter("item")]
    assert links[:2] == [
        "http://testserver/papers/2503.00403",
        "http://testserver/papers/2503.00201",
    ]


def test_a_search_feed_follows_a_search(api: TestClient) -> None:
    response = api.get("/feeds/search.atom", params={"q": "protein structure"})
    root = etree.fromstring(response.content)
    assert root.findtext(f"{ATOM}title") == "paperfeed: protein structure"
    assert atom_links(response.content)[0] == "http://testserver/papers/2503.00003"
    params = {"q": "qubits", "mode": "lexical"}
    rss = etree.fromstring(api.get("/feeds/search.rss", params=params).content)
    assert [item.findtext("link") for item in rss.iter("item")] == [
        "http://testserver/papers/2503.00102"
    ]


@pytest.mark.parametrize(
    "query", ["\x00\x1f control", "x" * 2_000, '"open', "🤖", "<script>alert(1)</script>"]
)
def test_a_search_feed_of_any_query_is_xml(api: TestClient, query: str) -> None:
    response = api.get("/feeds/search.atom", params={"q": query})
    assert response.status_code == 200
    etree.fromstring(response.content)


def test_an_unknown_feed_format_is_not_found(api: TestClient) -> None:
    assert api.get("/feeds/daily.json").status_code == 404


def test_markdown_shows_html_in_titles_as_text(api: TestClient) -> None:
    text = api.get(f"/papers/{HOSTILE}.md").text
    assert text.startswith("# \\<script\\>alert\\(1\\)\\</script\\> Robust ")
    assert "<script>" not in text and "Mallory \\<i\\>Evil\\</i\\>" in text
