"""A cold start shared between processes builds the view one process builds (real broker)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from suppressor_client import feed as feed_module
from suppressor_client.compact_view import CompactView
from suppressor_client.decision import decide
from suppressor_client.feed import SuppressionFeed
from suppressor_client.records import encode_key, encode_record
from suppressor_client.types import ListKey, ListName, ListRecord, Reason

from tests.kafka_helpers import produce
from workers.kafka.topics import SUPPRESSIONS, ensure_topics
from workers.settings import Settings

pytestmark = pytest.mark.broker

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ACCOUNTS = [f"acct-{a}" for a in range(5)]
LISTS = (ListName.BOUNCE, ListName.BLOCK, ListName.COMPLAINT, ListName.UNSUBSCRIBE)
REASONS = {
    ListName.BOUNCE: Reason.TEMPORARY,
    ListName.BLOCK: Reason.MANUAL,
    ListName.COMPLAINT: Reason.FEEDBACK_LOOP,
    ListName.UNSUBSCRIBE: Reason.UNSUBSCRIBE,
}
ADDRESSES = [f"user{i}@example{i % 3}.com" for i in range(300)]


def records() -> Iterator[tuple[bytes, bytes | None]]:
    """Every account's addresses, some on two or three lists (keys of other partitions),
    then releases, tombstones, newer versions, temporary entries and domain rules."""
    for n, account in enumerate(ACCOUNTS):
        for i, address in enumerate(ADDRESSES):
            for name in LISTS[: 1 + (i + n) % 3]:
                key = ListKey(account, name, address)
                expires = T0 + timedelta(days=i % 9) if i % 17 == 0 else None
                record = ListRecord(key, 1, True, REASONS[name], T0, expires_at=expires)
                yield encode_key(key), encode_record(record)
    for i, address in enumerate(ADDRESSES[::5]):
        key = ListKey(ACCOUNTS[i % 5], LISTS[0], address)
        if i % 3 == 0:
            yield encode_key(key), None  # the tombstone
        else:
            yield encode_key(key), encode_record(ListRecord(key, 2, i % 3 == 2, REASONS[LISTS[0]]))
    for account in ACCOUNTS[:3]:
        key = ListKey(account, ListName.DOMAIN_RULE, "example1.com")
        rule = ListRecord(key, 1, True, Reason.MANUAL, T0, send_block=True)
        yield encode_key(key), encode_record(rule)
    yield b"not a key", b"{}"


@pytest.fixture
def topic(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A four-partition topic holding ``records()``; any size is shared between processes."""
    four = settings.with_(partitions=4)
    ensure_topics(four, say=lambda _line: None)
    produce(four.bootstrap_servers, four.topic(SUPPRESSIONS), records())
    monkeypatch.setattr(feed_module, "PARALLEL_FROM", 1)
    return four.bootstrap_servers, four.topic(SUPPRESSIONS)


def read(topic: tuple[str, str], processes: int, errors: list[str]) -> SuppressionFeed:
    feed = SuppressionFeed(*topic, CompactView(), processes=processes, on_error=errors.append)
    feed.start()
    if processes > 1:
        assert len(feed._shares) == processes - 1  # started
    assert feed.wait_ready(120)
    return feed


def assert_same_view(feed: SuppressionFeed, alone: SuppressionFeed) -> None:
    """Every entry, count, decision and position equal."""
    view, reference = feed.view, alone.view
    now = T0 + timedelta(days=4)
    assert view.stats() == reference.stats()
    assert view.accounts() == reference.accounts()
    for account in ACCOUNTS:
        assert sorted(view.entries_of(account)) == sorted(reference.entries_of(account))
        for address in ADDRESSES:
            assert set(view.address_entries(account, address)) == set(
                reference.address_entries(account, address)
            )
            assert decide(view, account, address, "marketing", now) == decide(
                reference, account, address, "marketing", now
            )
        codes = view.entry_codes(account, ADDRESSES).tolist()
        assert codes == reference.entry_codes(account, ADDRESSES).tolist()
    assert feed.positions() == alone.positions()
    assert (feed.records, feed.undecodable) == (alone.records, alone.undecodable)


def test_processes_sharing_the_partitions_build_the_view_of_one(topic: tuple[str, str]) -> None:
    """Three processes on four partitions: the merged view is the one-process view, and
    the feed goes on reading every partition afterwards."""
    errors: list[str] = []
    alone, shared = read(topic, 1, []), read(topic, 3, errors)
    try:
        assert [e for e in errors if "undecodable" not in e] == []
        assert_same_view(shared, alone)
        key = ListKey(ACCOUNTS[4], ListName.BLOCK, "late@example.com")
        late = ListRecord(key, 1, True, Reason.MANUAL, T0)
        produce(topic[0], topic[1], [(encode_key(key), encode_record(late))])
        assert shared.wait_for(key, 1, 30)
        assert not decide(shared.view, ACCOUNTS[4], "late@example.com").allowed
    finally:
        alone.stop()
        shared.stop()


def test_a_process_that_fails_or_overruns_loses_nothing(
    topic: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A share whose process is killed, or takes longer than allowed, is read by the feed
    itself (reported): the view is still the one-process view."""
    alone = read(topic, 1, [])
    killed: list[str] = []
    feed = SuppressionFeed(*topic, CompactView(), processes=2, on_error=killed.append)
    feed.start()
    feed._shares[0].process.kill()
    assert feed.wait_ready(120)
    monkeypatch.setattr(feed_module, "CHILD_SECONDS", 0.0)
    monkeypatch.setattr(feed_module, "CHILD_SECONDS_A_RECORD", 0.0)
    overran: list[str] = []
    slow = read(topic, 2, overran)
    try:
        assert any("exited with code -9" in e and "reading them here" in e for e in killed)
        assert any("took longer than allowed" in e for e in overran)
        assert_same_view(feed, alone)
        assert_same_view(slow, alone)
    finally:
        for each in (alone, feed, slow):
            each.stop()


def test_a_feed_that_skips_records_reads_alone(topic: tuple[str, str]) -> None:
    """A share's process would hold the records the feed skips: with ``skip`` no process
    is started, and the skipped lists stay out of the view."""

    def blocks(key: bytes | None, _value: bytes | None) -> bool:
        return key is not None and b'"block"' in key

    feed = SuppressionFeed(*topic, CompactView(), processes=3, skip=blocks)
    feed.start()
    try:
        assert feed._shares == []
        assert feed.wait_ready(120)
        assert feed.view.stats()[ListName.BLOCK.value] == 0
        assert feed.skipped > 0
    finally:
        feed.stop()


def test_a_process_whose_feed_is_gone_ends_and_leaves_nothing(topic: tuple[str, str]) -> None:
    """The feed holds each process's stdin: at its end (the feed killed, say) the process
    exits and removes its directory; the feed then reads those partitions itself."""
    alone = read(topic, 1, [])
    errors: list[str] = []
    feed = SuppressionFeed(*topic, CompactView(), processes=2, on_error=errors.append)
    feed.start()
    share = feed._shares[0]
    assert share.process.stdin is not None
    share.process.stdin.close()  # what the feed's death does to the pipe
    assert share.process.wait(30) == 1
    assert not share.directory.exists()
    try:
        assert feed.wait_ready(120)
        assert any("reading them here" in e for e in errors)
        assert_same_view(feed, alone)
    finally:
        alone.stop()
        feed.stop()


def test_a_merge_that_fails_part_way_starts_over_alone(
    topic: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge that raised may have taken in part of a share: the feed drops that view and
    reads the whole topic itself, never a share twice."""
    alone = read(topic, 1, [])
    whole = CompactView._merge

    def merge_then_fail(view: CompactView, other: CompactView) -> None:
        whole(view, other)  # everything taken in, then an error: the worst case
        raise MemoryError("no memory left")

    monkeypatch.setattr(CompactView, "_merge", merge_then_fail)
    errors: list[str] = []
    feed = read(topic, 3, errors)
    try:
        assert feed._shares == []
        assert any("reading the whole topic in this process" in e for e in errors)
        assert_same_view(feed, alone)
    finally:
        alone.stop()
        feed.stop()
