"""The API does what its OpenAPI schema says: schemathesis (all checks) against a live server
on a small real store, signed in with an API token; and the schema says how to sign in and
every error each operation answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from live_server import LiveServer
from schemathesis import BaseSchema, Case
from schemathesis.specs.openapi.checks import unsupported_method

from paperfeed.store.accounts import create_token, create_user
from protocol import unreachable
from web_app import WebApp, build_shared

EXAMPLES = 20  # per operation: 51 operations stay well under a minute
SEED = 18


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> WebApp:
    """An app of its own: schemathesis saves, tags, subscribes and deletes through it; arXiv
    cannot be reached (a paper to fetch is a 400)."""
    return build_shared(tmp_path_factory.mktemp("schema"), routes=[({}, unreachable())])


@pytest.fixture(scope="module")
def server(web: WebApp) -> Iterator[LiveServer]:
    with LiveServer(web.app) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(web: WebApp, server: LiveServer) -> BaseSchema:
    user = create_user(web.engine, "fuzz@example.org", "correct horse")
    token = create_token(web.engine, user["id"])
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    schema.config.update(base_url=server.url)
    schema.config.seed = SEED
    # 400 answers a well-formed request that cannot be done: an id that is not an arXiv id, a
    # wrong password, an empty file; what a schema cannot state (the checks allow 401-429)
    schema.config.checks.positive_data_acceptance.expected_statuses += ["400"]

    @schema.auth()
    class Token:
        """The user's API token on every request (ignored_auth also tries without it)."""

        def get(self, case: Case, context: object) -> str:
            return token

        def set(self, case: Case, data: str, context: object) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    # the token above is the caller's credential: values generated for the security schemes
    # (a random session cookie) would only ever be someone else's or nobody's
    schema.config.generation.update(
        max_examples=EXAMPLES, deterministic=True, with_security_parameters=False
    )
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_api_keeps_to_its_schema(case: Case) -> None:
    # old-style arXiv ids hold a slash (hep-th/9901001), so /api/library/{arxiv_id} takes any
    # path below it: DELETE .../{arxiv_id}/note reaches DELETE /api/library/{arxiv_id}, which
    # answers 404 or 422 for a paper id that is not one, where the check wants a 405
    overlapping = "{arxiv_id}" in case.path or "{name}" in case.path
    case.call_and_validate(excluded_checks=[unsupported_method] if overlapping else [])


def test_the_schema_says_how_to_sign_in_and_every_error(web: WebApp) -> None:
    openapi = TestClient(web.app).get("/api/openapi.json").json()
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "paperfeed_session",
        "description": schemes["session"]["description"],
    }
    assert (schemes["apiToken"]["type"], schemes["apiToken"]["scheme"]) == ("http", "bearer")
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
    }
    assert len(operations) == 52
    library = operations["PUT /api/library/{arxiv_id}/note"]
    assert library["security"] == [{"session": []}, {"apiToken": []}]
    assert set(library["responses"]) == {"200", "400", "401", "403", "404", "413", "422"}
    error = {"$ref": "#/components/schemas/ApiError"}
    assert library["responses"]["422"]["content"]["application/json"]["schema"] == error
    subscribe = operations["POST /api/subscriptions"]
    assert {} in subscribe["security"]  # anyone may subscribe; signed in, the address is known
    assert "429" in subscribe["responses"]
    assert "security" not in operations["GET /api/papers/search"]
    assert all("422" in operation["responses"] for operation in operations.values())
    assert "HTTPValidationError" not in openapi["components"]["schemas"]  # not our 422's shape


def test_a_405_names_every_method_of_the_path(web: WebApp) -> None:
    """Each method of a path is its own route: the ``Allow`` of a 405 names them all."""
    response = TestClient(web.app).request("OPTIONS", "/api/papers/2503.00001/upvote")
    assert (response.status_code, response.headers["allow"]) == (405, "DELETE, POST")
    assert response.json() == {"error": "Method Not Allowed"}
