"""CompactView: ListView's answers, exact keys despite hash collisions, its state round trip."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zlib import crc32

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.compact_view import LIST_CODES, CompactView
from suppressor_client.decision import decide
from suppressor_client.errors import InputError
from suppressor_client.records import encode_key, encode_record
from suppressor_client.types import DomainRule, ListKey, ListName, ListRecord, Reason
from suppressor_client.view import ListView

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ACCOUNTS = ("acme", "*", "beta")
ADDRESSES = ("jane@example.com", "john@example.com", "zoë@example.com", "a@b.example")
REASONS = {
    ListName.BOUNCE: Reason.TEMPORARY,
    ListName.BLOCK: Reason.MANUAL,
    ListName.COMPLAINT: Reason.FEEDBACK_LOOP,
    ListName.UNSUBSCRIBE: Reason.UNSUBSCRIBE,
}


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[ListKey, ListRecord | None]]:
    """Records and tombstones on a few keys, versions in any order."""
    out: list[tuple[ListKey, ListRecord | None]] = []
    for _ in range(draw(st.integers(0, 40))):
        key = ListKey(
            draw(st.sampled_from(ACCOUNTS)),
            draw(st.sampled_from(LIST_CODES)),
            draw(st.sampled_from(ADDRESSES)),
        )
        if draw(st.integers(0, 5)) == 0:
            out.append((key, None))
            continue
        expires = draw(st.none() | st.integers(0, 10).map(lambda d: T0 + timedelta(days=d)))
        out.append(
            (
                key,
                ListRecord(
                    key,
                    draw(st.integers(1, 8)),
                    draw(st.booleans()),
                    reason=REASONS.get(key.list),
                    since=T0,
                    expires_at=expires,
                ),
            )
        )
    return out


@settings(max_examples=300, deadline=None)  # the machine may be busy: no time limit
@given(operations(), st.sampled_from(("records", "encoded", "batches")), st.integers(1, 8))
def test_compact_view_answers_as_list_view(
    ops: list[tuple[ListKey, ListRecord | None]], how: str, batch: int
) -> None:
    """After any sequence of records, entries, counts and decisions equal ListView's, the
    records applied one by one, encoded, or encoded in batches (the cold start's path)."""
    plain, compact = ListView(keep_details=False), CompactView()
    encoded = [(encode_key(k), None if r is None else encode_record(r)) for k, r in ops]
    for start in range(0, len(ops), batch):
        if how == "batches":
            assert compact.apply_encoded_many(encoded[start : start + batch]) == []
        for index in range(start, min(start + batch, len(ops))):
            changed = plain.apply(*ops[index])
            if how == "encoded":
                assert compact.apply_encoded(*encoded[index]) == changed
            elif how == "records":
                assert compact.apply(*ops[index]) == changed
    restored = CompactView.from_state(*compact.state())
    for view in (compact, restored):
        assert_answers_as(view, plain)


def assert_answers_as(view: ListView, plain: ListView) -> None:
    """Counts, accounts, entries and decisions of every address (and domain) equal."""
    now = T0 + timedelta(days=5)
    assert view.stats() == plain.stats()
    assert view.accounts() == plain.accounts()
    for account in ACCOUNTS:
        assert sorted(view.entries_of(account)) == sorted(plain.entries_of(account))
        assert _domain_lists(view, account) == _domain_lists(plain, account)
        for address in ADDRESSES:
            assert set(view.address_entries(account, address)) == set(
                plain.address_entries(account, address)
            )
            assert decide(view, account, address, "marketing", now) == decide(
                plain, account, address, "marketing", now
            )


def _domain_lists(view: ListView, account: str) -> tuple[object, ...] | None:
    lists = view.account_lists(account)
    return None if lists is None else (lists.domain_rules, lists.domain_allow, lists.uri_patterns)


@st.composite
def domain_operations(draw: st.DrawFn) -> list[tuple[ListKey, ListRecord | None]]:
    """Domain rules and releases, and tombstones, on a few keys (domains of ADDRESSES)."""
    out: list[tuple[ListKey, ListRecord | None]] = []
    for _ in range(draw(st.integers(0, 6))):
        key = ListKey(draw(st.sampled_from(ACCOUNTS)), ListName.DOMAIN_RULE,
                      draw(st.sampled_from(("example.com", "b.example"))))  # fmt: skip
        if draw(st.integers(0, 4)) == 0:
            out.append((key, None))
        else:
            version, active = draw(st.integers(1, 4)), draw(st.booleans())
            rule = ListRecord(key, version, active, Reason.MANUAL, T0, send_block=True)
            out.append((key, rule))
    return out


@settings(max_examples=300, deadline=None)
@given(operations(), domain_operations(), st.integers(1, 4), st.binary(max_size=4))
def test_merged_views_answer_as_one_view_of_every_partition(
    ops: list[tuple[ListKey, ListRecord | None]],
    domain: list[tuple[ListKey, ListRecord | None]],
    partitions: int,
    salt: bytes,
) -> None:
    """Records split by key between views (as partitions split a topic), each view built
    alone and merged into the first: the same entries, counts, decisions and versions as
    one view of every record, whichever view saw an account first."""
    records = [(encode_key(k), None if r is None else encode_record(r)) for k, r in ops + domain]
    parts: list[list[tuple[bytes, bytes | None]]] = [[] for _ in range(partitions)]
    for raw_key, raw_value in records:
        parts[crc32(raw_key + salt) % partitions].append((raw_key, raw_value))
    whole, views = CompactView(), [CompactView() for _ in parts]
    assert whole.apply_encoded_many(records) == []
    for view, part in zip(views, parts, strict=True):
        assert view.apply_encoded_many(part) == []
    merged = views[0]
    for view in views[1:]:
        merged.merge(view)
    plain = ListView(keep_details=False)
    for key, record in ops + domain:
        plain.apply(key, record)
    assert_answers_as(merged, plain)
    for key, _record in ops + domain:
        assert merged.version_of(key) == whole.version_of(key)
    # the merged view goes on like any other: a later record of each key applies to it
    for key, record in ops:
        if record is not None:
            later = replace(record, version=9, active=True)
            assert merged.apply(key, later) == plain.apply(key, later)
    assert_answers_as(merged, plain)
    assert_answers_as(CompactView.from_state(*merged.state()), plain)


def test_merging_renumbers_accounts_and_grows_the_table() -> None:
    """Views that met their accounts in other orders merge into a small view: its table
    grows, and each of 9,000 entries is found under its own account."""
    keys = [ListKey(f"acct-{i % 5}", ListName.BOUNCE, f"user{i}@example.com") for i in range(9_000)]
    views = [CompactView() for _ in range(3)]
    for n, view in enumerate(views):
        mine = [k for i, k in enumerate(keys) if i % 3 == n]
        mine.sort(key=lambda k: (k.account_id != f"acct-{4 - n}", k.subject))
        for key in mine:
            view.apply(key, ListRecord(key, 1, True, reason=Reason.TEMPORARY, since=T0))
    merged = CompactView()
    for view in views:
        merged.merge(view)
    assert merged.stats()["bounce"] == 9_000
    assert merged.accounts() == [f"acct-{a}" for a in range(5)]
    for key in keys:
        (entry,) = merged.address_entries(key.account_id, key.subject)
        assert entry.list is ListName.BOUNCE
    codes = merged.entry_codes("acct-3", [k.subject for k in keys])
    assert [bool(c) for c in codes.tolist()] == [k.account_id == "acct-3" for k in keys]


def test_crc_collisions_never_deny_another_address() -> None:
    """Two keys with one CRC-32 share a bucket, yet each answers only for itself."""
    view = CompactView()
    # "plumless" and "buckeroo" are a known CRC-32 collision; the account prefix is the same.
    a, b = "plumless@x.example", "buckeroo@x.example"
    block = ListRecord(ListKey("acme", ListName.BLOCK, a), 1, True, reason=Reason.MANUAL, since=T0)
    view.apply(block.key, block)
    assert decide(view, "acme", a).rule == "suppressed"
    assert decide(view, "acme", b).rule == "default"
    assert view.address_entries("acme", b) == ()


def test_growth_keeps_every_entry() -> None:
    """Past its first size the table grows and still finds each of 20,000 addresses."""
    view = CompactView()
    for i in range(20_000):
        key = ListKey(f"acct-{i % 7}", ListName.UNSUBSCRIBE, f"user{i}@example.com")
        view.apply(key, ListRecord(key, 1, True, reason=Reason.UNSUBSCRIBE, since=T0))
    assert view.stats()["unsubscribe"] == 20_000
    assert all(view.address_entries(f"acct-{i % 7}", f"user{i}@example.com") for i in range(20_000))
    assert view.address_entries("acct-1", "user0@example.com") == ()


def test_domain_lists_are_kept_beside() -> None:
    """Domain rules travel through apply_encoded and the state like address entries."""
    key = ListKey("acme", ListName.DOMAIN_RULE, "example.com")
    rule = ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0, send_block=True)
    view = CompactView()
    view.apply_encoded(encode_key(key), encode_record(rule))
    restored = CompactView.from_state(*view.state())
    for v in (view, restored):
        lists = v.account_lists("acme")
        assert lists is not None
        assert lists.domain_rules["example.com"] == DomainRule(True, False, Reason.MANUAL, T0)
        assert decide(v, "acme", "jane@example.com").rule == "domain_block"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"not json", b"{}"),
        (b'["acme","bounce"]', b"{}"),
        (b'["acme","bounce","a@b.example"]', b'{"version":0,"active":true}'),
        (b'["acme","bounce","a@b.example"]', b'{"version":1,"active":true,"reason":42}'),
        (b'["acme","bounce","a@b.example"]', b'{"version":1,"active":true,"subject":"x@y.z"}'),
        (b'["acme","bounce","a@b.example"]', b'{"version":1,"active":true,"since":"yesterday"}'),
        (b'["acme","block","a@b.example"]',
         b'{"account_id":"acme","list":["block"],"subject":"a@b.example","version":1,"active":true}'),
        (b'["acme","block","a@b.example"]',
         b'{"account_id":{"a":1},"list":"block","subject":"a@b.example","version":1,"active":true}'),
    ],
)  # fmt: skip
def test_undecodable_records_raise_input_errors(key: bytes, value: bytes) -> None:
    """A record decode_record would refuse is refused here too, and changes nothing."""
    view = CompactView()
    with pytest.raises(InputError):
        view.apply_encoded(key, value)
    assert view.accounts() == []
    errors = view.apply_encoded_many([(key, value), (None, b"{}")])
    assert len(errors) == 2
    assert all(isinstance(error, InputError) for error in errors)
    assert view.accounts() == []
    assert view.stats() == CompactView().stats()


_FIELDS = b'"account_id":"acme","list":"bounce","subject":"a@b.example","active":true'


@pytest.mark.parametrize(
    "value",
    [
        b'{' + _FIELDS + b',"version":1,"reason":1}',  # plain: the loop's own path
        b'{' + _FIELDS + b',"version":1,"added_later":[1,{"x":null}]}',  # a field it does not know
        b'{' + _FIELDS + b',"version":1,"added_later":1e400}',  # not JSON to orjson
        b'{' + _FIELDS + b',"version":1,"added_later":"\xff"}',  # not UTF-8
        b'{' + _FIELDS + b',"version":1,"event_id":7}',  # a detail of another type
        b'{' + _FIELDS + b',"version":1,"expires_at":null}',
        b'{' + _FIELDS + b',"version":1.0}',
        b'{' + _FIELDS + b',"version":123456789012345678901234567890}',
        b'{' + _FIELDS + b',"version":9223372036854775807}',  # the largest a view holds
        b'{' + _FIELDS + b',"version":9223372036854775808}',  # one more: refused, no overflow
        b'{' + _FIELDS + b',"version":18446744073709551615}',
        b'{' + _FIELDS + b',"version":"2","version":2}',  # the last one counts
        b'{' + _FIELDS + b',"version":1,"reason":true}',
        b'{' + _FIELDS + b',"version":1,"since":"2025-01-01 00:00:00Z"}',
        b'{"account_id":"acme","list":"bounce","subject":"\\ud800","version":1,"active":true}',
        b'{' + _FIELDS + b',"version":1} x',
        None,
    ],
)  # fmt: skip
def test_the_loop_judges_each_value_as_apply_encoded(value: bytes | None) -> None:
    """Whatever the cold start's typed decode refuses takes the full check: the batch
    path keeps, changes and refuses exactly what ``apply_encoded`` does, with its error."""
    key = b'["acme","bounce","a@b.example"]'
    known = ListRecord(ListKey("acme", ListName.BLOCK, "c@d.example"), 1, True, since=T0)
    one, batch = CompactView(), CompactView()
    for view in (one, batch):  # the account known, as in a cold start past its first record
        view.apply(known.key, known)
    expected: list[tuple[type, str]] = []
    try:
        one.apply_encoded(key, value)
    except InputError as error:
        expected.append((type(error), str(error)))
    assert [(type(e), str(e)) for e in batch.apply_encoded_many([(key, value)])] == expected
    assert batch.stats() == one.stats()
    assert batch.address_entries("acme", "a@b.example") == one.address_entries(
        "acme", "a@b.example"
    )


def test_state_from_another_byte_order_is_refused() -> None:
    """A state written on a machine of the other byte order does not load."""
    meta, sections = CompactView().state()
    meta["byteorder"] = "big" if meta["byteorder"] == "little" else "little"
    with pytest.raises(ValueError, match="byte order"):
        CompactView.from_state(meta, sections)


def test_a_reader_between_two_writes_of_the_feed_never_raises() -> None:
    """The feed thread changes an entry in several steps while senders decide: a reader
    that found the slot before a removal, or the several-entries flag before the side
    dict, gets an answer (the entry taken as gone), never an exception."""
    view = CompactView()
    key = ListKey("acme", ListName.BLOCK, "jane@example.com")
    view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0))
    assert decide(view, "acme", "jane@example.com").rule == "suppressed"
    (entry,) = [e for e, flags in enumerate(view._flags) if flags]
    view._flags[entry] = 0xFE  # (removed: the slot still names it)
    assert decide(view, "acme", "jane@example.com").allowed
    assert view.address_entries("acme", "jane@example.com") == ()
    view._flags[entry] = 0xFF  # (several entries, the side dict not yet written)
    assert decide(view, "acme", "jane@example.com").allowed


def test_a_batch_probe_and_a_growing_view_share_it_safely() -> None:
    """While a thread appends (the arrays grow), batch probes read them through numpy:
    no append fails on a buffer being read, and every answer is one the view gave."""
    view = CompactView()
    keys = [ListKey("acme", ListName.BOUNCE, f"user{i}@example.com") for i in range(30_000)]
    encoded = [
        (
            encode_key(k),
            encode_record(ListRecord(k, 1, True, reason=Reason.NONEXISTENT, since=T0)),
        )
        for k in keys
    ]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for start in range(0, len(encoded), 500):
                assert view.apply_encoded_many(encoded[start : start + 500]) == []
        except BaseException as error:  # reported to the test's thread
            errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    probe = [k.subject for k in keys[::7]]
    while writer.is_alive():
        codes = view.entry_codes("acme", probe).tolist()
        assert set(codes) <= {0, view.entry_code("acme", keys[0].subject)}
    writer.join()
    assert errors == []
    assert all(view.entry_codes("acme", probe))
