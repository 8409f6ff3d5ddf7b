"""Bundles of ops records: they round-trip, stay on one partition, and keep order per key."""

from __future__ import annotations

import pytest
from confluent_kafka import murmur2
from hypothesis import given
from hypothesis import strategies as st

from workers.settings import Settings
from workers.stream import handlers
from workers.stream.bundles import BUNDLE, Bundler, decode_bundle, encode_bundle
from workers.stream.front import FrontStage
from workers.stream.routing import Out

PARTITIONS = 4


def _partition(key: bytes) -> int:
    return murmur2(key, PARTITIONS)


def _items(records: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """What the keyed stage applies for records as sent: a bundle's items, else the record."""
    out: list[tuple[bytes, bytes]] = []
    for key, value in records:
        out += decode_bundle(value) if value[:1] == BUNDLE else [(key, value)]
    return out


records = st.lists(st.tuples(st.binary(max_size=40), st.binary(max_size=200)), max_size=30)


@given(records)
def test_a_bundle_gives_back_its_items_in_order(items: list[tuple[bytes, bytes]]) -> None:
    """Any keys and values, empty ones too, come back as they went in."""
    assert list(decode_bundle(encode_bundle(items))) == items


def test_a_torn_bundle_is_refused() -> None:
    """A bundle cut anywhere inside an item raises instead of applying half an item."""
    whole = encode_bundle([(b"k1", b"c{}"), (b"k2", b"c{}")])
    for cut in range(2, len(whole)):
        if cut == len(encode_bundle([(b"k1", b"c{}")])):
            continue  # a cut between items is a shorter, whole bundle
        with pytest.raises(ValueError, match="torn"):
            list(decode_bundle(whole[:cut]))
    with pytest.raises(ValueError, match="not a bundle"):
        list(decode_bundle(b"c{}"))


# a stream of records: an address number each, on the ops topic's partitions
stream = st.lists(st.integers(0, 40), max_size=300)


@given(stream, st.integers(1, 7), st.integers(30, 400))
def test_bundles_keep_the_order_of_every_partition(
    sequence: list[int], max_items: int, max_bytes: int
) -> None:
    """Whatever the records, each partition receives its records in the order they came,
    every bundle's items share the bundle's partition, and no bundle passes its bounds."""
    bundler = Bundler(_partition, max_items=max_items, max_bytes=max_bytes)
    sent: list[tuple[bytes, bytes]] = []
    given_order: list[tuple[bytes, bytes]] = []
    for n, address in enumerate(sequence):
        key = handlers.address_key("acme", f"user{address}@example.com")
        value = b"c%d" % n
        given_order.append((key, value))
        sent += bundler.add(key, value)
    sent += bundler.drain()
    for key, value in sent:
        if value[:1] == BUNDLE:
            items = list(decode_bundle(value))
            assert 1 < len(items) <= max_items
            assert {_partition(k) for k, _v in items} == {_partition(key)}
            assert len(value) - 1 <= max(max_bytes, *(len(k) + len(v) + 8 for k, v in items))
    for partition in range(PARTITIONS):
        expected = [r for r in given_order if _partition(r[0]) == partition]
        assert [r for r in _items(sent) if _partition(r[0]) == partition] == expected


def test_the_front_stage_bundles_address_records_and_sends_account_records_at_once() -> None:
    """Address-level records (commands and delivery events alike) wait in their
    partition's bundle, in order; account-level records go out at once."""
    stage = FrontStage(Settings.from_env({}, bootstrap_servers="127.0.0.1:1"), rules=None)  # type: ignore[arg-type]
    stage._bundler = Bundler(_partition)
    key = handlers.address_key("acme", "jane@example.com")
    assert stage._bundled(Out("address-ops", key, b"c1")) == []
    assert stage._bundled(Out("address-ops", key, b"d2")) == []
    account = Out("account-ops", b"acme", b"c3")
    assert stage._bundled(account) == [(b"acme", b"c3")]
    assert stage._bundled(Out("address-ops", key, b"c4")) == []
    [(first, bundle)] = stage._bundler.drain()
    assert first == key and list(decode_bundle(bundle)) == [
        (key, b"c1"),
        (key, b"d2"),
        (key, b"c4"),
    ]
