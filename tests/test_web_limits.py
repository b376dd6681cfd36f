"""Limits on every body, query and parameter: an oversized or out-of-range input is a 413 or
422 with the API's error shape, never a 500 and never a body read into memory whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from lxml import html

from paperfeed.store.library import MAX_NOTE
from web_app import WebApp, build, form_token, sign_up

MB = 2**20


@pytest.fixture(scope="module")
def server(site: WebApp) -> Iterator[LiveServer]:
    with LiveServer(site.app) as server:
        yield server


def streamed(megabytes: int) -> Iterator[bytes]:
    """A JSON body of ``megabytes`` MB, made as it is sent (chunked: no Content-Length)."""
    yield b'{"email": "'
    for _ in range(megabytes):
        yield b"a" * MB
    yield b'"}'


def test_a_100_mb_json_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    response = httpx.post(
        f"{server.url}/api/subscriptions",
        content=streamed(100),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json() == {"error": "The request body is over 1 MB: send less at once."}


def test_a_declared_length_over_the_limit_is_refused_at_once(server: LiveServer) -> None:
    body = b'{"email": "' + b"a" * (2 * MB) + b'"}'
    response = httpx.post(
        f"{server.url}/api/subscriptions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert (response.status_code, list(response.json())) == (413, ["error"])


def test_a_large_form_post_to_a_page_is_a_413_page(tmp_path: Path) -> None:
    browser = build(tmp_path).browser()
    token = form_token(browser.get("/login").text)
    response = browser.post(
        "/login", data={"email": "a" * (2 * MB), "password": "x", "csrf_token": token}
    )
    assert response.status_code == 413
    assert "over 1 MB" in html.fromstring(response.text).xpath("string(//p[@class='error'])")


def test_a_50_mb_library_import_is_refused(tmp_path: Path) -> None:
    browser = build(tmp_path).browser()
    token = sign_up(browser)
    response = browser.post(
        "/api/library/import",
        files={"file": ("refs.bib", b"%" * (50 * MB))},
        headers={"x-csrf-token": token},
    )
    assert (response.status_code, list(response.json())) == (413, ["error"])


# queries and parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "/api/library?offset=9223372036854775808",
        "/api/library?offset=-1",
        "/api/library?limit=9223372036854775808",
        "/api/daily_papers?limit=0",
        "/api/papers/search?q=x&page=9223372036854775808",
        "/api/papers/search?q=x&page=0",
        f"/api/papers/search?q={'x' * 2_001}",
        "/api/papers/search?q=x&from=0",
        "/api/papers/2503.00001/similar?limit=51",
        "/api/papers/trending?limit=99999999999999999999999",
    ],
)
def test_out_of_range_parameters_are_a_json_422(site: WebApp, query: str) -> None:
    response = site.browser().get(query)  # /api/library: parameters are checked before users
    assert response.status_code == 422, response.text[:200]
    assert list(response.json()) == ["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/papers?page=9223372036854775808",
        "/papers/date/0",
        "/search?q=x&page=9223372036854775808",
        f"/search?q={'x' * 2_001}",
        "/feeds/search.atom?q=x&page=9223372036854775808",
    ],
)
def test_out_of_range_parameters_of_pages_are_a_422_page(site: WebApp, path: str) -> None:
    response = site.browser().get(path)
    assert response.status_code in (404, 422), response.text[:200]
    assert "Traceback" not in response.text


def test_the_note_limit_the_schema_states_is_the_one_the_server_keeps(tmp_path: Path) -> None:
    web = build(tmp_path)
    browser = web.browser()
    token = sign_up(browser)
    schema = browser.get("/api/openapi.json").json()
    assert schema["components"]["schemas"]["NoteText"]["properties"]["text"]["maxLength"] == (
        MAX_NOTE
    )
    headers = {"x-csrf-token": token}
    kept = browser.put(
        "/api/library/2503.00001/note", json={"text": "n" * MAX_NOTE}, headers=headers
    )
    assert kept.status_code == 200
    refused = browser.put(
        "/api/library/2503.00001/note", json={"text": "n" * (MAX_NOTE + 1)}, headers=headers
    )
    assert (refused.status_code, list(refused.json())) == (422, ["error"])


def test_every_query_parameter_and_string_is_bounded_in_the_schema(site: WebApp) -> None:
    schema = TestClient(site.app).get("/api/openapi.json").json()
    unbounded = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                found = _unbounded(parameter["schema"], schema)
                unbounded += [f"{method.upper()} {path} {parameter['name']}"] if found else []
    for name, component in schema["components"]["schemas"].items():
        for field, value in component.get("properties", {}).items():
            if not name.endswith(("Error", "ValidationError")) and _unbounded(value, schema):
                unbounded.append(f"{name}.{field}")
    assert not unbounded, "\n".join(unbounded)


def _unbounded(value: dict, schema: dict) -> bool:
    if "anyOf" in value:
        return any(_unbounded(v, schema) for v in value["anyOf"] if v.get("type") != "null")
    if value.get("type") == "integer":
        return "maximum" not in value or "minimum" not in value
    if value.get("type") == "string":
        return not {"maxLength", "enum", "format", "contentMediaType"} & set(value)
    if value.get("type") == "array":
        return "maxItems" not in value or _unbounded(value["items"], schema)
    return False
