"""The front stage without a broker: where each record goes, and no commit after a lost record."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest
from confluent_kafka import KafkaError
from suppressor_client.types import Outcome

from tests.list_helpers import DEFAULT_POOL
from workers.devkit.loadgen import bounce, command, customer_event
from workers.domain.events import parse_command
from workers.kafka.topics import ACCOUNT_OPS, ADDRESS_OPS
from workers.settings import Settings
from workers.stream import front, handlers
from workers.stream.front import DeliveryFailed, FrontStage
from workers.stream.ops_codec import ADDRESS_COMMAND, decode_command, decode_delivery
from workers.stream.routing import Routed, route

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _route(topic: str, value: bytes, max_bytes: int = 65536) -> Routed:
    return route(
        topic,
        1,
        7,
        b"k",
        value,
        rules=lambda account: DEFAULT_POOL if account == "acme" else None,
        max_bytes=max_bytes,
        now=NOW,
        prefixed_topic=f"p.{topic}",
    )


def test_customer_events_pass_or_are_rejected_with_the_rule() -> None:
    """An accepted event goes out unchanged; a collection-blocked one names rule and pattern."""
    ok = orjson.dumps(customer_event("acme", "a@gmail.com", "storefront"))
    routed = _route("customer-events", ok)
    assert (routed.out.topic, routed.out.key, routed.out.value) == (
        "customer-events.accepted",
        b"k",
        ok,
    )
    blocked = orjson.dumps(customer_event("acme", "b@allegro.com", "popup"))
    routed = _route("customer-events", blocked)
    body = orjson.loads(routed.out.value)
    assert routed.out.topic == "customer-events.rejected"
    assert (body["rule"], body["pattern"]) == ("collection_block", "allegro.com")


def test_deliveries_and_commands_are_keyed_for_the_keyed_stage() -> None:
    """Address-level input is keyed by account and address, account commands by account."""
    raw = orjson.dumps(bounce("acme", "Jane@Gmail.COM", "nonexistent"))
    routed = _route("delivery-events", raw)
    assert routed.out.topic == ADDRESS_OPS
    assert routed.out.key == handlers.address_key("acme", "jane@gmail.com")
    event, outcome = decode_delivery(routed.out.value, "acme")  # compact and classified
    assert (event.event_id, event.email, outcome) == (
        orjson.loads(raw)["event_id"],
        "jane@gmail.com",
        Outcome.NONEXISTENT,
    )
    create = orjson.dumps(command("acme", "account.create"))
    assert _route("suppression-commands", create).out.topic == ACCOUNT_OPS
    block = orjson.dumps(command("acme", "address.block", email="X@gmail.com", notes="n"))
    routed = _route("suppression-commands", block)
    assert routed.out.topic == ADDRESS_OPS
    assert routed.out.key == handlers.address_key("acme", "x@gmail.com")
    assert routed.out.value[:1] == ADDRESS_COMMAND  # compact: the keyed stage parses nothing
    assert decode_command(routed.out.value, "acme", "x@gmail.com") == parse_command(block)


def _rows(*rows: list[object], event_id: str = "run1") -> bytes:
    return orjson.dumps(
        {"type": "import.rows", "event_id": event_id, "account_id": "acme",
         "occurred_at": "2026-01-01T00:00:00Z", "rows": list(rows)}
    )  # fmt: skip


def test_an_import_rows_record_becomes_the_import_rows_it_stands_for() -> None:
    """Each row goes out as exactly the ops record its own ``import.row`` command would."""
    rows = [
        [2, "A@Gmail.com", 2, None],
        [3, "b@example.org", 10, "legacy"],
        [9, "c@x.io", None, ""],
    ]
    routed = _route("suppression-commands", _rows(*rows))
    singles = [
        _route("suppression-commands", orjson.dumps(
            {"type": "import.row", "event_id": f"run1:{line}", "account_id": "acme",
             "occurred_at": "2026-01-01T00:00:00Z", "email": email, "reason": reason,
             "notes": notes}
        )).out
        for line, email, reason, notes in rows
    ]  # fmt: skip
    assert (routed.kind, routed.outcome) == ("import.rows", "routed")
    assert routed.out == singles[0]
    assert list(routed.more) == [(o.key, o.value) for o in singles[1:]]
    assert {o.topic for o in singles} == {ADDRESS_OPS}


@pytest.mark.parametrize(
    ("row", "path", "code"),
    [
        ([4, "not-an-address", 2, None], "rows[1][1]", "invalid_address"),
        ([4, "d@x.io", 3, None], "rows[1][2]", "schema"),
        ([4, "d@x.io", 2, "n" * 1001], "rows[1][3]", "schema"),
        ([4, "d@x.io", 2], "rows[1]", "schema"),
        (["4", "d@x.io", 2, None], "rows[1][0]", "schema"),
        ([10**18, "d@x.io", 2, None], "rows[1][0]", "schema"),  # its event id: 200+ characters
    ],
)
def test_one_bad_row_sends_its_whole_import_rows_record_to_the_dlq(
    row: list[object], path: str, code: str
) -> None:
    """Nothing of a record with a bad row is applied; the DLQ record names the row and cell."""
    raw = _rows([2, "a@x.io", 2, None], row, event_id="r" * 181)
    routed = _route("suppression-commands", raw)
    record = orjson.loads(routed.out.value)
    assert routed.out.topic == "suppression-commands.dlq"
    assert routed.more == ()
    assert (record["error"]["path"], record["error"]["code"]) == (path, code)
    assert base64.b64decode(record["original"]) == raw


@pytest.mark.parametrize(
    ("topic", "value", "code"),
    [
        ("customer-events", b"{nope", "bad_json"),
        (
            "delivery-events",
            orjson.dumps(bounce("a", "not-an-address", "condition")),
            "invalid_address",
        ),
        ("suppression-commands", orjson.dumps(command("a", "self.destruct")), "unknown_type"),
        ("customer-events", b"x" * 100, "too_large"),
    ],
)
def test_bad_input_goes_to_its_dlq_with_the_original(topic: str, value: bytes, code: str) -> None:
    """Anything refused lands on <input>.dlq with its error code, position and original bytes."""
    routed = _route(topic, value, max_bytes=64 if code == "too_large" else 65536)
    record = orjson.loads(routed.out.value)
    assert routed.out.topic == f"{topic}.dlq"
    assert record["error"]["code"] == code
    assert (record["topic"], record["partition"], record["offset"]) == (f"p.{topic}", 1, 7)
    assert base64.b64decode(record["original"]) == value


def test_a_record_that_was_not_delivered_stops_the_stage_before_any_commit() -> None:
    """After a delivery failure the stage raises instead of committing the batch."""
    stage = FrontStage(Settings.from_env({}, bootstrap_servers="127.0.0.1:1"), rules=None)  # type: ignore[arg-type]
    stage._on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), None)  # type: ignore[arg-type]
    with pytest.raises(DeliveryFailed, match="not delivered"):
        stage._commit()


class _Metadata:
    """What ``list_topics`` answers: the topic with ``counts[0]`` partitions, then the next."""

    def __init__(self, topic: str, counts: list[int]) -> None:
        self.topic = topic
        self.counts = counts
        self.calls = 0

    def list_topics(self, topic: str, timeout: float) -> SimpleNamespace:
        count = self.counts[min(self.calls, len(self.counts) - 1)]
        self.calls += 1
        partitions = {p: object() for p in range(count)}
        return SimpleNamespace(topics={topic: SimpleNamespace(partitions=partitions)})


def _stage(monkeypatch: pytest.MonkeyPatch, counts: list[int]) -> tuple[FrontStage, _Metadata]:
    stage = FrontStage(Settings.from_env({}, bootstrap_servers="127.0.0.1:1"), rules=None)  # type: ignore[arg-type]
    metadata = _Metadata(stage._out[ADDRESS_OPS], counts)
    stage.producer = metadata  # type: ignore[assignment]
    monkeypatch.setattr(front.time, "sleep", lambda _s: None)
    return stage, metadata


def test_metadata_that_lags_is_read_again_until_the_partitions_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A topic just created can show no partitions: the count is read until it does."""
    stage, metadata = _stage(monkeypatch, [0, 0, 4])
    assert stage._partition_count(stage._out[ADDRESS_OPS]) == 4
    assert metadata.calls == 3


def test_metadata_without_partitions_fails_the_start_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No partitions within the wait: the start raises (murmur2 over 0 would kill the thread)."""
    stage, _metadata = _stage(monkeypatch, [0])
    monkeypatch.setattr(front, "METADATA_WAIT_S", 0.0)
    with pytest.raises(RuntimeError, match="no partitions"):
        stage._partition_count(stage._out[ADDRESS_OPS])
