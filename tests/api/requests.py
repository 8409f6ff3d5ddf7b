"""One valid request for every account route, so access tests can try each of them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from workers.api.guard import ACCOUNT_PREFIX

__all__ = ["VALID", "account_routes"]

VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", ""): {},
    ("GET", "/check"): {"params": {"address": ["jane@example.com"]}},
    ("POST", "/check"): {"json": {"addresses": ["jane@example.com"]}},
    ("POST", "/filter"): {"json": {"addresses": ["jane@example.com", "joe@example.com"]}},
    ("GET", "/export"): {},
    ("POST", "/import"): {"files": {"file": ("list.csv", b'jane@example.com;"from a file"\n')}},
    ("POST", "/import/stream"): {"content": b'jane@example.com;"from a stream"\n'},
    ("GET", "/domains"): {},
    ("GET", "/uri-patterns"): {},
    ("POST", "/uri-patterns/check"): {"json": {"body": "see https://example.com/x"}},
    ("GET", "/stats"): {},
    ("POST", "/addresses/block"): {"json": {"email": "jane@example.com", "notes": "asked"}},
    ("POST", "/addresses/unblock"): {"json": {"email": "jane@example.com"}},
    ("POST", "/addresses/allow"): {"json": {"email": "vip@allegro.pl"}},
    ("POST", "/addresses/disallow"): {"json": {"email": "vip@allegro.pl"}},
    ("POST", "/domains/block"): {"json": {"domain": "spam.example", "collection_block": True}},
    ("POST", "/domains/unblock"): {"json": {"domain": "spam.example"}},
    ("POST", "/domains/allow"): {"json": {"domain": "partner.example"}},
    ("POST", "/domains/disallow"): {"json": {"domain": "partner.example"}},
    ("POST", "/allowlist/add"): {"json": {"email": "ceo@example.com"}},
    ("POST", "/allowlist/remove"): {"json": {"email": "ceo@example.com"}},
    ("POST", "/uri-patterns"): {"json": {"pattern": r"^https://example\.com/"}},
    ("POST", "/uri-patterns/remove"): {"json": {"pattern": r"^https://example\.com/"}},
}
"""(method, path after ``/v1/accounts/{account_id}``) -> keyword arguments of a valid request."""


def account_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path after the account) the app documents under the account prefix."""
    prefix = ACCOUNT_PREFIX + "{account_id}"
    return {
        (method.upper(), path[len(prefix) :])
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(prefix)
        for method in operations
    }
