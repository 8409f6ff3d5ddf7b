"""Every rule of SPEC §5-6 through a real worker and broker, read off the output topics."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from suppressor_client.types import ListKey, ListName, ListRecord, Reason

from tests.kafka_helpers import Record, active_subjects, compact, produce, read_topic, released
from workers.devkit.loadgen import bounce, command, customer_event, delivery
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.topics import (
    ACCEPTED,
    COMMANDS,
    CUSTOMER_EVENTS,
    DELIVERY_EVENTS,
    REJECTED,
    SUPPRESSIONS,
    dlq_of,
)
from workers.settings import Settings

pytestmark = pytest.mark.broker

Event = dict[str, Any] | bytes


def send(settings: Settings, topic: str, events: Iterable[Event]) -> None:
    produce(
        settings.bootstrap_servers,
        settings.topic(topic),
        [(None, e if isinstance(e, bytes) else orjson.dumps(e)) for e in events],
    )


def suppressions_until(
    settings: Settings, done: Callable[[dict[ListKey, ListRecord]], bool], timeout: float = 60
) -> dict[ListKey, ListRecord]:
    """Read the suppressions topic until the compacted state satisfies ``done``."""
    state: dict[ListKey, ListRecord] = {}

    def check(records: list[Record]) -> bool:
        nonlocal state
        state = compact(records)
        return bool(records) and done(state)

    read_topic(
        settings.bootstrap_servers,
        settings.topic(SUPPRESSIONS),
        until=check,
        timeout=timeout,
        what="waiting for the expected suppressions",
    )
    return state


def released_until(settings: Settings, key: ListKey, timeout: float = 60) -> None:
    """Wait until ``key`` was released explicitly and is gone from the compacted state."""
    read_topic(
        settings.bootstrap_servers,
        settings.topic(SUPPRESSIONS),
        until=lambda records: key in released(records) and key not in compact(records),
        timeout=timeout,
        what=f"waiting for the release of {key}",
    )


def test_collection_gate_drops_blocked_domains_and_never_imports(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """Storefront, popup and API events for collection-blocked domains are rejected with the
    rule; imports and send-only domains pass unchanged."""
    start_worker()
    send(
        topics,
        COMMANDS,
        [
            command("acme", "account.create"),
            command("acme", "domain.rule.set", domain="bots.example", collection_block=True),
            command(
                "*",
                "domain.rule.set",
                domain="*.throwaway.example",
                collection_block=True,
                send_block=True,
            ),
        ],
    )
    suppressions_until(topics, lambda s: len(s) >= 5)
    time.sleep(3.0)  # the gate reads the rules from the same topic, in another process
    accepted_events = [
        customer_event("acme", "buyer@allegro.com", "import"),
        customer_event("acme", "seller@allegro.pl", "storefront"),
        customer_event("acme", "jane@gmail.com", "api"),
    ]
    rejected_events = [
        customer_event("acme", "buyer@allegro.com", "storefront"),
        customer_event("acme", "bot@bots.example", "popup"),
        customer_event("other", "x@mail.throwaway.example", "api"),
    ]
    send(topics, CUSTOMER_EVENTS, [*accepted_events, *rejected_events])
    accepted = read_topic(
        topics.bootstrap_servers, topics.topic(ACCEPTED), until=lambda r: len(r) >= 3
    )
    rejected = read_topic(
        topics.bootstrap_servers, topics.topic(REJECTED), until=lambda r: len(r) >= 3
    )
    assert sorted(r.value for r in accepted if r.value) == sorted(
        orjson.dumps(e) for e in accepted_events
    )
    verdicts = {
        (body["event"]["email"], body["rule"], body["pattern"])
        for body in (orjson.loads(r.value) for r in rejected if r.value)
    }
    assert verdicts == {
        ("buyer@allegro.com", "collection_block", "allegro.com"),
        ("bot@bots.example", "collection_block", "bots.example"),
        ("x@mail.throwaway.example", "platform_collection_block", "*.throwaway.example"),
    }


def test_delivery_events_and_manual_commands_make_the_address_lists(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """Each delivery event type and manual command gives its reason code (SPEC §6)."""
    start_worker()
    ago = datetime.now(UTC) - timedelta(minutes=10)
    gone = bounce("a", "gone@gmail.com", "nonexistent", when=ago)
    full = bounce("a", "full@gmail.com", "condition", when=ago)
    send(
        topics,
        COMMANDS,
        [
            command("a", "allowlist.add", email="qa@a.example"),
            command("a", "address.block", email="blocked@gmail.com", notes="by phone"),
            command("a", "address.block", email="later@gmail.com"),
            command("a", "address.allow", email="vip@corp.example"),
        ],
    )
    # The recipient allowlist acts from when it is applied (design.md), so it must be in
    # place before the bounce for that address is handled.
    suppressions_until(
        topics, lambda s: ListKey("a", ListName.RECIPIENT_ALLOW, "qa@a.example") in s
    )
    send(
        topics,
        DELIVERY_EVENTS,
        [
            gone,
            full,
            bounce("a", "spam@gmail.com", "policy", when=ago),
            bounce("a", "what@gmail.com", "unknown", when=ago),
            delivery("a", "fbl@gmail.com", "complaint", when=ago, feedback_type="abuse"),
            delivery("a", "desk@gmail.com", "abuse", when=ago),
            delivery("a", "bye@gmail.com", "unsubscribe", when=ago),
            delivery("a", "click@gmail.com", "list_unsubscribe", when=ago),
            delivery("a", "fine@gmail.com", "delivered", when=ago),
            bounce("a", "qa@a.example", "nonexistent", when=ago),
        ],
    )
    time.sleep(0.5)
    send(topics, COMMANDS, [command("a", "address.unblock", email="later@gmail.com")])
    expected = {
        (ListName.BOUNCE, "gone@gmail.com"): Reason.NONEXISTENT,
        (ListName.BOUNCE, "full@gmail.com"): Reason.TEMPORARY,
        (ListName.COMPLAINT, "fbl@gmail.com"): Reason.FEEDBACK_LOOP,
        (ListName.COMPLAINT, "desk@gmail.com"): Reason.ABUSE,
        (ListName.UNSUBSCRIBE, "bye@gmail.com"): Reason.UNSUBSCRIBE,
        (ListName.UNSUBSCRIBE, "click@gmail.com"): Reason.LIST_UNSUBSCRIBE,
        (ListName.BLOCK, "blocked@gmail.com"): Reason.MANUAL,
        (ListName.RECIPIENT_ALLOW, "qa@a.example"): None,
        (ListName.ADDRESS_ALLOW, "vip@corp.example"): None,
    }

    def settled(state: dict[ListKey, ListRecord]) -> bool:
        got = {(k.list, k.subject): r.reason for k, r in state.items()}
        return got == expected

    state = suppressions_until(topics, settled)
    full_entry = state[ListKey("a", ListName.BOUNCE, "full@gmail.com")]
    assert full_entry.expires_at == datetime.fromisoformat(full["occurred_at"]) + timedelta(days=7)
    gone_entry = state[ListKey("a", ListName.BOUNCE, "gone@gmail.com")]
    assert (gone_entry.event_id, gone_entry.delivery_id) == (gone["event_id"], gone["delivery_id"])
    assert state[ListKey("a", ListName.BLOCK, "blocked@gmail.com")].notes == "by phone"


def test_the_ladder_climbs_on_occurred_at_whatever_the_arrival_order(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """Four consecutive condition bounces, sent out of order and with an echo inside a
    block, end permanent with reason 5; a delivered event resets another address (its
    events keyed by address, so the delivery arrives after the older bounce: a delivery
    that arrives first finds no streak and is dropped, docs/design.md)."""
    start_worker()
    t0 = datetime.now(UTC) - timedelta(days=80)
    climb = [t0, t0 + timedelta(days=8), t0 + timedelta(days=23), t0 + timedelta(days=52)]
    events = [bounce("a", "climb@gmail.com", "condition", when=t) for t in climb]
    echo = bounce("a", "climb@gmail.com", "condition", when=t0 + timedelta(days=1))
    reset = [
        bounce("a", "reset@gmail.com", "condition", when=t0),
        delivery("a", "reset@gmail.com", "delivered", when=t0 + timedelta(days=8)),
        bounce("a", "reset@gmail.com", "condition", when=t0 + timedelta(days=79)),
    ]
    send(topics, DELIVERY_EVENTS, [events[3], echo, events[1], events[0], events[2]])
    keyed = [(b"a\x1freset@gmail.com", orjson.dumps(e)) for e in reset]
    produce(topics.bootstrap_servers, topics.topic(DELIVERY_EVENTS), keyed)

    def settled(state: dict[ListKey, ListRecord]) -> bool:
        climbed = state.get(ListKey("a", ListName.BOUNCE, "climb@gmail.com"))
        again = state.get(ListKey("a", ListName.BOUNCE, "reset@gmail.com"))
        return (
            climbed is not None
            and climbed.reason is Reason.BOUNCE_LIMIT
            and again is not None
            and again.expires_at == t0 + timedelta(days=86)
        )

    state = suppressions_until(topics, settled)
    climbed = state[ListKey("a", ListName.BOUNCE, "climb@gmail.com")]
    assert climbed.expires_at is None and climbed.since == climb[3]


def test_malformed_records_go_to_the_dlq_with_their_bytes_and_the_worker_goes_on(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """Bad JSON, schema errors, invalid addresses, unknown types, oversized records and bad
    URI patterns land on <input>.dlq with a machine-readable error; good input still flows."""
    start_worker(max_record_bytes=2000)
    huge = orjson.dumps(customer_event("a", "big@gmail.com", "api") | {"pad": "x" * 3000})
    bad_customer = [
        b"{not json",
        orjson.dumps({"event_id": "e1", "account_id": "a"}),
        orjson.dumps(customer_event("a", "no-at-sign", "api")),
        orjson.dumps(customer_event("a", "x@gmail.com", "carrier-pigeon")),
        huge,
    ]
    bad_delivery = [
        orjson.dumps(delivery("a", "x@gmail.com", "teleported")),
        orjson.dumps(bounce("a", "x@gmail.com", "condition") | {"smtp_code": "five-fifty"}),
    ]
    bad_commands = [
        orjson.dumps(command("a", "uri.add", pattern="unanchored\\.example")),
        orjson.dumps(command("a", "self.destruct")),
    ]
    send(topics, CUSTOMER_EVENTS, bad_customer)
    send(topics, DELIVERY_EVENTS, bad_delivery)
    send(topics, COMMANDS, bad_commands)
    good = customer_event("a", "ok@gmail.com", "api")
    send(topics, CUSTOMER_EVENTS, [good])
    send(topics, DELIVERY_EVENTS, [bounce("a", "gone@gmail.com", "nonexistent")])

    def dlq(name: str, count: int) -> list[dict[str, Any]]:
        records = read_topic(
            topics.bootstrap_servers, topics.topic(dlq_of(name)), until=lambda r: len(r) >= count
        )
        return [orjson.loads(r.value) for r in records if r.value]

    customer = dlq(CUSTOMER_EVENTS, 5)
    codes = sorted(d["error"]["code"] for d in customer)
    assert codes == sorted(["bad_json", "schema", "invalid_address", "schema", "too_large"])
    originals = sorted(base64.b64decode(d["original"]) for d in customer)
    assert originals == sorted(bad_customer)
    assert all(d["topic"] == topics.topic(CUSTOMER_EVENTS) for d in customer)
    deliveries = dlq(DELIVERY_EVENTS, 2)
    assert sorted(d["error"]["code"] for d in deliveries) == ["schema", "unknown_type"]
    assert any(d["error"].get("path") == "smtp_code" for d in deliveries)
    commands = dlq(COMMANDS, 2)
    assert sorted(d["error"]["code"] for d in commands) == ["invalid_pattern", "unknown_type"]
    accepted = read_topic(
        topics.bootstrap_servers, topics.topic(ACCEPTED), until=lambda r: len(r) >= 1
    )
    assert [r.value for r in accepted] == [orjson.dumps(good)]
    state = suppressions_until(topics, lambda s: len(s) >= 1)
    assert active_subjects(state, "a", ListName.BOUNCE) == {"gone@gmail.com"}


def test_account_commands_publish_domain_lists_and_duplicates_change_nothing(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """Domain rules, the domain allow list and URI patterns are published and released;
    the same command twice publishes no new version."""
    start_worker()
    create = command("b", "account.create")
    uri = command("b", "uri.add", pattern=r"^https://shop\.example/")
    send(
        topics,
        COMMANDS,
        [
            create,
            create,
            command("b", "domain.allow.add", domain="gmail.com"),
            uri,
            uri,
            command("b", "domain.rule.set", domain="temp.example", send_block=True),
        ],
    )
    suppressions_until(topics, lambda s: ListKey("b", ListName.DOMAIN_RULE, "temp.example") in s)
    send(topics, COMMANDS, [command("b", "domain.rule.remove", domain="temp.example")])
    released_until(topics, ListKey("b", ListName.DOMAIN_RULE, "temp.example"))
    state = suppressions_until(topics, lambda s: len(s) >= 5)
    assert active_subjects(state, "b", ListName.DOMAIN_RULE) == {
        "allegro.pl",
        "allegromail.pl",
        "allegro.com",
    }
    assert active_subjects(state, "b", ListName.DOMAIN_ALLOW) == {"gmail.com"}
    assert active_subjects(state, "b", ListName.URI_PATTERN) == {r"^https://shop\.example/"}
    assert all(r.version == 1 for k, r in state.items() if k.list is not ListName.DOMAIN_RULE
               or k.subject != "temp.example")  # fmt: skip
    allegro = state[ListKey("b", ListName.DOMAIN_RULE, "allegro.com")]
    assert (allegro.send_block, allegro.collection_block) == (True, True)
