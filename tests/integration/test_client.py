"""SenderClient and CommandWriter against the real broker (records produced directly, no worker)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from suppressor_client.records import encode_key, encode_record
from suppressor_client.types import ListKey, ListName, ListRecord, Reason

from tests.kafka_helpers import produce
from workers.client import CommandWriter, SenderClient
from workers.client.sender import DECISION_LISTS
from workers.kafka.topics import SUPPRESSIONS
from workers.settings import Settings

pytestmark = pytest.mark.broker

T0 = datetime(2025, 1, 1, tzinfo=UTC)
JANE = "jane@example.com"


def entry(
    subject: str, version: int, reason: Reason = Reason.MANUAL, **fields: object
) -> ListRecord:
    """An active block-list record of acme."""
    return ListRecord(ListKey("acme", ListName.BLOCK, subject), version, True, reason=reason,
                      since=T0, **fields)  # type: ignore[arg-type]  # fmt: skip


def put(settings: Settings, *records: ListRecord | tuple[ListKey, None]) -> None:
    """Produce records (or (key, None) tombstones) to the test's suppressions topic."""
    pairs = []
    for item in records:
        if isinstance(item, ListRecord):
            pairs.append((encode_key(item.key), encode_record(item)))
        else:
            pairs.append((encode_key(item[0]), None))
    produce(settings.bootstrap_servers, settings.topic(SUPPRESSIONS), pairs)


def test_ready_after_reading_the_topic_then_live(topics: Settings) -> None:
    """The client is ready once it has what the topic held, then follows new records live."""
    put(topics, entry(JANE, 1), entry("bob@example.com", 1))
    with SenderClient(topics) as client:
        assert client.wait_ready(30)
        assert client.staleness().ready
        assert client.staleness().lag == 0
        decision = client.decide("acme", "Jane@Example.com")
        assert (decision.allowed, decision.rule, decision.reason) == (False, "suppressed", 2)
        assert client.decide("acme", "ann@example.com").allowed
        put(topics, entry("ann@example.com", 1))
        assert client.wait_for(ListKey("acme", ListName.BLOCK, "ann@example.com"), 1, 10)
        assert [d.allowed for d in client.decide_many("acme", ["ann@example.com", "x@y.z"])] == [
            False,
            True,
        ]


def test_stale_and_repeated_versions_are_ignored(topics: Settings) -> None:
    """A record not newer than the one held changes nothing; a release and tombstone remove it."""
    key = ListKey("acme", ListName.BLOCK, JANE)
    put(topics, entry(JANE, 3, notes="third"), entry(JANE, 2, Reason.NONEXISTENT_LEGACY),
        entry(JANE, 3, notes="again"))  # fmt: skip
    with SenderClient(topics) as client:
        assert client.wait_ready(30)
        (held,) = client.view.entries_of("acme")
        assert (held[2].version, held[2].notes) == (3, "third")
        put(topics, ListRecord(key, 4, False), (key, None))
        assert client.wait_until(lambda view: not list(view.entries_of("acme")), 10)
        assert client.decide("acme", JANE).allowed


def test_a_restarted_client_rebuilds_the_same_view_and_can_skip_lists(topics: Settings) -> None:
    """Reading the topic again gives the same decisions; a client may skip lists it never reads."""
    pattern = ListKey("acme", ListName.URI_PATTERN, "^https://a\\.example/")
    put(topics, entry(JANE, 1), ListRecord(pattern, 1, True))
    with SenderClient(topics, keep_details=False) as first:
        assert first.wait_ready(30)
        stats = first.view.stats()
    for compact in (False, True):  # the compact view skips them a batch at a time
        with SenderClient(
            topics, keep_details=False, lists=DECISION_LISTS, compact=compact
        ) as second:
            assert second.wait_ready(30)
            assert not second.decide("acme", JANE).allowed
            assert second.view.stats()["uri-pattern"] == 0
            assert stats["uri-pattern"] == 1
            assert second.staleness().lag == 0


@pytest.mark.parametrize("compact", [False, True])
def test_records_a_skip_names_are_never_applied(topics: Settings, compact: bool) -> None:
    """``skip`` sees each record's raw key and value; what it names stays out of the view,
    counted as skipped, and the feed still reaches the end (ready, no lag)."""
    seen: list[tuple[bytes | None, bytes | None]] = []

    def skip(key: bytes | None, value: bytes | None) -> bool:
        seen.append((key, value))
        return value is not None and b'"notes":"skip me"' in value

    put(topics, entry(JANE, 1, notes="skip me"), entry("bob@example.com", 1, notes="keep"))
    with SenderClient(topics, compact=compact, skip=skip) as client:
        assert client.wait_ready(30)
        assert client.decide("acme", JANE).allowed
        assert not client.decide("acme", "bob@example.com").allowed
        assert (client.records_read, client.staleness().lag) == (1, 0)
        kept = entry("bob@example.com", 1, notes="keep")
        assert len(seen) == 2
        assert (encode_key(kept.key), encode_record(kept)) in seen


def test_a_feed_that_waits_for_full_fetches_still_follows_a_trickle(topics: Settings) -> None:
    """With ``fetch_min_bytes`` far above what the topic holds, the broker's wait bound
    (not the missing bytes) ends each fetch: the client gets ready and sees new records."""
    put(topics, entry(JANE, 1))
    with SenderClient(topics, compact=True, fetch_min_bytes=16 << 20) as client:
        assert client.wait_ready(30)
        assert not client.decide("acme", JANE).allowed
        put(topics, entry("ann@example.com", 1))
        assert client.wait_until(
            lambda _view: not client.decide("acme", "ann@example.com").allowed, 10
        )


def test_a_write_without_a_worker_times_out_and_says_so(topics: Settings) -> None:
    """With no worker the command is written, but the writer reports it not visible."""
    with SenderClient(topics) as client:
        writer = CommandWriter(topics, client)
        result = writer.submit(
            {"type": "address.block", "account_id": "acme", "email": JANE}, wait=1.5
        )
        writer.close()
    assert not result.visible
    assert result.waited_s >= 1.5
    assert result.command is not None
    assert result.command.email == JANE


def test_an_undecodable_record_is_reported_and_skipped(topics: Settings) -> None:
    """Between good records, one that does not decode is skipped and reported, not applied."""
    errors: list[str] = []
    bad = (encode_key(ListKey("acme", ListName.BLOCK, "ann@example.com")), b"{not json")
    put(topics, entry(JANE, 1))
    produce(topics.bootstrap_servers, topics.topic(SUPPRESSIONS), [bad])
    put(topics, entry("bob@example.com", 1))
    with SenderClient(topics, keep_details=False, compact=True, on_error=errors.append) as client:
        assert client.wait_ready(30)
        assert client.records_read == 2
        assert not client.decide("acme", JANE).allowed
        assert not client.decide("acme", "bob@example.com").allowed
        assert client.decide("acme", "ann@example.com").allowed
    assert len(errors) == 1
    assert errors[0].startswith("undecodable record skipped: not JSON")
