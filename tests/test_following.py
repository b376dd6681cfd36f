"""Following authors, organisations, categories and searches: which papers match, the follow
buttons and the Following page, the home feed, the secret Atom feed, the "Following" digest
and ``/api/follows``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from lxml import html

from memory_source import MemorySource, paper
from paperfeed.digest.content import Contents
from paperfeed.digest.mail import DigestMail
from paperfeed.digest.schedule import period_of
from paperfeed.ingest.pipeline import ingest
from paperfeed.ranking.following import (
    followed_papers,
    ranked,
    read_search_target,
    search_target,
)
from paperfeed.store.accounts import create_token, find_user, verify_email
from paperfeed.store.activity import set_hidden
from paperfeed.store.follows import follow, user_follows
from paperfeed.store.schema import DigestKind, FollowKind, Frequency
from paperfeed.store.subscriptions import subscribe
from paperfeed.store.user_data import delete_account, export_user_data
from web_app import (
    DEEP,
    HOSTILE,
    HOSTILE_AUTHOR,
    MONDAY,
    NEXT_MONDAY,
    TUESDAY,
    WEDNESDAY,
    WebApp,
    build,
    card_ids,
    sign_up,
)

ATOM = "{http://www.w3.org/2005/Atom}"
pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(tmp_path)


def user_id(web: WebApp, email: str = "ada@example.org") -> int:
    found = find_user(web.engine, email)
    assert found is not None
    return int(found["id"])


def follows_of(web: WebApp, uid: int, *wanted: tuple[str, str]) -> list[dict[str, Any]]:
    for kind, target in wanted:
        follow(web.engine, uid, kind, target)
    return user_follows(web.engine, uid)


def matched(found: list[Any]) -> dict[str, list[str]]:
    return {paper.card["arxiv_id"]: paper.reasons for paper in found}


# which papers ---------------------------------------------------------------------------


def test_a_search_is_followed_in_one_canonical_form() -> None:
    target = search_target("  diffusion   models ", ["cs.CV", "cs.cv", "cs.AI", "cs/CV!"])
    assert target == "q=diffusion+models&cat=cs.AI&cat=cs.CV"
    assert read_search_target("cat=cs.CV,cs.AI&q=diffusion%20models&sort=date").target == target
    assert read_search_target(target).label == "“diffusion models” in cs.AI or cs.CV"
    assert search_target("x", author=" Ada  Lovelace ", org="deepthought") == (
        "q=x&author=Ada+Lovelace&org=deepthought"
    )


def test_each_kind_of_follow_finds_its_papers_with_the_reason(web: WebApp) -> None:
    client = web.browser()
    sign_up(client)
    uid = user_id(web)
    follows = follows_of(
        web,
        uid,
        (FollowKind.CATEGORY, "quant-ph"),
        (FollowKind.ORGANISATION, DEEP.handle),
        (FollowKind.AUTHOR, HOSTILE_AUTHOR),
    )
    found = matched(followed_papers(web.engine, None, follows, MONDAY, NEXT_MONDAY))
    assert found == {
        "2503.00102": ["you follow quant-ph"],
        "2503.00001": ["you follow deepthought"],
        "2503.00201": ["you follow deepthought"],
        "2503.00403": ["you follow deepthought"],
        HOSTILE: [f"you follow {HOSTILE_AUTHOR}"],
    }
    # newest day first
    order = [
        p.card["arxiv_id"] for p in followed_papers(web.engine, None, follows, MONDAY, NEXT_MONDAY)
    ]
    assert order.index(HOSTILE) < order.index("2503.00201") < order.index("2503.00001")
    # an archive stands for its categories; each follow a paper matches is named
    archive = follows_of(web, uid, (FollowKind.CATEGORY, "cs"))
    both = matched(followed_papers(web.engine, None, archive, MONDAY, MONDAY))
    assert both["2503.00001"] == ["you follow deepthought", "you follow cs"]
    assert set(both) == {"2503.00001", "2503.00002", "2503.00003"}


def test_only_the_days_asked_for_and_never_a_hidden_paper(web: WebApp) -> None:
    lab = [{"id": 1, "kind": FollowKind.ORGANISATION, "target": DEEP.handle}]
    assert set(matched(followed_papers(web.engine, None, lab, TUESDAY, WEDNESDAY))) == {
        "2503.00201"
    }
    set_hidden(web.engine, "2503.00201", True)
    assert followed_papers(web.engine, None, lab, TUESDAY, WEDNESDAY) == []
    assert followed_papers(web.engine, None, lab, NEXT_MONDAY.replace(year=2030), NEXT_MONDAY) == []


def test_a_followed_search_is_matched_as_a_saved_search(web: WebApp) -> None:
    search = [{"id": 7, "kind": FollowKind.SEARCH, "target": "q=diffusion&cat=cs.LG"}]
    found = matched(followed_papers(web.engine, web.searcher, search, MONDAY, NEXT_MONDAY))
    assert {"2503.00003", "2503.00403"} <= set(found)
    assert found["2503.00403"] == ["you follow the search “diffusion” in cs.LG"]
    quantum = [{"id": 8, "kind": FollowKind.SEARCH, "target": "q=diffusion&cat=quant-ph"}]
    assert followed_papers(web.engine, web.searcher, quantum, MONDAY, NEXT_MONDAY) == []


def test_with_an_empty_library_the_most_upvoted_come_first(web: WebApp) -> None:
    lab = [{"id": 1, "kind": FollowKind.ORGANISATION, "target": DEEP.handle}]
    found = followed_papers(web.engine, None, lab, MONDAY, NEXT_MONDAY)
    now = datetime(2025, 3, 11, tzinfo=UTC)
    shown = [p.card["arxiv_id"] for p in ranked(web.services.recommender, 1, found, now)]
    # upvotes 5 (a day old), 12 (six days old), 3 (eight days old)
    assert shown == ["2503.00403", "2503.00201", "2503.00001"]


# the pages --------------------------------------------------------------------------------


def follow_forms(page: str) -> list[str]:
    return [
        " ".join(b.text_content().split())
        for b in html.fromstring(page).xpath("//form[contains(@class, 'follow')]//button")
    ]


def test_following_an_author_from_their_page_and_unfollowing(web: WebApp) -> None:
    client = web.browser()
    token = sign_up(client)
    author = "/author/" + quote(HOSTILE_AUTHOR, safe="")
    assert follow_forms(client.get(author).text) == [f"Follow {HOSTILE_AUTHOR}"]
    data = {"kind": "author", "target": HOSTILE_AUTHOR, "csrf_token": token}
    done = client.post(
        "/follow",
        data=data,
        headers={"referer": f"{client.base_url}{author}"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == author
    page = client.get(author).text
    assert follow_forms(page) == [f"Following {HOSTILE_AUTHOR} ✓"]
    assert "<i>Evil</i>" not in page  # the name is shown as text
    # twice: still one follow
    client.post("/follow", data=data)
    assert len(user_follows(web.engine, user_id(web))) == 1
    listed = client.get("/following").text
    assert HOSTILE_AUTHOR in html.fromstring(listed).text_content()
    unfollow = html.fromstring(listed).xpath("//form[contains(@action, '/follows/')]/@action")[0]
    client.post(unfollow, data={"csrf_token": token})
    assert user_follows(web.engine, user_id(web)) == []
    assert follow_forms(client.get(author).text) == [f"Follow {HOSTILE_AUTHOR}"]


def test_follow_buttons_on_organisation_category_and_search_pages(web: WebApp) -> None:
    client = web.browser()
    token = sign_up(client)
    assert follow_forms(client.get(f"/org/{DEEP.handle}").text) == ["Follow deepthought"]
    assert follow_forms(client.get("/papers?cat=cs.LG&cat=quant-ph").text) == [
        "Follow cs.LG",
        "Follow quant-ph",
    ]
    assert follow_forms(client.get("/search?q=diffusion&cat=cs.LG&sort=date").text) == [
        "Follow this search"
    ]
    client.post(
        "/follow",
        data={"kind": "search", "target": "cat=cs.LG&q=diffusion&sort=date", "csrf_token": token},
    )
    assert [row["target"] for row in user_follows(web.engine, user_id(web))] == [
        "q=diffusion&cat=cs.LG"
    ]
    assert follow_forms(client.get("/search?q=diffusion&cat=cs.LG").text) == [
        "Following this search ✓"
    ]


def test_a_follow_needs_the_forms_token_and_a_real_target(web: WebApp) -> None:
    client = web.browser()
    token = sign_up(client)
    refused = client.post("/follow", data={"kind": "category", "target": "cs.LG"})
    assert refused.status_code == 403 and "reload the page" in refused.text
    bad = client.post("/follow", data={"kind": "category", "target": "<b>", "csrf_token": token})
    assert bad.status_code == 400 and "not one arXiv category" in bad.text
    nobody = client.post(
        "/follow", data={"kind": "author", "target": "Nobody", "csrf_token": token}
    )
    assert nobody.status_code == 400
    assert "no papers by 'Nobody'" in html.fromstring(nobody.text).text_content()
    assert user_follows(web.engine, user_id(web)) == []


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(web: WebApp) -> None:
    client = web.browser()
    assert follow_forms(client.get(f"/org/{DEEP.handle}").text) == ["Follow deepthought"]
    sent = client.post(
        "/follow", data={"kind": "organisation", "target": DEEP.handle}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/login?next=/org/{DEEP.handle}"
    assert (
        client.get("/following", follow_redirects=False).headers["location"]
        == "/login?next=/following"
    )


def test_home_is_the_feed_of_what_you_follow_with_a_remembered_switch(web: WebApp) -> None:
    client = web.browser()
    token = sign_up(client)
    plain = client.get("/")
    assert plain.url.path == "/papers" and "Follow a category, an author" in plain.text
    for kind, target in [("category", "quant-ph"), ("author", HOSTILE_AUTHOR)]:
        client.post("/follow", data={"kind": kind, "target": target, "csrf_token": token})
    home = client.get("/")
    assert home.status_code == 200 and home.url.path == "/"
    assert set(card_ids(home.text)) == {HOSTILE, "2503.00102"}
    reasons = html.fromstring(home.text).xpath("//p[contains(@class, 'reasons')]/text()")
    assert sorted(reasons) == [
        f"Because you follow {HOSTILE_AUTHOR}",
        "Because you follow quant-ph",
    ]
    assert "<script>alert(1)</script>" not in home.text  # the hostile title stays text
    day = client.get("/?view=day")
    assert day.url.path == "/papers" and 'href="/?view=feed"' in day.text
    assert client.get("/").url.path == "/papers"  # remembered
    assert client.get("/?view=feed").url.path == "/"
    assert client.get("/").url.path == "/"
    assert web.browser().get("/").url.path == "/papers"  # signed out: the day


def test_a_followed_search_reads_the_week_once_per_version_of_the_store(
    web: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = web.browser()
    token = sign_up(client)
    search = {"kind": "search", "target": "q=diffusion&cat=cs.LG", "csrf_token": token}
    client.post("/follow", data=search)
    windows = []
    made = web.searcher.window
    monkeypatch.setattr(web.searcher, "window", lambda ids: windows.append(ids) or made(ids))
    assert card_ids(client.get("/").text) == ["2503.00403"]
    assert card_ids(client.get("/").text) == ["2503.00403"]
    assert len(windows) == 1  # the second request matched the search in the kept week
    new = paper("2503.00500", title="Diffusion for graphs", announced=NEXT_MONDAY)
    ingest(web.engine, MemorySource([new]))
    web.searcher.lexical.update(web.engine)
    assert set(card_ids(client.get("/").text)) == {"2503.00500", "2503.00403"}
    assert len(windows) == 2


# the Atom feed ----------------------------------------------------------------------------


def feed_path(client: TestClient) -> str:
    url = html.fromstring(client.get("/following").text).xpath("//code[@class='feed-url']/text()")[
        0
    ]
    return url[len(str(client.base_url)) :]


def test_the_secret_atom_feed_of_what_you_follow(web: WebApp) -> None:
    client = web.browser()
    token = sign_up(client)
    client.post(
        "/follow", data={"kind": "organisation", "target": DEEP.handle, "csrf_token": token}
    )
    path = feed_path(client)
    assert path.startswith("/feeds/") and path.endswith(".atom")
    answer = web.browser().get(path)  # a feed reader: no cookie
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/atom+xml"
    )
    entries = ET.fromstring(answer.content).findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id", "").rsplit("/", 1)[-1] for entry in entries]
    assert ids == ["2503.00403", "2503.00201", "2503.00001"]  # newest first
    assert "Because you follow deepthought" in "".join(entries[0].itertext())
    client.post("/following/feed-key", data={"csrf_token": token})
    gone = web.browser().get(path)
    assert gone.status_code == 404 and "replaced by a new one" in gone.text
    assert web.browser().get(feed_path(client)).status_code == 200
    assert web.browser().get("/feeds/" + "x" * 500 + ".atom").status_code == 404


# the digest -------------------------------------------------------------------------------


def test_the_following_digest_brings_followed_papers_never_twice(web: WebApp) -> None:
    client = web.browser()
    sign_up(client)
    uid = user_id(web)
    verify_email(web.engine, uid, "ada@example.org")
    follows_of(web, uid, (FollowKind.CATEGORY, "quant-ph"), (FollowKind.ORGANISATION, DEEP.handle))
    subscription = subscribe(
        web.engine,
        "ada@example.org",
        kind=DigestKind.FOLLOWING,
        frequency=Frequency.WEEKLY,
        confirmed=True,
    )
    assert subscription["kind"] == "following"
    now = datetime(2025, 3, 11, 8, tzinfo=UTC)
    contents = Contents(web.engine, web.searcher, now, web.services.recommender)
    digest = contents.digest(subscription, period_of(Frequency.WEEKLY, now.date()))
    # the week from Wednesday 5 March: quant-ph's paper of the 4th is older
    assert [card["arxiv_id"] for card in digest.papers] == ["2503.00403", "2503.00201"]
    assert digest.papers[1]["reasons"] == ["you follow deepthought"]
    mail = DigestMail(web.services.mailer.links, "paperfeed@example.org").mail(digest)
    assert "Because you follow deepthought" in mail.text
    assert mail.subject.startswith("New papers of what you follow")
    built, _ = web.services.run_digests(now)
    assert built.queued == 1
    later = Contents(web.engine, web.searcher, now, web.services.recommender)
    assert later.digest(subscription, period_of(Frequency.WEEKLY, now.date())).papers == []


def test_a_following_digest_is_for_an_account(web: WebApp) -> None:
    with pytest.raises(ValueError, match="what an account follows"):
        subscribe(web.engine, "stranger@example.org", kind=DigestKind.FOLLOWING)


# the API, export and deletion -----------------------------------------------------------


def test_the_follows_api_with_a_bearer_token(web: WebApp) -> None:
    client = web.browser()
    sign_up(client)
    uid = user_id(web)
    api = web.browser()
    auth = {"Authorization": f"Bearer {create_token(web.engine, uid)}"}
    assert api.get("/api/follows").status_code == 401
    made = api.post("/api/follows", json={"kind": "category", "target": " cs.LG "}, headers=auth)
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["kind"] == "category" and body["target"] == "cs.LG"
    assert body["label"] == "cs.LG" and body["url"] == "/papers?cat=cs.LG"
    again = api.post("/api/follows", json={"kind": "category", "target": "cs.LG"}, headers=auth)
    assert again.json()["id"] == body["id"]
    search = api.post(
        "/api/follows", json={"kind": "search", "target": "cat=cs.LG&q=graphs"}, headers=auth
    )
    assert search.json()["target"] == "q=graphs&cat=cs.LG"
    assert [row["id"] for row in api.get("/api/follows", headers=auth).json()] == [
        body["id"],
        search.json()["id"],
    ]
    wrong = api.post("/api/follows", json={"kind": "organisation", "target": "nope"}, headers=auth)
    assert wrong.status_code == 400 and wrong.json() == {
        "error": "There is no organisation 'nope' here to follow."
    }
    words = api.post("/api/follows", json={"kind": "search", "target": "cat=cs.LG"}, headers=auth)
    assert words.status_code == 400 and "needs words" in words.json()["error"]
    assert api.delete(f"/api/follows/{body['id']}", headers=auth).json() == {
        "unfollowed": body["id"]
    }
    assert api.delete(f"/api/follows/{body['id']}", headers=auth).status_code == 404
    # by cookie, a change needs the CSRF header
    assert client.post("/api/follows", json={"kind": "category", "target": "cs"}).status_code == 403


def test_follows_are_exported_and_deleted_with_the_account(web: WebApp) -> None:
    client = web.browser()
    sign_up(client)
    uid = user_id(web)
    follows_of(web, uid, (FollowKind.CATEGORY, "cs.LG"))
    exported = export_user_data(web.engine, uid)["follows"]
    assert [(row["kind"], row["target"]) for row in exported] == [("category", "cs.LG")]
    assert delete_account(web.engine, uid)
    assert user_follows(web.engine, uid) == []
