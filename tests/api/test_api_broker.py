"""The API against the real broker and worker: writes go through Kafka, reads see them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import KafkaException
from fastapi.testclient import TestClient

from tests.api.conftest import auth, key_settings
from workers.api.app import create_app
from workers.client.commands import CommandWriter
from workers.client.sender import SenderClient
from workers.devkit.worker_process import WorkerProcess
from workers.settings import Settings

pytestmark = pytest.mark.broker

BASE = "/v1/accounts/acme"
H = auth("acme")


@pytest.fixture
def live(topics: Settings, start_worker: Callable[..., WorkerProcess]) -> Iterator[TestClient]:
    """The app over a real SenderClient and CommandWriter on the test's topics, a worker running."""
    start_worker()
    settings = key_settings(topics)
    client = SenderClient(settings).start()
    writer = CommandWriter(settings, client)
    try:
        assert client.wait_ready(30)
        with TestClient(create_app(settings, client=client, writer=writer)) as api:
            yield api
    finally:
        writer.close()
        client.stop()


def _rule(api: TestClient, address: str) -> str:
    response = api.get(BASE + "/check", params={"address": address}, headers=H)
    assert response.status_code == 200, response.text
    rule: str = response.json()["results"][0]["rule"]
    return rule


def test_writes_are_visible_to_the_next_read(live: TestClient) -> None:
    """Each write answers once the worker's record reached the API's own view (read your writes)."""
    for path, body in [
        ("", None),
        ("/addresses/block", {"email": "jane@example.com", "notes": "asked by phone"}),
        ("/domains/block", {"domain": "spam.example"}),
        ("/allowlist/add", {"email": "ceo@spam.example"}),
    ]:
        response = live.post(BASE + path, json=body, headers=H)
        assert response.status_code == 200, response.text
        assert response.json()["visible"] is True
    assert _rule(live, "jane@example.com") == "suppressed"
    assert _rule(live, "x@allegro.pl") == "domain_block"  # the default pool, from account.create
    assert _rule(live, "x@spam.example") == "domain_block"
    assert _rule(live, "ceo@spam.example") == "recipient_allowlist"
    response = live.post(BASE + "/addresses/unblock", json={"email": "jane@example.com"}, headers=H)
    assert response.json()["visible"] is True
    assert _rule(live, "jane@example.com") == "default"


def test_import_then_export_through_the_worker(live: TestClient) -> None:
    """An uploaded CSV is blocked row by row by the worker and comes back in the export."""
    csv = b'a@example.com;"first"\nbroken\nb@example.com;;10\n'
    response = live.post(BASE + "/import", files={"file": ("l.csv", csv)}, headers=H)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["invalid"], report["not_visible"]) == (2, 1, [])
    assert report["invalid_rows"][0]["line"] == 2
    lines = live.get(BASE + "/export", headers=H).text.split("\r\n")
    cells = [line.split(";") for line in lines[1:] if line]
    rows = sorted([c[0], c[3], c[7]] for c in cells)  # email, reason, notes
    assert rows == [["a@example.com", "2", "first"], ["b@example.com", "10", ""]]
    health = live.get("/healthz").json()
    assert health["ready"] is True and health["lag"] == 0


def _leaders_elected(settings: Settings, timeout: float = 20.0) -> None:
    """Wait until a client can start on just-created topics.

    Right after creation a partition may have no leader yet and the feed's first offset
    request fails with NOT_LEADER_FOR_PARTITION (the feed does not retry that itself).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            SenderClient(settings).start().stop()
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_app_starts_its_own_client_and_becomes_ready(topics: Settings) -> None:
    """Built from settings alone, the app starts a client when it serves; /healthz turns ready."""
    _leaders_elected(topics)
    with TestClient(create_app(key_settings(topics))) as api:
        deadline = time.monotonic() + 30
        while api.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, api.get("/healthz").text
            time.sleep(0.1)
        stats = api.get(BASE + "/stats", headers=H)
        assert stats.status_code == 200
        assert stats.json()["block"] == 0
