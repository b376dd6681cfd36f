"""Discussions: comments and replies on paper pages and in the API, editing and deleting one's
own, moderation (reports, the admin queue, hiding, bans), the renderer against hostile
Markdown, reply mails, and comments in an account's export and deletion."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_string
from email.policy import default
from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html
from sqlalchemy import select, update

from paperfeed.comment_html import comment_html
from paperfeed.digest.run import mail_comment
from paperfeed.store.accounts import create_token, create_user, make_admin
from paperfeed.store.comments import get_comment
from paperfeed.store.follows import follow
from paperfeed.store.schema import FollowKind, MailKind, outbox, users
from paperfeed.store.user_data import delete_account, export_user_data
from web_app import HOSTILE, WebApp, build, form_token, sign_up

pytestmark = pytest.mark.usefixtures("cheap_passwords")
PAPER = "2503.00001"
HIDDEN_PAPER = "2503.00002"


@pytest.fixture
def web(tmp_path: Path) -> WebApp:
    return build(tmp_path, comment_rate="1000/minute")


def token_of(web: WebApp, email: str, admin: bool = False) -> tuple[int, dict[str, str]]:
    """A new user's id and the ``Authorization`` header of an API token of theirs."""
    user = create_user(web.engine, email, "correct horse", email.split("@")[0], admin=admin)
    return user["id"], {"Authorization": f"Bearer {create_token(web.engine, user['id'])}"}


def post(client: TestClient, auth: dict[str, str], body: str, parent: int | None = None) -> dict:
    response = client.post(
        f"/api/papers/{PAPER}/comments", json={"body": body, "parent": parent}, headers=auth
    )
    assert response.status_code == 201, response.text
    return response.json()


def thread(client: TestClient, headers: dict[str, str] | None = None) -> list[dict]:
    response = client.get(f"/api/papers/{PAPER}/comments", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def shape(nodes: list[dict]) -> list:
    """A thread as (author, state, text) with replies nested, for exact comparisons."""
    return [
        (
            (n["author"] or {}).get("name"),
            n["state"],
            n["body"],
            shape(n["replies"]),
        )
        for n in nodes
    ]


# the renderer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("*so* **good**", "<p><em>so</em> <strong>good</strong></p>\n"),
        (
            "[code](https://example.org/x)",
            '<p><a href="https://example.org/x" rel="nofollow ugc noopener">code</a></p>\n',
        ),
        ("[bad](javascript:alert(1))", "<p>[bad](javascript:alert(1))</p>\n"),
        ("[local](/logout)", "<p>[local](/logout)</p>\n"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        (
            "![x](https://example.org/a.png)",
            '<p>!<a href="https://example.org/a.png" rel="nofollow ugc noopener">x</a></p>\n',
        ),
        ("bounds $\\alpha^2$ and $x_1$", "<p>bounds α² and x₁</p>\n"),
        (
            "see arXiv:2503.00001v2.",
            '<p>see <a href="/papers/2503.00001" rel="nofollow ugc noopener">'
            "arXiv:2503.00001v2</a>.</p>\n",
        ),
        (
            "and hep-th/9901001",
            '<p>and <a href="/papers/hep-th/9901001" rel="nofollow ugc noopener">'
            "hep-th/9901001</a></p>\n",
        ),
        ("`2503.00001` stays code", "<p><code>2503.00001</code> stays code</p>\n"),
        ("# not a heading", "<p># not a heading</p>\n"),
    ],
)
def test_markdown_is_rendered_and_sanitised(markdown: str, shown: str) -> None:
    assert comment_html(markdown) == shown


HOSTILE_PIECES = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\nscript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        '[x](https://e.org/" onmouseover="alert(1))',
        "<a href='javascript:alert(1)'>x</a>",
        '"><svg onload=alert(1)>',
        "`<b>`",
        "<style>*{}</style>",
        "&lt;script&gt;",
        "$\\href{javascript:alert(1)}{x}$",
        "\\url{javascript:alert(1)}",
        "2503.00001",
        "**",
        "> ",
        "\n\n",
        "- ",
        "```\n",
    ]
)
HOSTILE_MARKDOWN = st.lists(st.one_of(HOSTILE_PIECES, st.text(max_size=12)), max_size=8).map(
    "".join
)


def assert_harmless(shown: str) -> None:
    """No script, no script URL, no event handler attribute, in markup that parses."""
    assert "<script" not in shown.lower()
    assert_harmless_inside(html.fragment_fromstring(f"<div>{shown}</div>"))


def assert_harmless_inside(tree: html.HtmlElement) -> None:
    shown = html.tostring(tree, encoding="unicode")
    assert not tree.xpath(".//script | .//style | .//img | .//svg | .//iframe"), shown
    for element in tree.iterdescendants():
        for name, value in element.attrib.items():
            assert name in ("href", "rel", "start"), shown  # no event handlers, no style
            if name == "href":
                assert re.match(r"(https?:|mailto:|/papers/)", value), shown


@settings(max_examples=300, deadline=None)
@given(HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_harmless(markdown: str) -> None:
    assert_harmless(comment_html(markdown))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(HOSTILE_MARKDOWN.filter(lambda text: text.strip()))
def test_hostile_comments_are_harmless_on_the_page_and_in_the_api(
    web: WebApp, markdown: str
) -> None:
    client = web.browser()
    _, auth = token_of(web, f"{uuid4().hex}@example.org")
    posted = post(client, auth, markdown)
    assert posted["body"] == markdown.strip()
    assert_harmless(posted["html"])
    page = client.get(f"/papers/{PAPER}").text
    [shown] = html.fromstring(page).xpath(
        f"//li[@id='comment-{posted['id']}']//div[@class='comment-body']"
    )
    assert_harmless_inside(shown)
    assert "<script>alert" not in page


# posting, replying, editing, deleting -----------------------------------------------------


def test_comments_and_replies_come_back_threaded(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    first = post(client, ada, "First, on $\\alpha$.")
    reply = post(client, bob, "A reply citing 2503.00002", parent=first["id"])
    second = post(client, bob, "Second")
    assert reply["parent"] == first["id"] and reply["paper"] == PAPER
    assert 'href="/papers/2503.00002"' in reply["html"]
    assert shape(thread(client)) == [
        (
            "ada",
            "shown",
            "First, on $\\alpha$.",
            [("bob", "shown", "A reply citing 2503.00002", [])],
        ),
        ("bob", "shown", "Second", []),
    ]
    assert second["createdAt"].endswith("Z") and second["editedAt"] is None
    paper = client.get(f"/api/papers/{PAPER}").json()
    assert paper["numComments"] == 3  # no Hugging Face count for it: the comments here


def test_a_reply_must_answer_a_shown_comment_on_the_same_paper(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    other = client.post(
        "/api/papers/2503.00101/comments", json={"body": "elsewhere"}, headers=ada
    ).json()
    response = client.post(
        f"/api/papers/{PAPER}/comments", json={"body": "hi", "parent": other["id"]}, headers=ada
    )
    assert response.status_code == 400
    assert "no comment" in response.json()["error"]


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 10_001])
def test_empty_or_long_comments_are_refused(web: WebApp, body: str) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    response = client.post(f"/api/papers/{PAPER}/comments", json={"body": body}, headers=ada)
    assert response.status_code in (400, 422)
    assert thread(client) == []


def test_signed_out_callers_and_unknown_papers(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    assert client.post(f"/api/papers/{PAPER}/comments", json={"body": "x"}).status_code == 401
    assert client.get("/api/papers/2599.99999/comments").status_code == 404
    missing = client.post("/api/papers/2599.99999/comments", json={"body": "x"}, headers=ada)
    assert missing.status_code == 404


def test_a_session_needs_the_csrf_token(web: WebApp) -> None:
    client = web.browser()
    token = sign_up(client)
    url = f"/api/papers/{PAPER}/comments"
    assert client.post(url, json={"body": "x"}).status_code == 403
    made = client.post(url, json={"body": "x"}, headers={"X-CSRF-Token": token})
    assert made.status_code == 201


def test_only_the_author_edits_or_deletes(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    mine = post(client, ada, "Typo hre")
    url = f"/api/comments/{mine['id']}"
    assert client.patch(url, json={"body": "mine now"}, headers=bob).status_code == 403
    assert client.delete(url, headers=bob).status_code == 403
    assert client.patch(url, json={"body": "mine now"}).status_code == 401
    edited = client.patch(url, json={"body": "Typo *here*"}, headers=ada).json()
    assert edited["html"] == "<p>Typo <em>here</em></p>\n" and edited["editedAt"]
    assert client.delete(url, headers=ada).json() == {"id": mine["id"], "deleted": True}
    assert thread(client) == []
    assert client.delete(url, headers=ada).status_code == 404
    assert client.patch("/api/comments/999999", json={"body": "x"}, headers=ada).status_code == 404


def test_a_deleted_comment_with_replies_stays_as_a_placeholder(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    first = post(client, ada, "Question")
    answer = post(client, bob, "Answer", parent=first["id"])
    client.delete(f"/api/comments/{first['id']}", headers=ada)
    assert shape(thread(client)) == [(None, "deleted", "", [("bob", "shown", "Answer", [])])]
    page = client.get(f"/papers/{PAPER}").text
    assert "[deleted]" in page and "Question" not in page
    # the last reply gone, nothing is left to hold the place for
    client.delete(f"/api/comments/{answer['id']}", headers=bob)
    assert thread(client) == []


def test_commenting_and_replying_on_the_page(web: WebApp) -> None:
    ada, bob = web.browser(), web.browser()
    token = sign_up(ada, "ada@example.org")
    response = ada.post(
        f"/papers/{PAPER}/comments",
        data={"body": "Nice *result*", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    comment_id = int(response.headers["location"].rsplit("-", 1)[1])
    assert response.headers["location"] == f"/papers/{PAPER}#comment-{comment_id}"
    bob_token = sign_up(bob, "bob@example.org")
    bob.post(
        f"/papers/{PAPER}/comments",
        data={"body": "Agreed", "parent": str(comment_id), "csrf_token": bob_token},
    )
    tree = html.fromstring(bob.get(f"/papers/{PAPER}").text)
    [first] = tree.xpath(f"//li[@id='comment-{comment_id}']")
    assert first.xpath(".//div[@class='comment-body']/p/em/text()") == ["result"]
    assert first.xpath(".//ol/li//div[@class='comment-body']/p/text()") == ["Agreed"]
    # bob may report ada's comment but not edit or delete it
    assert not first.xpath(f".//form[@action='/comments/{comment_id}/delete']")
    assert first.xpath(f".//form[@action='/comments/{comment_id}/report']")
    forged = bob.post(
        f"/comments/{comment_id}/delete", data={"csrf_token": bob_token}, follow_redirects=False
    )
    assert forged.status_code == 403
    no_token = ada.post(f"/comments/{comment_id}/delete", follow_redirects=False)
    assert no_token.status_code == 403
    ada.post(f"/comments/{comment_id}/edit", data={"body": "Nicer", "csrf_token": token})
    assert "Nicer" in bob.get(f"/papers/{PAPER}").text


def test_signed_out_visitors_see_comments_and_a_sign_in_link(web: WebApp) -> None:
    _, ada = token_of(web, "ada@example.org")
    visitor = web.browser()
    post(visitor, ada, "Visible to all")
    page = visitor.get(f"/papers/{PAPER}").text
    assert "Visible to all" in page and "Sign in</a> to comment" in page
    assert visitor.post(f"/papers/{PAPER}/comments", data={"body": "x"}).status_code == 401


def test_posting_is_rate_limited(tmp_path: Path) -> None:
    web = build(tmp_path, comment_rate="2/minute")
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    post(client, ada, "one")
    post(client, ada, "two")
    refused = client.post(f"/api/papers/{PAPER}/comments", json={"body": "3"}, headers=ada)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_the_hostile_paper_page_still_escapes_with_comments(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    client.post(f"/api/papers/{HOSTILE}/comments", json={"body": "<b>hi</b>"}, headers=ada)
    page = client.get(f"/papers/{HOSTILE}").text
    assert "&lt;b&gt;hi&lt;/b&gt;" in page


# moderation -------------------------------------------------------------------------------


def test_a_reported_comment_hidden_by_an_admin_is_gone_for_visitors(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    rude = post(client, ada, "Rude words")
    reported = client.post(
        f"/api/comments/{rude['id']}/report", json={"reason": "rude"}, headers=bob
    )
    assert reported.json() == {"id": rude["id"], "reported": True}
    again = client.post(f"/api/comments/{rude['id']}/report", json={}, headers=bob)
    assert again.json()["reported"] is False
    own = client.post(f"/api/comments/{rude['id']}/report", json={}, headers=ada)
    assert own.status_code == 400

    admin = web.browser()
    sign_up(admin, "root@example.org")
    assert admin.get("/admin/reports").status_code == 403
    make_admin(web.engine, "root@example.org")
    queue = admin.get("/admin/reports").text
    token = form_token(queue)
    assert "Rude words" in queue and "bob" in queue and "rude" in queue
    admin.post(f"/admin/comments/{rude['id']}/hide", data={"on": "true", "csrf_token": token})
    assert "Rude words" not in admin.get("/admin/reports").text.split("Hidden recently")[0]

    assert thread(client) == []
    assert "Rude words" not in web.browser().get(f"/papers/{PAPER}").text
    assert client.get(f"/api/papers/{PAPER}").json()["numComments"] == 0
    # the admin still sees it, marked, and can restore it
    assert "Rude words" in admin.get(f"/papers/{PAPER}").text
    admin.post(f"/admin/comments/{rude['id']}/hide", data={"on": "false", "csrf_token": token})
    assert shape(thread(client)) == [("ada", "shown", "Rude words", [])]


def test_a_hidden_comment_with_replies_is_a_placeholder(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    _, root = token_of(web, "root@example.org", admin=True)
    rude = post(client, ada, "Rude words")
    post(client, bob, "Calm down", parent=rude["id"])
    admin = web.browser()
    token = sign_up(admin, "boss@example.org")
    make_admin(web.engine, "boss@example.org")
    admin.post(f"/admin/comments/{rude['id']}/hide", data={"on": "true", "csrf_token": token})
    assert shape(thread(client)) == [(None, "hidden", "", [("bob", "shown", "Calm down", [])])]
    assert shape(thread(client, root)) == [
        ("ada", "hidden", "Rude words", [("bob", "shown", "Calm down", [])])
    ]


def test_a_banned_user_cannot_comment(web: WebApp) -> None:
    client = web.browser()
    ada_id, ada = token_of(web, "ada@example.org")
    post(client, ada, "Before the ban")
    admin = web.browser()
    token = sign_up(admin, "root@example.org")
    make_admin(web.engine, "root@example.org")
    banned = admin.post(
        f"/admin/users/{ada_id}/ban", data={"csrf_token": token}, follow_redirects=False
    )
    assert banned.status_code == 303
    refused = client.post(f"/api/papers/{PAPER}/comments", json={"body": "x"}, headers=ada)
    assert refused.status_code == 403 and "no longer comment" in refused.json()["error"]
    assert "ada" in admin.get("/admin/reports").text
    admin.post(f"/admin/users/{ada_id}/ban", data={"on": "false", "csrf_token": token})
    post(client, ada, "After the ban")


def test_only_admins_moderate(web: WebApp) -> None:
    client = web.browser()
    _, ada = token_of(web, "ada@example.org")
    comment = post(client, ada, "Fine")
    bob = web.browser()
    token = sign_up(bob, "bob@example.org")
    hide = bob.post(f"/admin/comments/{comment['id']}/hide", data={"csrf_token": token})
    assert hide.status_code == 403
    assert web.browser().get("/admin/reports").status_code == 401


# reply mails ------------------------------------------------------------------------------


def reply_mails(web: WebApp) -> list[tuple[str, str]]:
    with web.engine.connect() as conn:
        query = select(outbox.c.key, outbox.c.email).where(outbox.c.kind == MailKind.REPLY)
        return [tuple(row) for row in conn.execute(query)]


def test_replies_are_mailed_to_those_who_opted_in(web: WebApp) -> None:
    client = web.browser()
    ada_id, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    first = post(client, ada, "Question")
    post(client, bob, "Before opting in", parent=first["id"])
    assert reply_mails(web) == []

    browser = web.browser()
    token = sign_up(browser, "carol@example.org")
    browser.post("/profile/reply-mail", data={"on": "true", "csrf_token": token})
    assert "Stop mailing me replies" in browser.get("/profile").text
    with web.engine.begin() as conn:  # ada opted in and verified her address
        mine = users.c.id == ada_id
        conn.execute(update(users).where(mine).values(reply_mail=True))
        conn.execute(update(users).where(mine).values(email_verified_at=datetime.now(UTC)))
    answer = post(client, bob, "Answer", parent=first["id"])
    post(client, ada, "Answering myself", parent=first["id"])
    assert reply_mails(web) == [(f"reply:{answer['id']}", "ada@example.org")]
    with web.engine.connect() as conn:
        query = select(outbox.c.message).where(outbox.c.kind == MailKind.REPLY)
        message = conn.execute(query).scalar_one()
    mail = message_from_string(message, policy=default)
    assert mail["Subject"] == "bob replied to your comment on arXiv:2503.00001"
    text = mail.get_body(("plain",)).get_content()
    assert "Answer" in text and f"/papers/{PAPER}#comment-{answer['id']}" in text


def followed_comment_mails(web: WebApp) -> list[tuple[str, str]]:
    with web.engine.connect() as conn:
        query = (
            select(outbox.c.key, outbox.c.email)
            .where(outbox.c.kind == MailKind.FOLLOWED_COMMENT)
            .order_by(outbox.c.id)
        )
        return [tuple(row) for row in conn.execute(query)]


def verified(web: WebApp, user_id: int, **values: object) -> None:
    with web.engine.begin() as conn:
        change = {"email_verified_at": datetime.now(UTC), **values}
        conn.execute(update(users).where(users.c.id == user_id).values(change))


def test_comments_are_mailed_to_followers_of_the_authors_who_opted_in(web: WebApp) -> None:
    client = web.browser()
    ada_id, ada = token_of(web, "ada@example.org")
    bob_id, bob = token_of(web, "bob@example.org")
    carol_id, _ = token_of(web, "carol@example.org")
    dave_id, _ = token_of(web, "dave@example.org")
    for user_id in (ada_id, bob_id, carol_id, dave_id):
        follow(web.engine, user_id, FollowKind.AUTHOR, "Alan Turing")  # an author of PAPER
    verified(web, ada_id, follow_mail=True)
    verified(web, bob_id, follow_mail=True)
    verified(web, carol_id)  # follows, but did not opt in
    browser = web.browser()  # dave opts in on the Following page, his address unconfirmed
    token = sign_up(browser, "erin@example.org")
    browser.post("/following/comment-mail", data={"on": "true", "csrf_token": token})
    assert "Stop mailing me their comments" in browser.get("/following").text

    first = post(client, bob, "What about sparse graphs?")
    assert followed_comment_mails(web) == [(f"comment:{first['id']}:{ada_id}", "ada@example.org")]
    reply = post(client, ada, "They work", parent=first["id"])
    again = get_comment(web.engine, reply["id"]) or {}
    assert not mail_comment(web.engine, again, web.services.mailer)  # once per comment
    assert followed_comment_mails(web)[1:] == [
        (f"comment:{reply['id']}:{bob_id}", "bob@example.org")
    ]
    with web.engine.connect() as conn:
        query = select(outbox.c.message).where(outbox.c.key == f"comment:{first['id']}:{ada_id}")
        mail = message_from_string(conn.execute(query).scalar_one(), policy=default)
    assert mail["Subject"] == "bob commented on arXiv:2503.00001, by Alan Turing"
    text = mail.get_body(("plain",)).get_content()
    assert "What about sparse graphs?" in text and f"#comment-{first['id']}" in text


def test_a_reply_is_mailed_once_to_a_follower_it_answers(web: WebApp) -> None:
    client = web.browser()
    ada_id, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    follow(web.engine, ada_id, FollowKind.AUTHOR, "Ada Lovelace")
    verified(web, ada_id, follow_mail=True, reply_mail=True)
    question = post(client, ada, "Question")
    answer = post(client, bob, "Answer", parent=question["id"])
    assert reply_mails(web) == [(f"reply:{answer['id']}", "ada@example.org")]
    assert followed_comment_mails(web) == []


# an account's data ------------------------------------------------------------------------


def test_comments_are_in_the_export_and_go_with_the_account(web: WebApp) -> None:
    client = web.browser()
    ada_id, ada = token_of(web, "ada@example.org")
    _, bob = token_of(web, "bob@example.org")
    question = post(client, ada, "Question")
    post(client, ada, "Aside")
    post(client, bob, "Answer", parent=question["id"])
    exported = export_user_data(web.engine, ada_id)["comments"]
    assert [(c["arxiv_id"], c["body"], c["parent_id"]) for c in exported] == [
        (PAPER, "Question", None),
        (PAPER, "Aside", None),
    ]
    assert delete_account(web.engine, ada_id)
    # her words are gone; bob's reply keeps its place under a placeholder
    assert shape(thread(client)) == [(None, "deleted", "", [("bob", "shown", "Answer", [])])]


def test_latex_beside_markup_keeps_its_spaces() -> None:
    alpha, beta = "\N{GREEK SMALL LETTER ALPHA}", "\N{GREEK SMALL LETTER BETA}"
    assert comment_html("see $\\alpha$ **bold** and `x` $\\beta$ end") == (
        f"<p>see {alpha} <strong>bold</strong> and <code>x</code> {beta} end</p>\n"
    )


def test_comment_links_pass_the_sites_allow_list() -> None:
    assert "<a" not in comment_html("[a](https://github.com@evil.example)")
    assert 'href="https://example.org/x"' in comment_html("[b](https://example.org/x)")
