"""The list tools (workers.service.list_tools) on a ListView built in memory."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client import decision
from suppressor_client.compact_view import CompactView
from suppressor_client.decision import decide
from suppressor_client.errors import TooLarge
from suppressor_client.types import CommandType, ListName, Reason
from suppressor_client.view import ListView

from tests.list_helpers import T0, domain_rule, record, suppression, view_of
from workers.domain.files import EXPORT_HEADER
from workers.service import list_tools as lists

A = "acme"
JANE = "jane@example.com"
NOW = T0 + timedelta(days=1)

RECORDS = (
    suppression(A, JANE, Reason.MANUAL, notes='vip; "keep"', event_id="e1"),
    suppression(A, "bob@example.com", Reason.TEMPORARY, expires_at=T0 + timedelta(days=7),
                delivery_id="dlv-9"),
    suppression(A, "bob@example.com", Reason.UNSUBSCRIBE),
    suppression(A, "gone@example.com", Reason.MANUAL, version=2, active=False),
    suppression("other", "ann@example.com", Reason.MANUAL),
    record(A, ListName.RECIPIENT_ALLOW, "vip@example.com"),
    domain_rule(A, "spam.example"),
    domain_rule("*", "shared.example"),
    record(A, ListName.DOMAIN_ALLOW, "ok.example"),
    record(A, ListName.URI_PATTERN, "^https://shop\\.example/"),
)  # fmt: skip
VIEW = view_of(*RECORDS)
COMPACT = CompactView()
for _record in RECORDS:
    COMPACT.apply(_record.key, _record)


def test_check_names_rule_and_reason() -> None:
    """Each address gets its decision with the rule and the reason code, as given."""
    results = lists.check(VIEW, A, [JANE, "new@ok.example", "x@spam.example", "nope"], now=NOW)
    assert [(r.address, r.allowed, r.rule, r.reason) for r in results] == [
        (JANE, False, "suppressed", Reason.MANUAL),
        ("new@ok.example", True, "default", None),
        ("x@spam.example", False, "domain_allow_list", None),
        ("nope", False, "invalid_address", None),
    ]
    assert results[0].as_dict()["reason_text"] == "manual intervention"


def test_check_honours_the_transactional_stream() -> None:
    """An unsubscribe does not deny a transactional message; an unexpired temporary bounce does."""
    (bob,) = lists.check(VIEW, A, ["bob@example.com"], "transactional", now=NOW)
    assert (bob.allowed, bob.reason) == (False, Reason.TEMPORARY)
    (later,) = lists.check(VIEW, A, ["bob@example.com"], "transactional", now=NOW + timedelta(30))
    assert later.rule == "domain_allow_list"  # no suppression speaks any more


def test_filter_keeps_allowed_as_given_and_counts_exclusions_by_reason() -> None:
    """Allowed addresses come out trimmed and in order; the rest are counted by rule and reason."""
    group = [f" {JANE} ", "", "a@ok.example", "b@ok.example", "c@elsewhere.example", "bad", "  "]
    result = lists.filter_addresses(VIEW, A, group, now=NOW)
    assert result.allowed == ["a@ok.example", "b@ok.example"]
    assert result.excluded == Counter(
        {"suppressed 2 (manual intervention)": 1, "domain_allow_list": 1, "invalid_address": 1}
    )
    assert result.invalid == ["bad"]
    assert result.as_dict()["total"] == 5


@given(st.lists(st.sampled_from([JANE, "a@ok.example", "zz", "q@x.example"]), max_size=30))
def test_filter_partitions_the_group(group: list[str]) -> None:
    """Every address is either allowed or counted once among the excluded."""
    result = lists.filter_addresses(VIEW, A, group, now=NOW)
    assert result.total == len(group)
    assert len(result.allowed) == sum(1 for a in group if a == "a@ok.example")


def test_column_values_by_number_and_by_name() -> None:
    """A CSV column is picked by its 1-based number, or by its header name in any case."""
    rows = ["id;Email;name", "1;a@x.example;A", '2;"b@x.example";B', "3"]
    assert list(lists.column_values(rows, "2")) == ["Email", "a@x.example", "b@x.example"]
    assert list(lists.column_values(rows, "email")) == ["a@x.example", "b@x.example"]
    with pytest.raises(ValueError, match="no column"):
        list(lists.column_values(rows, "mail"))
    with pytest.raises(ValueError, match="start at 1"):
        list(lists.column_values(rows, "0"))


def test_export_has_every_field_and_only_active_suppressions() -> None:
    """The export lists each active suppression entry of the account with all SPEC §8 fields."""
    lines = list(lists.export_rows(VIEW, A))
    assert lines[0] == ";".join(EXPORT_HEADER) + "\r\n"
    assert lines[1:] == [
        "bob@example.com;example.com;2024-01-01T00:00:00Z;8;bounce;2024-01-08T00:00:00Z;dlv-9;\r\n",
        "bob@example.com;example.com;2024-01-01T00:00:00Z;4;unsubscribe;;;\r\n",
        'jane@example.com;example.com;2024-01-01T00:00:00Z;2;block;;;"vip; ""keep"""\r\n',
    ]


def test_domain_lists_uri_patterns_and_body_check() -> None:
    """Domain rules, the allow list and URI patterns are listed; a body is checked against them."""
    held = lists.domain_lists(VIEW, A)
    assert [r["domain"] for r in held["rules"]] == ["spam.example"]
    assert held["allow"] == ["ok.example"]
    assert lists.uri_patterns(VIEW, A) == ["^https://shop\\.example/"]
    assert lists.domain_lists(VIEW, "nobody") == {"rules": [], "allow": []}
    ok = lists.check_uri(VIEW, A, '<a href="https://shop.example/a">a</a>')
    assert ok.allowed
    bad = lists.check_uri(VIEW, A, "see https://evil.example/x and https://shop.example/b", False)
    assert (bad.allowed, bad.offending) == (False, ["https://evil.example/x"])
    assert lists.check_uri(VIEW, "nobody", "https://evil.example/").allowed
    with pytest.raises(TooLarge):
        lists.check_uri(VIEW, A, "https://shop.example/ " * 2_000_000)


def test_stats_of_one_account_and_of_all() -> None:
    """Per-account stats count that account's active entries; global stats count all."""
    one = lists.stats(VIEW, A)
    assert (one["block"], one["bounce"], one["unsubscribe"], one["recipient-allow"]) == (1, 1, 1, 1)
    assert one["domain-rule"] == 1
    assert "view" not in one
    everything = lists.stats(VIEW)
    assert everything["block"] == 2
    assert everything["accounts"] == 3


def test_make_command_leaves_out_empty_fields() -> None:
    """A command body carries its type and account and only the fields that are set."""
    assert lists.make_command(CommandType.ADDRESS_BLOCK, A, email=JANE, notes=None) == {
        "type": "address.block",
        "account_id": A,
        "email": JANE,
    }


def test_read_text_drops_bom_and_any_line_ending() -> None:
    """A target-group file in UTF-8 with a BOM and mixed line endings reads line by line."""
    assert lists.read_text("\ufeffa@x.example\r\nb@x.example\rc@x.example\n".encode()) == [
        "a@x.example",
        "b@x.example",
        "c@x.example",
    ]


_PADDED = st.tuples(
    st.sampled_from(["", " ", "\t", "  \n"]),
    st.sampled_from([JANE, "bob@example.com", "vip@example.com", "a@ok.example", "ann@example.com",
                     "x@spam.example", "y@shared.example", "JANE@Example.com", "zz", "", "@@"]),
    st.sampled_from(["", " ", "\r\n"]),
).map("".join)  # fmt: skip


@given(
    st.lists(_PADDED, max_size=60),
    st.sampled_from(["marketing", "transactional"]),
    st.sampled_from([VIEW, COMPACT]),
    st.integers(1, 9),
)
def test_filter_matches_decide_one_by_one(
    group: list[str], stream: str, view: ListView, chunk: int
) -> None:
    """The batch filter gives what ``decide`` gives each trimmed address, in order and
    counts, on either view and in chunks of any size."""
    given_ = [a.strip() for a in group if a.strip()]
    decisions = [decide(view, A, a, stream, NOW) for a in given_]
    expected: Counter[str] = Counter()
    for d in decisions:
        if not d.allowed:
            expected[lists.exclusion_label(d)] += 1
    with patch.object(decision, "_CHUNK", chunk):
        result = lists.filter_addresses(view, A, group, stream, now=NOW)
    assert result.allowed == [a for a, d in zip(given_, decisions, strict=True) if d.allowed]
    assert list(result.excluded.items()) == list(expected.items())  # first-seen order too
    invalid = [a for a, d in zip(given_, decisions, strict=True) if d.rule == "invalid_address"]
    assert result.invalid == invalid
