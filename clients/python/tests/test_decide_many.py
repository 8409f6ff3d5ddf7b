"""decide_many and decide's fast paths give what SPEC §7's steps give on the entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client import compact_view, decision
from suppressor_client.addresses import domain_of, normalize_address
from suppressor_client.batches import same_bytes
from suppressor_client.compact_view import CompactView
from suppressor_client.decision import Decision, decide, decide_many
from suppressor_client.errors import InvalidAddress
from suppressor_client.types import ListKey, ListName, ListRecord, Reason
from suppressor_client.view import ENTRY_COMPLEX, ENTRY_NONE, LIST_CODES, ListView

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ACCOUNTS = ("acme", "*", "beta")
DOMAINS = ("example.com", "mail.example.com", "shop.example", "bücher.de", "xn--bcher-kva.de")
LOCALS = ("jane", "john", "a.b+tag", "zoë", "x")
REASONS = (Reason.NONEXISTENT, Reason.MANUAL, Reason.UNSUBSCRIBE, Reason.TEMPORARY, None)
STREAMS = ("marketing", "transactional", "Transactional ", "other")
UNUSUAL = ("", " ", "no-at-sign", "two@@example.com", "JANE@Example.COM", " jane@example.com ",
           "jane@example.com\n", "a\nb@example.com", "jane@-bad.example", "x" * 70 + "@example.com",
           "jane@123", "jane@example.com.", "\ud800@example.com")  # fmt: skip

addresses = st.builds(
    lambda local, domain: f"{local}@{domain}", st.sampled_from(LOCALS), st.sampled_from(DOMAINS)
)


@st.composite
def views(draw: st.DrawFn) -> list[tuple[ListKey, ListRecord]]:
    """Address entries (several on one address, temporary ones, releases), domain rules and
    domain allow lists, for the account, another one and the platform."""
    out: list[tuple[ListKey, ListRecord]] = []
    for _ in range(draw(st.integers(0, 30))):
        account = draw(st.sampled_from(ACCOUNTS))
        kind = draw(st.integers(0, 9))
        if kind < 7:
            normal = normalize_address(draw(addresses))
            key = ListKey(account, draw(st.sampled_from(LIST_CODES)), normal)
            expires = draw(st.none() | st.integers(0, 10).map(lambda d: T0 + timedelta(days=d)))
            record = ListRecord(key, 1, draw(st.booleans()), reason=draw(st.sampled_from(REASONS)),
                                since=T0, expires_at=expires)  # fmt: skip
        else:
            pattern = draw(st.sampled_from(("example.com", "*.example.com", "shop.example")))
            name = ListName.DOMAIN_RULE if kind < 9 else ListName.DOMAIN_ALLOW
            key = ListKey(account, name, pattern)
            record = ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0, send_block=True)
        out.append((key, record))
    return out


def reference(view: ListView, account: str, address: str, stream: str, now: datetime) -> Decision:
    """The steps on the entries themselves, with the full normalisation."""
    try:
        normal = normalize_address(address)
    except InvalidAddress:
        return Decision(False, "invalid_address")
    transactional = decision._transactional(stream)
    own = view.address_entries(account, normal)
    shared = view.address_entries("*", normal) if account != "*" else ()
    answer = decision._address_steps(own, shared, transactional, now)
    return answer if answer is not None else decision._domain_step(view, account, domain_of(normal))


@settings(max_examples=300, deadline=None)
@given(
    views(),
    st.lists(addresses | st.sampled_from(UNUSUAL), max_size=12),
    st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(STREAMS)),
    st.integers(0, 12).map(lambda d: T0 + timedelta(days=d)),
    st.integers(1, 5),
)
def test_batch_and_single_answer_as_the_steps(
    records: list[tuple[ListKey, ListRecord]],
    batch: list[str],
    asking: tuple[str, str],
    now: datetime,
    chunk: int,
) -> None:
    """On either view, decide_many (in chunks of any size) equals decide one by one, and
    both equal the steps on the entries."""
    account, stream = asking
    for view in (ListView(keep_details=False), CompactView()):
        for key, record in records:
            view.apply(key, record)
        expected = [reference(view, account, a, stream, now) for a in batch]
        with patch.object(decision, "_CHUNK", chunk):
            assert decide_many(view, account, batch, stream, now) == expected
        assert [decide(view, account, a, stream, now) for a in batch] == expected


def test_a_domain_rule_arriving_replaces_the_cached_domain_answers() -> None:
    """decide caches domain steps per view; a new domain rule is honoured at once."""
    view = CompactView()
    assert decide(view, "acme", "jane@example.com").rule == "default"
    key = ListKey("acme", ListName.DOMAIN_RULE, "example.com")
    view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0, send_block=True))
    assert decide(view, "acme", "jane@example.com").rule == "domain_block"
    assert decide_many(view, "acme", ["jane@example.com"]) == [
        decide(view, "acme", "jane@example.com")
    ]


def test_entry_codes_agree_between_the_views() -> None:
    """A plain entry, several entries, a temporary one and none give equal codes."""
    plain, compact = ListView(keep_details=False), CompactView()
    entries = [
        (ListName.BOUNCE, "a@example.com", None),
        (ListName.BLOCK, "b@example.com", None),
        (ListName.UNSUBSCRIBE, "b@example.com", None),
        (ListName.BOUNCE, "c@example.com", T0 + timedelta(days=1)),
    ]
    for name, subject, expires in entries:
        key = ListKey("acme", name, subject)
        record = ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0, expires_at=expires)
        plain.apply(key, record)
        compact.apply(key, record)
    probe = ["a@example.com", "b@example.com", "c@example.com", "d@example.com", ""]
    codes = plain.entry_codes("acme", probe).tolist()
    assert codes == compact.entry_codes("acme", probe).tolist()
    assert codes == [plain.entry_code("acme", a) for a in probe]
    assert codes == [compact.entry_code("acme", a) for a in probe]
    assert codes[0] > 0
    assert codes[1:] == [ENTRY_COMPLEX, ENTRY_COMPLEX, ENTRY_NONE, ENTRY_NONE]


@settings(max_examples=150, deadline=None)
@given(
    views(),
    st.lists(addresses | st.sampled_from(UNUSUAL), max_size=12),
    st.sampled_from(ACCOUNTS),
    st.integers(1, 5),
)
def test_every_key_on_one_hash_still_answers_exactly(
    records: list[tuple[ListKey, ListRecord]], batch: list[str], account: str, chunk: int
) -> None:
    """With a CRC-32 that is the same for every key, all of them share one chain of slots
    (keys of other accounts, other lengths, same lengths): the batch probe still compares
    each stored key with the one asked and answers as ListView does."""
    now = T0 + timedelta(days=5)
    with patch.object(compact_view, "crc32", lambda _data, _start=0: 7):
        plain, compact = ListView(keep_details=False), CompactView()
        for key, record in records:
            plain.apply(key, record)
            compact.apply(key, record)
        with patch.object(decision, "_CHUNK", chunk):
            got = decide_many(compact, account, batch, "marketing", now)
        assert got == decide_many(plain, account, batch, "marketing", now)
        assert got == [decide(compact, account, a, "marketing", now) for a in batch]


def test_domains_alike_at_both_ends_are_told_apart() -> None:
    """Domains of one length and the same first and last 8 bytes share a group in the
    batch's domain step; each still gets its own rule."""
    view = CompactView()
    blocked, other = "abcdefgh.middle1.ijklmnop", "abcdefgh.middle2.ijklmnop"
    key = ListKey("acme", ListName.DOMAIN_RULE, blocked)
    view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0, send_block=True))
    batch = [f"u{i}@{blocked if i % 3 else other}" for i in range(50)]
    got = decide_many(view, "acme", batch)
    assert got == [decide(view, "acme", a) for a in batch]
    assert {d.rule for d in got} == {"domain_block", "default"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40))))
def test_same_bytes_is_the_slices_equality(data: bytes, spans: list[tuple[int, int]]) -> None:
    """The word-wise comparison equals comparing the slices, up to the buffer's last byte."""
    spans = [(start, length) for start, length in spans if start + length <= len(data)]
    starts = np.array([s for s, _ in spans], np.int64)
    lengths = np.array([n for _, n in spans], np.int64)
    asked = data[::-1]
    firsts = np.array([len(data) - s - n for s, n in spans], np.int64)  # the same span, reversed
    got = same_bytes(np.frombuffer(data, np.uint8), starts, np.frombuffer(asked + bytes(8),
                     np.uint8), firsts, lengths).tolist()  # fmt: skip
    assert got == [data[s : s + n] == asked[len(data) - s - n : len(data) - s] for s, n in spans]


def test_entry_codes_of_keys_with_line_breaks_or_lone_surrogates() -> None:
    """Subjects that the joined batch cannot hold one a line still find their entries."""
    plain, compact = ListView(keep_details=False), CompactView()
    odd = ["x\ny@example.com", "\ud800@example.com", "plain@example.com"]
    for subject in odd:
        key = ListKey("acme", ListName.BLOCK, subject)
        record = ListRecord(key, 1, True, reason=Reason.MANUAL, since=T0)
        plain.apply(key, record)
        compact.apply(key, record)
    probe = [*odd, "y@example.com", "x", "\ud800@example.org"]
    assert compact.entry_codes("acme", probe).tolist() == plain.entry_codes("acme", probe).tolist()
    assert compact.entry_codes("acme", odd).tolist() == [plain.entry_code("acme", a) for a in odd]
    assert all(compact.entry_codes("acme", probe)[:3])
