"""The "For you" page and its JSON twin: recommendations from the library, with why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from memory_source import MemorySource, paper
from paperfeed.index.dense import VectorIndex
from paperfeed.index.live import RECHECK
from paperfeed.ingest.pipeline import ingest
from paperfeed.store.accounts import find_user, verify_email
from web_app import NEWEST, WebApp, build, card_ids, sign_up

GRAPHS = ["2503.00001", "2503.00002"]  # Graph neural networks at scale; graph attention


@pytest.fixture
def web(tmp_path: Path, cheap_passwords: None) -> WebApp:
    return build(tmp_path)


def save(browser, token: str, *arxiv_ids: str) -> None:
    for arxiv_id in arxiv_ids:
        browser.post(f"/papers/{arxiv_id}/save", data={"csrf_token": token})


def test_for_you_recommends_papers_like_the_saved_ones_and_says_why(web: WebApp) -> None:
    browser = web.browser()
    token = sign_up(browser)
    save(browser, token, *GRAPHS)
    shown = browser.get("/for-you")
    # hash vectors (tests run without the model) make word overlap the likeness
    assert "2503.00404" in card_ids(shown.text)[:3]  # Graph transformers for molecules
    assert not set(GRAPHS) & set(card_ids(shown.text))
    assert "Because you saved" in shown.text
    found = browser.get("/api/recommendations").json()
    assert [item["paper"]["id"] for item in found] == card_ids(shown.text)
    assert {item["because"]["id"] for item in found} <= set(GRAPHS)


def test_not_interested_takes_a_paper_out(web: WebApp) -> None:
    browser = web.browser()
    token = sign_up(browser)
    save(browser, token, *GRAPHS)
    browser.post("/papers/2503.00404/not-interested", data={"csrf_token": token, "on": "true"})
    assert "2503.00404" not in card_ids(browser.get("/for-you").text)


def test_a_new_user_starts_from_words_and_filters_by_category(web: WebApp) -> None:
    browser = web.browser()
    token = sign_up(browser)
    assert "Nothing to recommend yet" in browser.get("/for-you").text
    browser.post(
        "/for-you/preferences",
        data={"seed": "quantum error correction of qubits", "csrf_token": token},
    )
    assert card_ids(browser.get("/for-you").text)[0] == "2503.00102"  # Surface codes
    answer = browser.put(
        "/api/recommendations/preferences",
        json={"seed": "graphs and qubits", "categories": ["quant-ph"]},
        headers={"X-CSRF-Token": token},
    )
    assert answer.json()["categories"] == ["quant-ph"]
    assert card_ids(browser.get("/for-you").text) == ["2503.00102"]


def test_for_you_needs_an_account(web: WebApp) -> None:
    browser = web.browser()
    assert browser.get("/for-you", follow_redirects=False).headers["location"] == (
        "/login?next=/for-you"
    )
    assert browser.get("/api/recommendations").status_code == 401


def test_recommendations_by_email_are_subscribed_from_for_you_and_listed_on_the_profile(
    web: WebApp,
) -> None:
    browser = web.browser()
    token = sign_up(browser)
    save(browser, token, *GRAPHS)
    assert 'value="recommend"' in browser.get("/for-you").text
    data = {"email": "ada@example.org", "kind": "recommend", "csrf_token": token}
    first = browser.post("/subscribe", data=data)
    assert first.status_code == 403
    assert "Confirm your address first" in first.text  # the address is not verified yet
    ada = find_user(web.engine, "ada@example.org") or {}
    verify_email(web.engine, ada["id"], ada["email"])  # as the mailed link does
    done = browser.post("/subscribe", data=data)
    assert "You are subscribed" in done.text  # the account's own address: no confirmation
    profile = browser.get("/profile").text
    assert "Recommended for you</a>, every weekday" in profile


def test_while_papers_wait_for_embedding_pages_say_so_in_plain_words(web: WebApp) -> None:
    ingest(web.engine, MemorySource([paper("2503.09999", announced=NEWEST)]))
    VectorIndex(web.services.vectors_folder).update(web.engine, web.services.embedder.model)
    time.sleep(RECHECK)  # the app looks for a new index generation once a second
    browser = web.browser()
    sign_up(browser)
    waiting = browser.get("/for-you").text
    assert "recommendations need papers indexed by their meaning" in waiting
    page = browser.get("/papers/2503.09999").text
    assert 'class="similar"' in page  # found by its words, authors, categories meanwhile
    assert "paperfeed index" not in waiting + page  # no admin instructions for visitors
    found = browser.get("/search", params={"q": "graph networks"}).text
    assert "older ones are found by their words" not in found  # the newest paper waits
    assert "Meaning-based results do not cover every paper yet" in found
