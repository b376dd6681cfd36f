"""The MCP server as an agent meets it: the SDK's own client against ``paperfeed mcp`` run as a
real process, on stdio and on Streamable HTTP, over the web tests' store (hash vectors served
by an OpenAI-compatible endpoint, so nothing heavy is embedded)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from conftest import free_port, wait_for
from embedding_server import EmbeddingServer
from hash_embedder import HashEmbedder
from paperfeed.store import accounts, subscriptions
from paperfeed.store.activity import set_saved
from paperfeed.store.database import open_store
from paperfeed.store.library import set_tags
from web_app import CHEAP_HASHER, NEWEST, _template

PUBLIC = ["search", "similar", "paper", "daily", "trending"]
PERSONAL = ["library_list", "library_save", "library_tag", "recommendations", "subscriptions"]
SIGN_IN = "This tool needs a signed-in user"
Session = Callable[[ClientSession], Awaitable[Any]]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A home holding the web tests' papers, indexed, and a verified user (``ada``) with an
    API token, two saved papers and a digest subscription; yields the server's environment
    and the token."""
    folder = tmp_path_factory.mktemp("mcp") / "home"
    template = _template()
    (folder / "index").mkdir(parents=True)
    shutil.copy(template / "store.db", folder / "paperfeed.db")
    for part in ("lexical", "dense"):
        shutil.copytree(template / part, folder / "index" / part)
    engine = open_store(f"sqlite:///{folder / 'paperfeed.db'}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "HASHER", CHEAP_HASHER)
        ada = accounts.create_user(engine, "ada@example.org", "correct horse")
    accounts.verify_email(engine, ada["id"], ada["email"])
    token = accounts.create_token(engine, ada["id"], "mcp")
    set_tags(engine, ada["id"], "2503.00001", ["graphs"])
    set_saved(engine, ada["id"], "2503.00404", True)
    subscriptions.subscribe(engine, ada["email"], kind="trending", confirmed=True)
    engine.dispose()
    with EmbeddingServer(HashEmbedder()) as embeddings:
        yield {
            "PAPERFEED_HOME": str(folder),
            "PAPERFEED_EMBEDDING_BACKEND": "openai",
            "PAPERFEED_EMBEDDING_URL": embeddings.url,
            "PAPERFEED_EMBEDDING_MODEL": HashEmbedder.model,
            "token": token,
        }


def environment(home: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    return clean | {k: v for k, v in home.items() if k.startswith("PAPERFEED_")}


@pytest.fixture(scope="module")
def http_url(home: dict[str, str]) -> Iterator[str]:
    """``paperfeed mcp --http`` serving the home on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "paperfeed", "mcp", "--http", "--port", str(port)]
    server = subprocess.Popen(command, env=environment(home), stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        # a loaded machine takes its time to import the server (~3 s of CPU)
        wait_for(lambda: _answers(url) or server.poll() is not None, timeout=90)
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=10)


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


@asynccontextmanager
async def over_stdio(home: dict[str, str], *args: str) -> AsyncIterator[ClientSession]:
    command = StdioServerParameters(
        command=sys.executable, args=["-m", "paperfeed", "mcp", *args], env=environment(home)
    )
    async with stdio_client(command) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def over_http(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with (
        create_mcp_http_client(headers=headers) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def run(connect: Callable[[], Any], steps: Session) -> Any:
    """``steps`` in one session that ``connect()`` opens; what they return."""

    async def main() -> Any:
        async with connect() as session:
            return await steps(session)

    return anyio.run(main)


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """A tool's JSON answer; fails the test on a tool error."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def refusal(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The plain words of a tool error."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert "Traceback" not in text
    return text


def ids(answer: dict[str, Any]) -> list[str]:
    return [paper["id"] for paper in answer["papers"]]


def test_stdio_lists_tools_answers_each_public_one_and_reads_papers(home: dict[str, str]) -> None:
    async def steps(session: ClientSession) -> dict[str, Any]:
        return {
            "tools": (await session.list_tools()).tools,
            "templates": (await session.list_resource_templates()).resource_templates,
            "markdown": (await session.read_resource("paper://2503.00001")).contents,
            "search": await call(session, "search", query="graph networks", limit=3),
            "filtered": await call(
                session, "search", query="surface codes", category="quant-ph", mode="lexical"
            ),
            "by_upvotes": await call(session, "search", category="cs.LG", sort="upvotes", limit=2),
            "dated": await call(
                session, "search", query="graph", mode="lexical", date_from="2025-03-10"
            ),
            "similar": await call(session, "similar", arxiv_id="2503.00001", limit=3),
            "paper": await call(session, "paper", arxiv_id="arXiv:2503.00001v2"),
            "daily": await call(session, "daily", day="2025-03-03"),
            "newest": await call(session, "daily", limit=2),
            "trending": await call(session, "trending", period="week", limit=3),
        }

    answers = run(lambda: over_stdio(home), steps)
    tools, templates = answers["tools"], answers["templates"]
    assert [tool.name for tool in tools] == PUBLIC + PERSONAL
    assert all(tool.description for tool in tools)
    search = next(tool for tool in tools if tool.name == "search").input_schema["properties"]
    assert search["mode"]["enum"] == ["hybrid", "lexical", "dense"]
    assert search["limit"]["maximum"] == 50
    assert [(t.uri_template, t.mime_type) for t in templates] == [
        ("paper://{arxiv_id}", "text/markdown")
    ]

    assert sorted(ids(answers["search"])[:2]) == ["2503.00001", "2503.00002"]
    assert ids(answers["filtered"]) == ["2503.00102"]
    assert ids(answers["by_upvotes"]) == ["2503.00201", "2503.00403"]
    assert ids(answers["dated"]) == ["2503.00404"]
    assert len(answers["similar"]["papers"]) == 3
    assert "2503.00001" not in ids(answers["similar"])
    paper = answers["paper"]
    assert paper["title"] == "Graph neural networks at scale"
    assert paper["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert paper["abstract"] == "Message passing between graph nodes on billions of edges."
    assert paper["upvotes"] == 3
    assert paper["links"]["pdf"] == "https://arxiv.org/pdf/2503.00001"
    assert paper["links"]["code"] == "https://github.com/deepthought/gnn-scale"
    assert paper["markdown"] == "paper://2503.00001"
    assert answers["daily"]["day"] == "2025-03-03"
    assert ids(answers["daily"]) == ["2503.00001", "2503.00003", "2503.00002"]
    assert answers["newest"]["day"] == NEWEST.isoformat()
    assert (answers["newest"]["total"], len(answers["newest"]["papers"])) == (5, 2)
    assert ids(answers["trending"]) == ["2503.00201", "2503.00102", "2503.00403"]

    contents = answers["markdown"]
    assert contents[0].mime_type == "text/markdown"
    assert contents[0].text.splitlines()[:5] == [
        "# Graph neural networks at scale",
        "",
        "- **Authors:** Ada Lovelace, Alan Turing",
        "- **arXiv:** [2503.00001](https://arxiv.org/abs/2503.00001) ([PDF](https://arxiv.org/pdf/2503.00001))",
        "- **Published:** 2025-03-03",
    ]
    assert "## Abstract\n\nMessage passing between graph nodes" in contents[0].text
    assert "<https://github.com/deepthought/gnn-scale>" in contents[0].text


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("paper", {"arxiv_id": "2501.99999"}, "2501.99999 is not in this feed."),
        ("paper", {"arxiv_id": "not an id"}, "not an arXiv id: 'not an id'"),
        ("similar", {"arxiv_id": "x" * 301}, "arxiv_id: String should have at most 300"),
        ("search", {"query": "graph " * 2000}, "query: String should have at most 2000"),
        ("search", {"query": "graph", "limit": -1}, "limit: Input should be greater than"),
        ("search", {"query": "graph", "date_from": "2025-02-30"}, "date_from: Input should be"),
        ("search", {"query": "graph", "mode": "psychic"}, "mode: Input should be 'hybrid'"),
        ("search", {}, "Give words to search for, or a category, author or organisation."),
        ("daily", {"day": "yesterday"}, "day: Input should be a valid date"),
        ("trending", {"limit": 10_000}, "limit: Input should be less than or equal to 50"),
        ("library_list", {}, SIGN_IN),
        ("library_save", {"arxiv_id": "2503.00001"}, SIGN_IN),
        ("subscriptions", {}, SIGN_IN),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
def test_hostile_arguments_are_tool_errors_in_plain_words(
    home: dict[str, str], http_url: str, tool: str, arguments: dict[str, Any], says: str
) -> None:
    async def steps(session: ClientSession) -> str:
        told = await refusal(session, tool, **arguments)
        await call(session, "trending", limit=1)  # the server answers on
        return told

    assert says in run(lambda: over_http(http_url), steps)


def test_an_unknown_paper_resource_is_an_error_not_a_crash(http_url: str) -> None:
    async def steps(session: ClientSession) -> Any:
        with pytest.raises(MCPError) as raised:
            await session.read_resource("paper://2501.99999")
        return str(raised.value)

    assert "2501.99999 is not in this feed." in run(lambda: over_http(http_url), steps)


def test_http_with_a_token_acts_for_its_user(home: dict[str, str], http_url: str) -> None:
    async def steps(session: ClientSession) -> dict[str, Any]:
        return {
            "before": await call(session, "library_list"),
            "saved": await call(session, "library_save", arxiv_id="2503.00201"),
            "tagged": await call(session, "library_tag", arxiv_id="2503.00201", tags=["RL", "rl"]),
            "unknown": await refusal(session, "library_save", arxiv_id="2501.99999"),
            "too_many": await refusal(
                session, "library_tag", arxiv_id="2503.00201", tags=[str(n) for n in range(21)]
            ),
            "after": await call(session, "library_list", tag="RL"),
            "recommended": await call(session, "recommendations", limit=5),
            "subscriptions": await call(session, "subscriptions"),
        }

    answers = run(lambda: over_http(http_url, home["token"]), steps)
    assert ids(answers["before"]) == ["2503.00404", "2503.00001"]
    assert answers["before"]["papers"][1]["tags"] == ["graphs"]
    assert answers["before"]["tags"] == [{"name": "graphs", "papers": 1}]
    assert answers["saved"] == {"id": "2503.00201", "saved": True}
    assert answers["tagged"] == {"id": "2503.00201", "saved": True, "tags": ["RL"]}
    assert "2501.99999 is not in this feed." in answers["unknown"]
    assert "tags: List should have at most 20 items" in answers["too_many"]
    assert ids(answers["after"]) == ["2503.00201"]
    recommended = answers["recommended"]["papers"]
    assert recommended
    assert {paper["because"]["id"] for paper in recommended} <= {
        "2503.00001",
        "2503.00404",
        "2503.00201",
    }
    assert [
        (s["email"], s["kind"], s["status"]) for s in answers["subscriptions"]["subscriptions"]
    ] == [("ada@example.org", "trending", "active")]


def test_http_refuses_an_unknown_token_as_the_json_api_does(http_url: str) -> None:
    response = httpx.post(
        http_url,
        headers={"Authorization": "Bearer pf_forged", "Accept": "application/json"},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
    )
    assert (response.status_code, response.json()) == (401, {"error": "Unknown API token."})


def test_stdio_with_a_token_acts_for_its_user(home: dict[str, str]) -> None:
    async def steps(session: ClientSession) -> Any:
        return await call(session, "library_list", limit=1)

    answer = run(lambda: over_stdio(home, "--token", home["token"]), steps)
    assert len(answer["papers"]) == 1


def test_stdio_with_an_unknown_token_stops_with_one_line(home: dict[str, str]) -> None:
    stopped = subprocess.run(
        [sys.executable, "-m", "paperfeed", "mcp", "--token", "pf_forged"],
        env=environment(home),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert (stopped.returncode, stopped.stderr) == (
        1,
        "Error: unknown API token (make one with paperfeed admin token)\n",
    )
    assert stopped.stdout == ""  # nothing on the protocol's channel
