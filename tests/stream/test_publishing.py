"""Publishing: versions that only grow per key, releases with tombstones, safe republishing."""

from __future__ import annotations

from datetime import UTC, datetime

from suppressor_client.types import ListChange, ListKey, ListName, Reason, Suppression

from workers.stream.publishing import publish, republish, slot, slots_of

A = "acme"
ENTRY = Suppression(reason=Reason.UNSUBSCRIBE, since=datetime(2024, 1, 1, tzinfo=UTC))


def test_each_key_counts_its_own_versions() -> None:
    """A second change of one subject gets version 2; another subject starts at 1."""
    versions, first = publish(A, [ListChange(ListName.UNSUBSCRIBE, "a@x.example", ENTRY)], {})
    versions, second = publish(
        A,
        [
            ListChange(ListName.UNSUBSCRIBE, "a@x.example", ENTRY),
            ListChange(ListName.UNSUBSCRIBE, "b@x.example", ENTRY),
        ],
        versions,
    )
    assert [r.version for _, r in first if r] == [1]
    assert [(k.subject, r.version) for k, r in second if r] == [
        ("a@x.example", 2),
        ("b@x.example", 1),
    ]
    record = first[0][1]
    assert record is not None and record.reason is Reason.UNSUBSCRIBE and record.active


def test_a_release_is_an_inactive_record_then_a_tombstone() -> None:
    """Readers see the release explicitly before compaction removes the key."""
    key = ListKey(A, ListName.UNSUBSCRIBE, "a@x.example")
    versions, _ = publish(A, [ListChange(key.list, key.subject, ENTRY)], {})
    versions, out = publish(A, [ListChange.release(key.list, key.subject)], versions)
    (k1, released), (k2, tombstone) = out
    assert k1 == k2 == key
    assert released is not None and not released.active and released.version == 2
    assert tombstone is None
    assert versions == {slot(key.list, key.subject): 2}


def test_republish_sends_the_current_records_at_their_versions_only() -> None:
    """After a duplicate input nothing new is versioned, and unpublished subjects are skipped."""
    versions, sent = publish(A, [ListChange(ListName.UNSUBSCRIBE, "a@x.example", ENTRY)], {})
    again = republish(
        A,
        [
            ListChange(ListName.UNSUBSCRIBE, "a@x.example", ENTRY),
            ListChange(ListName.BLOCK, "a@x.example", ENTRY),  # never published
        ],
        versions,
    )
    assert again == sent


def test_slots_of_reads_back_what_slot_writes() -> None:
    """The stored version counters name every (list, subject) ever published."""
    versions = {slot(ListName.DOMAIN_RULE, "*.x.example"): 3, slot(ListName.URI_PATTERN, "^a/b"): 1}
    assert slots_of(versions) == [
        (ListName.DOMAIN_RULE, "*.x.example"),
        (ListName.URI_PATTERN, "^a/b"),
    ]
