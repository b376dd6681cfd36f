"""The personal library as its user sees it: tagging, notes and "not interested" from the
paper page and the cards, the library page, import and export, deleting the account; and
the JSON twin under ``/api/library``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine

from paperfeed.store.accounts import create_token, create_user, find_user
from paperfeed.store.library import library_details
from paperfeed.web import library
from web_app import SCRIPT, WebApp, build, card_ids, form_token, sign_up

pytestmark = pytest.mark.usefixtures("cheap_passwords")

GRAPHS, PROTEIN, QUBITS = "2503.00001", "2503.00003", "2503.00102"
PASSWORD = "correct horse"
# a Zotero-like export: found by arXiv id, found by title (and an author), not in the
# feed, and an entry cut off by the end of the file
BIBTEX = """@article{lovelace2025graph,
  title = {Graph neural networks at scale},
  author = {Lovelace, Ada},
  eprint = {2503.00001},
  archivePrefix = {arXiv},
}

@inproceedings{protein,
  title = {Protein Folding with {Diffusion}},
  author = {Turing, Alan and Noether, Emmy},
  year = {2025},
}

@article{elsewhere,
  title = {A paper this feed does not have},
  author = {Hopper, Grace},
  doi = {10.1000/xyz123},
}

@article{broken,
  title = {Half an entry
"""
IMPORTED = {
    "format": "bibtex",
    "added": 2,
    "matched": [
        {"entry": "line 1, entry lovelace2025graph", "id": GRAPHS, "by": "arxiv_id"},
        {"entry": "line 8, entry protein", "id": PROTEIN, "by": "title"},
    ],
    "unmatched": [
        {
            "entry": "line 14, entry elsewhere",
            "title": "A paper this feed does not have",
            "reason": "no paper in the store has DOI 10.1000/xyz123 or this title",
        }
    ],
    "skipped": [
        {
            "entry": "line 20, entry broken",
            "reason": "the file ends inside this entry: a brace or quote is not closed",
        }
    ],
}
NOT_AN_EXPORT = (
    "Could not read notes.txt: not a BibTeX, RIS or CSL-JSON export: "
    "no @entry{...}, no 'TY  - ' line, no JSON."
)
GRAPHS_BIBTEX = """@misc{lovelace2025graph,
  title = {Graph neural networks at scale},
  author = {Ada Lovelace and Alan Turing},
  year = {2025},
  eprint = {2503.00001},
  archivePrefix = {arXiv},
  primaryClass = {cs.LG},
  url = {https://arxiv.org/abs/2503.00001},
}
"""


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(tmp_path)


@pytest.fixture
def browser(web: WebApp) -> TestClient:
    return web.browser()


@pytest.fixture
def token(browser: TestClient) -> str:
    """The CSRF token of a signed-in user's session."""
    return sign_up(browser, password=PASSWORD)


def post(client: TestClient, token: str, path: str, **data: str) -> httpx.Response:
    """Submit one of the library's forms, as from the paper's page; not followed."""
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def tag(client: TestClient, token: str, arxiv_id: str, tags: str) -> httpx.Response:
    return post(client, token, f"/papers/{arxiv_id}/tags", tags=tags)


def texts(page: str, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in html.fromstring(page).xpath(xpath)]


def chips(page: str) -> list[str]:
    """The user's tags a page shows, in order."""
    return texts(page, "//a[@class='chip mytag']")


def error_text(page: str) -> str:
    return html.fromstring(page).xpath("string(//p[@class='error'])")


def bearer(web: WebApp, email: str = "grace@example.org") -> dict[str, str]:
    """The ``Authorization`` header of a new user's API token."""
    user = create_user(web.engine, email, PASSWORD)
    return {"Authorization": f"Bearer {create_token(web.engine, user['id'])}"}


def upload(content: str | bytes, name: str = "refs.bib") -> dict[str, tuple[str, bytes]]:
    data = content.encode() if isinstance(content, str) else content
    return {"file": (name, data)}


# tags, notes, "not interested" from the pages -----------------------------------------------


def test_tagging_a_paper_from_its_page_files_it_under_the_tags(
    browser: TestClient, token: str
) -> None:
    response = tag(browser, token, GRAPHS, "to read,  Graphs , ")
    assert (response.status_code, response.headers["location"]) == (303, f"/papers/{GRAPHS}")
    assert chips(browser.get(f"/papers/{GRAPHS}").text) == ["Graphs", "to read"]
    shelf = browser.get("/library?tag=Graphs").text
    assert card_ids(shelf) == [GRAPHS]
    assert texts(shelf, "//nav[@aria-label='Tags']/a") == ["All", "Graphs 1", "to read 1"]


def test_a_card_in_the_feed_tags_and_goes_back_to_the_feed(browser: TestClient, token: str) -> None:
    feed = browser.get("/papers").text
    action = "/papers/2503.00404/tags"
    assert html.fromstring(feed).xpath(f"//article[@class='card']//form[@action='{action}']")
    response = browser.post(
        action,
        data={"csrf_token": token, "tags": "molecules"},
        headers={"referer": "http://testserver/papers"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/papers"
    assert chips(browser.get("/papers").text) == ["molecules"]


def test_the_library_lists_the_newest_saved_first_a_page_at_a_time(
    browser: TestClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library, "PER_PAGE", 2)
    for arxiv_id in (QUBITS, PROTEIN, GRAPHS):
        tag(browser, token, arxiv_id, "")
    first = browser.get("/library").text
    assert card_ids(first) == [GRAPHS, PROTEIN]
    [older] = html.fromstring(first).xpath("//nav[@class='pager']/a[@rel='next']/@href")
    assert older == "/library?page=2"
    assert card_ids(browser.get(older).text) == [QUBITS]


def test_a_note_is_shown_and_an_empty_one_removes_it(browser: TestClient, token: str) -> None:
    tag(browser, token, GRAPHS, "")
    post(browser, token, f"/papers/{GRAPHS}/note", text="  Read section 3\nagain. ")
    assert texts(browser.get("/library").text, "//p[@class='mynote']") == ["Read section 3 again."]
    textarea = html.fromstring(browser.get(f"/papers/{GRAPHS}").text).xpath("string(//textarea)")
    assert textarea == "Read section 3\nagain."  # as typed, to edit
    post(browser, token, f"/papers/{GRAPHS}/note", text=" ")
    assert texts(browser.get("/library").text, "//p[@class='mynote']") == []


def test_not_interested_toggles(web: WebApp, browser: TestClient, token: str) -> None:
    path = f"/papers/{QUBITS}/not-interested"
    button = "//form[contains(@class, 'not-interested')]/button"
    assert post(browser, token, path, on="true").status_code == 303
    page = browser.get(f"/papers/{QUBITS}").text
    assert texts(page, button) == ["Not interested ✓"]
    assert html.fromstring(page).xpath(f"{button}/@aria-pressed") == ["true"]
    post(browser, token, path, on="false")
    assert texts(browser.get(f"/papers/{QUBITS}").text, button) == ["Not interested"]
    user = find_user(web.engine, "ada@example.org")
    assert library_details(web.engine, user["id"], [QUBITS]) == {}


def test_removing_a_paper_from_the_library_drops_its_tags(browser: TestClient, token: str) -> None:
    tag(browser, token, GRAPHS, "graphs")
    post(browser, token, f"/papers/{GRAPHS}/save", on="false")
    assert card_ids(browser.get("/library").text) == []
    assert chips(browser.get(f"/papers/{GRAPHS}").text) == []
    tag_list = texts(browser.get("/library").text, "//nav[@aria-label='Tags']/a")
    assert tag_list == ["All", "graphs 0"]


def test_deleting_a_tag_keeps_its_papers(browser: TestClient, token: str) -> None:
    tag(browser, token, GRAPHS, "graphs, to read")
    response = post(browser, token, "/library/tags/graphs/delete")
    assert (response.status_code, response.headers["location"]) == (303, "/library")
    page = browser.get("/library").text
    assert (card_ids(page), chips(page)) == ([GRAPHS], ["to read"])
    assert post(browser, token, "/library/tags/graphs/delete").status_code == 404


def test_a_tag_too_long_is_refused_with_the_reason(browser: TestClient, token: str) -> None:
    response = tag(browser, token, GRAPHS, "x" * 101)
    assert response.status_code == 400
    assert error_text(response.text) == "Not kept: a tag name has at most 100 characters."
    assert card_ids(browser.get("/library").text) == []


def test_a_hostile_tag_and_note_are_shown_as_text(browser: TestClient, token: str) -> None:
    tag(browser, token, GRAPHS, SCRIPT)
    post(browser, token, f"/papers/{GRAPHS}/note", text=SCRIPT)
    for path in (
        "/library",
        f"/library?tag={SCRIPT}",
        f"/papers/{GRAPHS}",
        "/papers/date/2025-03-03",
    ):
        page = browser.get(path).text
        assert SCRIPT not in page
        assert chips(page) == [SCRIPT]
    assert texts(browser.get("/library").text, "//p[@class='mynote']") == [SCRIPT]


def test_for_you_and_the_library_are_in_the_navigation_when_signed_in(browser: TestClient) -> None:
    nav = "//nav[@class='sections']/a"
    everyone = ["Daily", "Trending", "Topics", "Map", "Submit"]
    assert texts(browser.get("/papers").text, nav) == everyone
    sign_up(browser)
    assert texts(browser.get("/papers").text, nav) == [
        "Daily",
        "Trending",
        "Topics",
        "Map",
        "Submit",
        "For you",
        "Library",
        "Following",
    ]


# export -------------------------------------------------------------------------------------


def test_the_json_export_is_a_download_of_the_library(browser: TestClient, token: str) -> None:
    tag(browser, token, GRAPHS, "graphs")
    post(browser, token, f"/papers/{GRAPHS}/note", text="Good")
    response = browser.get("/library/export.json")
    disposition = 'attachment; filename="paperfeed-library.json"'
    assert response.headers["content-disposition"] == disposition
    [entry] = response.json()["library"]
    del entry["saved_at"]
    title = "Graph neural networks at scale"
    assert entry == {"arxiv_id": GRAPHS, "title": title, "tags": ["graphs"], "note": "Good"}


def test_the_bibtex_export_has_the_library_or_one_tag(browser: TestClient, token: str) -> None:
    tag(browser, token, GRAPHS, "graphs")
    tag(browser, token, PROTEIN, "proteins")
    response = browser.get("/library/export.bib?tag=graphs")
    assert response.text == GRAPHS_BIBTEX
    disposition = 'attachment; filename="paperfeed-library.bib"'
    assert response.headers["content-disposition"] == disposition
    assert browser.get("/library/export.bib").text.count("@misc{") == 2


# import -------------------------------------------------------------------------------------


def test_an_import_saves_the_papers_found_and_lists_every_other_entry(
    browser: TestClient, token: str
) -> None:
    response = browser.post(
        "/library/import",
        files=upload(BIBTEX),
        data={"csrf_token": token, "tag": "thesis"},
    )
    assert response.status_code == 200
    page = response.text
    expected = "2 papers added to your library."
    assert texts(page, "//p[@id='added']") == [expected]
    unmatched = texts(page, "//table[@id='unmatched']/tbody/tr/td")
    assert unmatched == list(IMPORTED["unmatched"][0].values())
    assert texts(page, "//table[@id='skipped']/tbody/tr/td") == list(
        IMPORTED["skipped"][0].values()
    )
    assert card_ids(browser.get("/library?tag=thesis").text) == [GRAPHS, PROTEIN]


def test_importing_again_adds_nothing_new(browser: TestClient, token: str) -> None:
    data = {"csrf_token": token}
    browser.post("/library/import", files=upload(BIBTEX), data=data)
    again = browser.post("/library/import", files=upload(BIBTEX), data=data).text
    expected = "0 papers added to your library; 2 of the entries found were in it already."
    assert texts(again, "//p[@id='added']") == [expected]


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("notes.txt", "hello", NOT_AN_EXPORT),
        ("refs.bib", "", "Could not read refs.bib: empty file."),
        (
            "refs.json",
            '[{"id": "a", "type": "article", "title": "x"',
            "Could not read refs.json: invalid JSON on line 1, column 45: "
            "Expecting ',' delimiter (the file ends early: cut off?).",
        ),
    ],
)
def test_an_unreadable_upload_says_what_is_wrong(
    browser: TestClient, token: str, name: str, content: str, error: str
) -> None:
    response = browser.post(
        "/library/import", files=upload(content, name), data={"csrf_token": token}
    )
    assert (response.status_code, error_text(response.text)) == (400, error)


def test_an_upload_over_5_mb_is_refused(browser: TestClient, token: str) -> None:
    big = b"%" * (5 * 2**20 + 1)
    response = browser.post("/library/import", files=upload(big), data={"csrf_token": token})
    expected = "refs.bib is over 5 MB: export the library in parts."
    assert (response.status_code, error_text(response.text)) == (413, expected)


# deleting the account -----------------------------------------------------------------------


def test_deleting_the_account_needs_the_password(
    web: WebApp, browser: TestClient, token: str
) -> None:
    wrong = post(browser, token, "/profile/delete", password="wrong horse")
    expected = "That is not your password: your account was not deleted."
    assert (wrong.status_code, error_text(wrong.text)) == (400, expected)
    assert find_user(web.engine, "ada@example.org") is not None
    assert browser.get("/profile", follow_redirects=False).status_code == 200


def test_a_deleted_account_is_signed_out_and_gone(
    web: WebApp, browser: TestClient, token: str
) -> None:
    tag(browser, token, GRAPHS, "graphs")
    response = post(browser, token, "/profile/delete", password=PASSWORD)
    assert (response.status_code, response.headers["location"]) == (303, "/profile/deleted")
    assert texts(browser.get("/profile/deleted").text, "//p[@id='deleted']")[0].startswith(
        "Your account and everything kept about you"
    )
    assert find_user(web.engine, "ada@example.org") is None
    assert browser.get("/profile", follow_redirects=False).headers["location"] == (
        "/login?next=/profile"
    )
    login = form_token(browser.get("/login").text)
    again = browser.post(
        "/login", data={"email": "ada@example.org", "password": PASSWORD, "csrf_token": login}
    )
    assert again.status_code == 400


# who may -------------------------------------------------------------------------------------

FORMS = [
    (f"/papers/{GRAPHS}/tags", {"tags": "graphs"}),
    (f"/papers/{GRAPHS}/note", {"text": "hi"}),
    (f"/papers/{GRAPHS}/not-interested", {"on": "true"}),
    ("/library/tags/graphs/delete", {}),
    ("/profile/delete", {"password": PASSWORD}),
]


@pytest.mark.parametrize(("path", "data"), FORMS)
def test_the_library_forms_need_the_csrf_token(
    web: WebApp, browser: TestClient, token: str, path: str, data: dict[str, str]
) -> None:
    assert browser.post(path, data=data).status_code == 403
    assert find_user(web.engine, "ada@example.org") is not None


@pytest.mark.parametrize(("path", "data"), FORMS)
def test_the_library_forms_ask_a_visitor_to_sign_in(
    browser: TestClient, path: str, data: dict[str, str]
) -> None:
    token = form_token(browser.get("/login").text)
    assert post(browser, token, path, **data).status_code == 401


@pytest.mark.parametrize(
    ("path", "back"),
    [
        ("/library", "/library"),
        ("/library/import", "/library/import"),
        ("/library?tag=graphs", "/library%3Ftag%3Dgraphs"),
    ],
)
def test_the_library_pages_send_a_visitor_to_sign_in(
    browser: TestClient, path: str, back: str
) -> None:
    response = browser.get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, f"/login?next={back}")


@pytest.mark.parametrize(
    "path", ["/library/export.json", "/library/export.bib", "/library/export.ris"]
)
def test_the_exports_are_for_the_signed_in(browser: TestClient, path: str) -> None:
    assert browser.get(path).status_code == 401


# the JSON API ----------------------------------------------------------------------------------


def test_the_api_saves_with_tags_and_lists_the_library(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    saved = client.put(f"/api/library/{GRAPHS}", json={"tags": ["to read", "Graphs"]}, headers=auth)
    assert saved.json() == {"id": GRAPHS, "saved": True, "tags": ["Graphs", "to read"]}
    client.put(f"/api/library/{PROTEIN}", json={"tags": []}, headers=auth)
    [entry] = client.get("/api/library?tag=Graphs", headers=auth).json()
    assert (entry["id"], entry["title"]) == (GRAPHS, "Graph neural networks at scale")
    kept = {key: entry[key] for key in ("tags", "note", "notInterested")}
    assert kept == {"tags": ["Graphs", "to read"], "note": None, "notInterested": False}
    everything = client.get("/api/library", headers=auth).json()
    assert [entry["id"] for entry in everything] == [PROTEIN, GRAPHS]
    assert client.get("/api/library/tags", headers=auth).json() == [
        {"name": "Graphs", "papers": 1},
        {"name": "to read", "papers": 1},
    ]


def test_the_api_keeps_and_removes_a_note(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    path = f"/api/library/{GRAPHS}/note"
    assert client.put(path, json={"text": " Good "}, headers=auth).json() == {
        "id": GRAPHS,
        "note": "Good",
    }
    assert client.put(path, json={"text": ""}, headers=auth).json() == {"id": GRAPHS, "note": None}


def test_the_api_marks_not_interested_and_takes_it_back(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    path = f"/api/library/{QUBITS}/not-interested"
    assert client.post(path, headers=auth).json() == {"id": QUBITS, "notInterested": True}
    assert client.delete(path, headers=auth).json() == {"id": QUBITS, "notInterested": False}


def test_the_api_unsaves_and_deletes_tags(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    client.put(f"/api/library/{GRAPHS}", json={"tags": ["graphs", "old"]}, headers=auth)
    assert client.delete(f"/api/library/{GRAPHS}", headers=auth).json() == {
        "id": GRAPHS,
        "saved": False,
    }
    assert client.get("/api/library", headers=auth).json() == []
    assert client.delete("/api/library/tags/old", headers=auth).json() == {"deleted": "old"}
    assert client.get("/api/library/tags", headers=auth).json() == [{"name": "graphs", "papers": 0}]
    gone = client.delete("/api/library/tags/old", headers=auth)
    assert (gone.status_code, gone.json()) == (404, {"error": "You have no tag 'old'."})


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("PUT", f"/api/library/{GRAPHS}", {"tags": ["x" * 101]}, 422, "tags.0: String should "),
        ("PUT", "/api/library/2401.99999", {"tags": []}, 404, "2401.99999 is not in this feed."),
        ("PUT", f"/api/library/{GRAPHS}/note", {}, 422, "text: Field required"),
        ("DELETE", "/api/account", None, 422, "request: Field required"),
    ],
)
def test_the_api_refuses_with_its_error_shape(
    web: WebApp, method: str, path: str, body: dict | None, status: int, error: str
) -> None:
    response = web.browser().request(method, path, json=body, headers=bearer(web))
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


def test_the_api_imports_an_upload(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    response = client.post(
        "/api/library/import", files=upload(BIBTEX), data={"tag": "thesis"}, headers=auth
    )
    assert response.json() == IMPORTED
    assert [e["id"] for e in client.get("/api/library?tag=thesis", headers=auth).json()] == [
        GRAPHS,
        PROTEIN,
    ]


def test_the_api_names_the_problem_with_an_unreadable_upload(web: WebApp) -> None:
    response = web.browser().post(
        "/api/library/import", files=upload("hello", "notes.txt"), headers=bearer(web)
    )
    assert (response.status_code, response.json()) == (400, {"error": NOT_AN_EXPORT})


def test_the_api_exports_json_and_bibtex(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    client.put(f"/api/library/{GRAPHS}", json={"tags": ["graphs"]}, headers=auth)
    exported = client.get("/api/library/export", headers=auth).json()
    assert [(e["arxiv_id"], e["tags"]) for e in exported["library"]] == [(GRAPHS, ["graphs"])]
    assert client.get("/api/library/export.bib", headers=auth).text == GRAPHS_BIBTEX


def test_the_api_deletes_the_account_with_the_password(web: WebApp) -> None:
    client, auth = web.browser(), bearer(web)
    wrong = client.request("DELETE", "/api/account", json={"password": "nope"}, headers=auth)
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"error": "That is not your password: the account was not deleted."},
    )
    right = client.request("DELETE", "/api/account", json={"password": PASSWORD}, headers=auth)
    assert right.json() == {"deleted": "grace@example.org"}
    assert find_user(web.engine, "grace@example.org") is None
    after = client.get("/api/library", headers=auth)
    assert (after.status_code, after.json()) == (401, {"error": "Unknown API token."})


def test_the_api_with_the_session_cookie_needs_the_csrf_header(
    browser: TestClient, token: str
) -> None:
    path = f"/api/library/{GRAPHS}"
    assert browser.put(path, json={"tags": []}).status_code == 403
    headers = {"X-CSRF-Token": token}
    assert browser.put(path, json={"tags": []}, headers=headers).json()["saved"] is True


def test_the_api_asks_a_visitor_to_sign_in(browser: TestClient) -> None:
    response = browser.get("/api/library")
    assert (response.status_code, response.json()) == (401, {"error": "Sign in first."})


def test_the_library_on_each_database(engine: Engine, tmp_path: Path) -> None:
    web = build(tmp_path, engine=engine)
    client, auth = web.browser(), bearer(web)
    imported = client.post("/api/library/import", files=upload(BIBTEX), headers=auth).json()
    assert imported == IMPORTED
    client.put(f"/api/library/{GRAPHS}", json={"tags": ["graphs"]}, headers=auth)
    client.put(f"/api/library/{GRAPHS}/note", json={"text": "Good"}, headers=auth)
    [entry] = client.get("/api/library?tag=graphs", headers=auth).json()
    assert (entry["id"], entry["tags"], entry["note"]) == (GRAPHS, ["graphs"], "Good")
    assert client.get("/api/library/export.bib?tag=graphs", headers=auth).text == GRAPHS_BIBTEX
    client.request("DELETE", "/api/account", json={"password": PASSWORD}, headers=auth)
    assert find_user(web.engine, "grace@example.org") is None
