"""Bounded, malformed and unknown requests: always a JSON error with a code and a message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth, key_settings
from tests.api.memory import MemoryLists
from workers.api.app import create_app
from workers.api.guard import BODY_LIMITS, DEFAULT_BODY_LIMIT
from workers.api.models import MAX_CHECK, MAX_FILTER
from workers.api.openapi import DOCUMENT_PATH, document_text
from workers.client.commands import CommandError
from workers.domain.files import MAX_IMPORT_BYTES

BASE = "/v1/accounts/acme"
H = auth("acme")
JSON = {**H, "content-type": "application/json"}


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_body_over_the_default_bound_is_413(api: TestClient, lists: MemoryLists) -> None:
    """A write body over 64 KiB is refused from its Content-Length, nothing written."""
    body = b'{"email": "a@example.com", "notes": "' + b"x" * DEFAULT_BODY_LIMIT + b'"}'
    _error(api.post(BASE + "/addresses/block", content=body, headers=JSON), 413, "too_large")
    assert lists.commands == []


def test_streamed_body_over_the_bound_is_413(api: TestClient) -> None:
    """A chunked body without Content-Length is cut off once it passes the bound."""

    def chunks() -> Iterator[bytes]:
        yield b'{"addresses": ['
        for _ in range(BODY_LIMITS["filter"] // 20_000 + 2):
            yield b'"a@example.com",' * 1250
        yield b'"a@example.com"]}'

    response = api.post(BASE + "/filter", content=chunks(), headers=JSON)
    _error(response, 413, "too_large")


def test_a_batch_over_its_bound_is_413(api: TestClient) -> None:
    """Check takes at most 1000 addresses, filter at most 100,000: more is 413."""
    too_many = {"addresses": ["a@example.com"] * (MAX_CHECK + 1)}
    _error(api.post(BASE + "/check", json=too_many, headers=H), 413, "too_large")
    params = {"address": ["a@example.com"] * (MAX_CHECK + 1)}
    _error(api.get(BASE + "/check", params=params, headers=H), 413, "too_large")
    group = {"addresses": ["a@b.io"] * (MAX_FILTER + 1)}
    _error(api.post(BASE + "/filter", json=group, headers=H), 413, "too_large")


def test_a_filter_at_its_bound_is_served(api: TestClient) -> None:
    """A group of exactly 100,000 addresses fits under the filter's body bound."""
    group = {"addresses": [f"user{i:06d}@example.com" for i in range(MAX_FILTER)]}
    response = api.post(BASE + "/filter", json=group, headers=H)
    assert response.status_code == 200
    assert len(response.json()["allowed"]) == MAX_FILTER


def test_an_import_over_its_bound_is_413(api: TestClient, lists: MemoryLists) -> None:
    """A CSV over 10 MiB is refused whole (no partial import)."""
    data = b"a@example.com\n" * (MAX_IMPORT_BYTES // 14 + 10)
    response = api.post(BASE + "/import", files={"file": ("l.csv", data)}, headers=H)
    _error(response, 413, "too_large")
    assert lists.commands == []


def test_malformed_json_is_bad_json(api: TestClient) -> None:
    """A body that is not JSON is 422 bad_json."""
    _error(api.post(BASE + "/check", content=b"{nope", headers=JSON), 422, "bad_json")


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/check", {"addresses": "a@example.com"}, "body.addresses"),
        ("/check", {"addresses": []}, "body.addresses"),
        ("/check", {"addresses": ["a@example.com"], "stream": "carrier-pigeon"}, "body.stream"),
        ("/addresses/block", {}, "body.email"),
        ("/addresses/block", {"email": "a@example.com", "reason": 5}, "body.reason"),
        ("/addresses/block", {"email": "a@example.com", "notes": "n" * 1001}, "body.notes"),
        ("/domains/block", {"domain": "x.example", "send_block": "yes"}, "body.send_block"),
        ("/uri-patterns/check", {"body": 7}, "body.body"),
    ],
)
def test_invalid_fields_name_their_path(
    api: TestClient, path: str, body: dict[str, Any], where: str
) -> None:
    """A body of the wrong shape is 422 invalid_request, naming the field in the message."""
    error = _error(api.post(BASE + path, json=body, headers=H), 422, "invalid_request")
    assert error["message"].startswith(where)
    assert error["details"][0]["path"] == where


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/addresses/block", {"email": "not an address"}, "invalid_address"),
        ("/domains/block", {"domain": "exa mple.com"}, "invalid_domain"),
        ("/domains/block", {"domain": "x.example", "send_block": False}, "schema"),
        ("/uri-patterns", {"pattern": "^https://(x"}, "invalid_pattern"),
    ],
)
def test_domain_refusals_keep_their_code(
    api: TestClient, lists: MemoryLists, path: str, body: dict[str, Any], code: str
) -> None:
    """What the worker would refuse is refused up front with the domain's own error code."""
    _error(api.post(BASE + path, json=body, headers=H), 422, code)
    assert lists.commands == []


def test_invalid_account_id_is_422_for_the_platform_key(api: TestClient) -> None:
    """An account id the product cannot hold is a validation error, even for the admin key."""
    response = api.get("/v1/accounts/bad%20id/stats", headers=auth("*"))
    _error(response, 422, "invalid_request")


def test_unknown_route_and_wrong_method_are_json(api: TestClient) -> None:
    """404 and 405 come in the same JSON shape."""
    _error(api.get("/nowhere"), 404, "not_found")
    _error(api.get(BASE + "/nowhere", headers=H), 404, "not_found")
    _error(api.delete(BASE + "/stats", headers=H), 405, "method_not_allowed")


def test_import_without_a_file_is_422(api: TestClient) -> None:
    """The import needs a multipart file part."""
    response = api.post(BASE + "/import", data={"format": "csv"}, headers=H)
    _error(response, 422, "invalid_request")


def test_openapi_document_is_served_and_checked_in(api: TestClient) -> None:
    """/openapi.json equals docs/openapi.json (regenerate: suppressor openapi)."""
    served = api.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == api.app.openapi()  # type: ignore[attr-defined]
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == document_text(api.app)  # type: ignore[arg-type]


def test_openapi_documents_keys_errors_and_bounds(api: TestClient) -> None:
    """The document declares both key schemes, the JSON error shape and the batch bounds."""
    doc = api.app.openapi()  # type: ignore[attr-defined]
    assert set(doc["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    block = doc["paths"]["/v1/accounts/{account_id}/addresses/block"]["post"]
    assert {"200", "202", "401", "403", "413", "422"} <= set(block["responses"])
    assert "ErrorBody" in str(block["responses"]["403"])
    check = doc["components"]["schemas"]["CheckRequest"]["properties"]["addresses"]
    assert check["maxItems"] == MAX_CHECK


class _FailingWriter(MemoryLists):
    """A writer whose broker is gone, or that fails in an unexpected way."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def submit_many(self, *_args: Any, **_kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (CommandError("could not write to suppression-commands"), 503, "broker_unavailable"),
        (RuntimeError("boom"), 500, "internal"),
    ],
)
def test_failures_behind_the_api_are_json(error: Exception, status: int, code: str) -> None:
    """A broker that does not take the command is 503; anything unexpected a JSON 500."""
    failing = _FailingWriter(error)
    app = create_app(key_settings(), client=failing, writer=failing)
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.post(BASE + "/addresses/block", json={"email": "a@b.io"}, headers=H)
    error_body = _error(response, status, code)
    assert "boom" not in error_body["message"]
