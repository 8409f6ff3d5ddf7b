"""Fixtures for API tests: keys for two accounts and the platform, an in-memory app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.memory import MemoryLists
from workers.api.app import create_app
from workers.api.auth import hash_key
from workers.settings import Settings

KEYS = {"acme": "key-of-acme", "beta": "key-of-beta", "*": "key-of-the-platform"}


def auth(account: str) -> dict[str, str]:
    """The header that presents ``account``'s key."""
    return {"Authorization": f"Bearer {KEYS[account]}"}


def key_settings(base: Settings | None = None) -> Settings:
    """Settings whose API keys are the hashed ``KEYS``."""
    text = ",".join(f"{account}:{hash_key(key)}" for account, key in KEYS.items())
    return (base or Settings()).with_(api_keys=text)


@pytest.fixture
def lists() -> MemoryLists:
    """The in-memory sender view and command writer behind the app."""
    return MemoryLists()


@pytest.fixture
def api(lists: MemoryLists) -> Iterator[TestClient]:
    """An HTTP client for the app over the in-memory lists."""
    with TestClient(create_app(key_settings(), client=lists, writer=lists)) as client:
        yield client
