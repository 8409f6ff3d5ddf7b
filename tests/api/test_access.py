"""API keys and tenant isolation: every account route, tried with every kind of key."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import KEYS, auth
from tests.api.memory import MemoryLists
from tests.api.requests import VALID, account_routes
from workers.api.auth import KeyRing, hash_key, key_from_headers

ROUTES = sorted(VALID)


def _call(api: TestClient, account: str, route: tuple[str, str], **extra: Any) -> Any:
    method, rest = route
    kwargs = {**VALID[route], **extra}
    return api.request(method, f"/v1/accounts/{account}{rest}", **kwargs)


def test_the_table_covers_every_account_route(api: TestClient) -> None:
    """Every account route the app serves has a request in the table the tests below use."""
    served = account_routes(api.app)  # type: ignore[arg-type]
    assert served == set(VALID)
    assert len(served) >= 20


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1] or '/'}")
def test_own_key_opens_every_route(api: TestClient, route: tuple[str, str]) -> None:
    """A valid request with the account's own key succeeds on every route."""
    response = _call(api, "acme", route, headers=auth("acme"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1] or '/'}")
def test_another_accounts_key_is_refused_everywhere(
    api: TestClient, lists: MemoryLists, route: tuple[str, str]
) -> None:
    """A key of beta on acme's routes answers 403 JSON and neither reads nor writes anything."""
    response = _call(api, "acme", route, headers=auth("beta"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert lists.commands == []
    assert "jane" not in response.text


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1] or '/'}")
def test_a_tenant_key_never_opens_the_platform_account(
    api: TestClient, lists: MemoryLists, route: tuple[str, str]
) -> None:
    """acme's key on the platform account '*' answers 403 (only the platform key opens it)."""
    response = _call(api, "*", route, headers=auth("acme"))
    assert response.status_code == 403
    assert lists.commands == []


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1] or '/'}")
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Basic " + KEYS["acme"]},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer " + hash_key(KEYS["acme"])},  # the digest is not the key
    ],
    ids=["none", "bearer-unknown", "header-unknown", "basic", "empty-bearer", "digest"],
)
def test_missing_or_invalid_key_is_401(
    api: TestClient, lists: MemoryLists, route: tuple[str, str], headers: dict[str, str]
) -> None:
    """Without a valid key every route answers 401 JSON with a Bearer challenge."""
    response = _call(api, "acme", route, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    assert lists.commands == []


def test_refusal_comes_before_reading_a_malformed_or_huge_body(api: TestClient) -> None:
    """A wrong key gets 403 even for broken JSON or an oversized body: nothing is parsed first."""
    broken = api.post(
        "/v1/accounts/acme/check",
        content=b"{not json",
        headers={**auth("beta"), "content-type": "application/json"},
    )
    huge = api.post(
        "/v1/accounts/acme/addresses/block", content=b"x" * 200_000, headers=auth("beta")
    )
    assert (broken.status_code, huge.status_code) == (403, 403)


def test_x_api_key_header_is_accepted(api: TestClient) -> None:
    """The key may come in X-API-Key instead of a Bearer token."""
    response = api.get("/v1/accounts/acme/stats", headers={"X-API-Key": KEYS["acme"]})
    assert response.status_code == 200


def test_platform_key_opens_every_account_and_the_platform(api: TestClient) -> None:
    """The key configured for '*' is the administrator's: it opens any account and '*'."""
    block = api.post(
        "/v1/accounts/*/domains/block", json={"domain": "spamhaus.example"}, headers=auth("*")
    )
    assert block.status_code == 200
    check = api.get(
        "/v1/accounts/beta/check", params={"address": "x@spamhaus.example"}, headers=auth("*")
    )
    assert check.json()["results"][0]["rule"] == "platform_domain_block"


def test_one_accounts_writes_are_invisible_to_another(api: TestClient) -> None:
    """A block by acme does not suppress the address for beta, and beta's export is empty."""
    api.post("/v1/accounts/acme/addresses/block", json={"email": "j@x.com"}, headers=auth("acme"))
    check = api.get("/v1/accounts/beta/check", params={"address": "j@x.com"}, headers=auth("beta"))
    assert check.json()["results"][0]["allowed"] is True
    export = api.get("/v1/accounts/beta/export", headers=auth("beta"))
    assert "j@x.com" not in export.text


def test_health_and_openapi_need_no_key(api: TestClient) -> None:
    """/healthz and /openapi.json are public; they say nothing about any account's lists."""
    assert api.get("/healthz").status_code == 200
    assert api.get("/openapi.json").status_code == 200


def test_keys_are_configured_as_sha256_digests() -> None:
    """A ring holds digests only, finds the account of a key, and knows no other key."""
    ring = KeyRing.parse(f" acme:{hash_key('s3cret')} , beta:{hash_key('other').upper()} ,")
    assert hash_key("s3cret") == hashlib.sha256(b"s3cret").hexdigest()
    assert ring.account_for("s3cret") == "acme"
    assert ring.account_for("other") == "beta"
    assert ring.account_for("S3CRET") is None
    assert ring.account_for("") is None
    assert ring.account_for("x" * 10_000) is None
    assert all(b"s3cret" not in digest for _account, digest in ring.entries)


@pytest.mark.parametrize(
    "text", ["acme:abc", "acme:" + "g" * 64, ":" + "a" * 64, "a" * 64, "bad account:" + "a" * 64]
)
def test_a_bad_key_configuration_is_refused(text: str) -> None:
    """A pair that is not account:64-hex-digits is a configuration error, not a silent skip."""
    with pytest.raises(ValueError, match="API key pair 1"):
        KeyRing.parse(text)


def test_bearer_token_wins_over_the_header() -> None:
    """When both are sent the Authorization header decides; a non-Bearer scheme is no key."""
    assert key_from_headers("Bearer a", "b") == "a"
    assert key_from_headers("Token a", "b") is None
    assert key_from_headers(None, " b ") == "b"
    assert key_from_headers(None, None) is None
