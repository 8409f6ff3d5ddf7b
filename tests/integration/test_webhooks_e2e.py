"""Provider webhooks end to end: the real API, the real broker, the worker, ``suppressions``.

Every documented payload fixture goes through its route into ``delivery-events`` and the
worker; the test reads what lands on ``suppressions``. A retried call changes nothing,
and a broker outage answers 5xx until the broker is back and the provider retries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from suppressor_client.records import decode_record
from suppressor_client.types import ListKey, ListRecord

from tests.api.webhook_support import Calls, event_ids, webhook_app, webhook_settings
from tests.ingest.webhooks.signing import FIXTURES, fixture_bytes
from tests.kafka_helpers import Record, compact, read_topic
from workers.devkit.local_broker import LocalBroker
from workers.devkit.net_ports import free_port_pair
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.topics import DELIVERY_EVENTS, SUPPRESSIONS, ensure_topics
from workers.settings import Settings

pytestmark = pytest.mark.broker

CASES: dict[str, dict[str, int | None]] = json.loads((FIXTURES / "cases.json").read_text())
EXPECTED = {address: reason for case in CASES.values() for address, reason in case.items()}


def _decoded(records: list[Record]) -> list[ListRecord]:
    out = []
    for record in records:
        if record.key is not None and record.value is not None:
            _key, value = decode_record(record.key, record.value)
            if value is not None:
                out.append(value)
    return out


def _reasons_seen(records: list[Record]) -> dict[str, set[int]]:
    """Every reason code each address was ever listed with on the topic."""
    seen: dict[str, set[int]] = {}
    for value in _decoded(records):
        if value.reason is not None:
            seen.setdefault(value.key.subject, set()).add(int(value.reason))
    return seen


def _suppressions(settings: Settings, done: Callable[[list[Record]], bool]) -> list[Record]:
    return read_topic(
        settings.bootstrap_servers,
        settings.topic(SUPPRESSIONS),
        until=done,
        timeout=90,
        what="waiting for the webhook events' suppressions",
    )


def _versions(records: list[Record]) -> dict[ListKey, int]:
    versions: dict[ListKey, int] = {}
    for value in _decoded(records):
        versions[value.key] = max(versions.get(value.key, 0), value.version)
    return versions


def _unsubscribe_marker(calls: Calls, address: str) -> tuple[str, bytes, dict[str, str]]:
    """A Postmark SubscriptionChange for ``address``: it lists the address (reason 4)."""
    body = json.loads(fixture_bytes("postmark/subscription-change.json"))
    body["Recipient"] = address
    path, _, headers = calls.call("postmark/subscription-change.json")
    return path, json.dumps(body).encode(), headers


def test_every_provider_payload_reaches_suppressions_and_a_retry_changes_nothing(
    topics: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Each fixture's addresses get the reason its provider fields call for; sent twice,
    nothing moves."""
    start_worker()
    calls = Calls()
    settings = webhook_settings(topics, calls)
    wanted = {address for address, reason in EXPECTED.items() if reason is not None}
    with webhook_app(settings, calls) as api:
        for name in sorted(CASES):
            path, body, headers = calls.call(name)
            assert api.post(path, content=body, headers=headers).status_code == 200, name

        temporary = {a for a, r in EXPECTED.items() if r == 8}

        def all_listed(records: list[Record]) -> bool:
            """Every address listed, and the temporary blocks (expired long ago) released."""
            released = {v.key.subject for v in _decoded(records) if not v.active}
            return wanted <= set(_reasons_seen(records)) and temporary <= released

        records = _suppressions(settings, all_listed)
        seen = _reasons_seen(records)
        for address, reason in EXPECTED.items():
            assert seen.get(address, set()) == ({reason} if reason else set()), address
        held = compact(records)
        permanent = {a for a, r in EXPECTED.items() if r is not None and r != 8}
        assert permanent <= {k.subject for k in held}
        before = _versions(records)

        for name in sorted(CASES):  # the providers retry every call (same provider ids)
            path, body, headers = calls.call(name)
            assert api.post(path, content=body, headers=headers).status_code == 200, name
        marker = f"marker-{uuid.uuid4().hex[:8]}@example.com"
        path, body, headers = _unsubscribe_marker(calls, marker)
        assert api.post(path, content=body, headers=headers).status_code == 200
        records = _suppressions(settings, lambda rs: marker in _reasons_seen(rs))
    after = _versions(records)
    assert {k: v for k, v in after.items() if k.subject != marker} == before


def test_a_broker_outage_answers_503_and_the_retry_loses_nothing(tmp_path: Path) -> None:
    """With the broker down a call answers 503; once it is back, the provider's retry is stored."""
    private = Settings.from_env(
        local_kafka_port=free_port_pair(),
        cache_dir=LocalBroker.from_settings(Settings.from_env()).cache_dir,
    )
    broker = LocalBroker.from_settings(private, say=lambda _line: None)
    bootstrap = broker.start()
    try:
        calls = Calls()
        settings = webhook_settings(
            private.with_(
                bootstrap_servers=bootstrap,
                topic_prefix=f"o{uuid.uuid4().hex[:8]}.",
                partitions=1,
                data_dir=tmp_path,
            ),
            calls,
            webhook_ack_timeout=timedelta(seconds=3),
        )
        ensure_topics(settings, say=lambda _line: None)
        with webhook_app(settings, calls) as api:
            path, body, headers = calls.call("sendgrid/batch.json")
            assert api.post(path, content=body, headers=headers).status_code == 200
            broker.stop()
            path, body, headers = calls.call("sparkpost/batch.json")
            down = api.post(path, content=body, headers=headers)
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "broker_unavailable"
            broker.start()
            for _attempt in range(20):  # the provider retries until it gets a 2xx
                retry = api.post(path, content=body, headers=headers)
                if retry.status_code == 200:
                    break
            assert retry.status_code == 200, retry.text
        wanted = {f"sparkpost:{e}" for e in _sparkpost_ids()} | {
            f"sendgrid:{e}" for e in _sendgrid_ids()
        }
        records = read_topic(
            bootstrap,
            settings.topic(DELIVERY_EVENTS),
            until=lambda rs: wanted <= set(event_ids(rs)),
            timeout=60,
        )
        assert wanted <= set(event_ids(records))
    finally:
        broker.stop()


def _sparkpost_ids() -> list[str]:
    batch = orjson.loads(fixture_bytes("sparkpost/batch.json"))
    return [
        event["event_id"]
        for item in batch
        for event in item["msys"].values()
        if event["type"] != "click"
    ]


def _sendgrid_ids() -> list[str]:
    batch = orjson.loads(fixture_bytes("sendgrid/batch.json"))
    return [e["sg_event_id"] for e in batch if e["event"] != "open"]
