"""Every row of the diagnostic phrase tables decides what its kind says (CLASSIFICATION.md)."""

from __future__ import annotations

import pytest
import re2
from suppressor_client.types import BounceDetails, Outcome

from tests.domain.classify_helpers import REGEX_EXAMPLES, example
from workers.domain.classify import classify
from workers.domain.classify_phrases import Kind, Phrase
from workers.domain.classify_text import ALL_PHRASES, phrases_of, scan

N = Outcome.NONEXISTENT
C = Outcome.CONDITION
P = Outcome.POLICY
U = Outcome.UNKNOWN
IGNORED = Outcome.IGNORED


def outcome_of(text: str, **fields: object) -> Outcome:
    return classify(BounceDetails(diagnostic=text, **fields)).outcome  # type: ignore[arg-type]


def rows(kind: Kind) -> list[Phrase]:
    return list(phrases_of(kind))


def row_id(row: Phrase) -> str:
    return row.text


# --- the tables are well formed -------------------------------------------------------


def test_every_row_is_lower_case_sourced_and_unique() -> None:
    """Rows are lower case (the text is lower-cased before the scan), sourced, and unique."""
    seen: set[tuple[Kind, str]] = set()
    for row in ALL_PHRASES:
        assert row.source.strip(), row
        assert row.text == row.text.lower(), row
        assert (row.kind, row.text) not in seen, row
        seen.add((row.kind, row.text))


@pytest.mark.parametrize("row", [row for row in ALL_PHRASES if row.regex], ids=row_id)
def test_regex_rows_compile_and_match_their_example(row: Phrase) -> None:
    """Each RE2 row compiles and finds its documented example."""
    assert re2.compile(row.text).search(REGEX_EXAMPLES[row.text]) is not None


def test_mail_from_row_skips_the_command_echo() -> None:
    """ "MAIL FROM" about the sender counts; a transcript's "MAIL From:<a@b>" echo does not."""
    assert scan("rejected after mail from command").get(Kind.SENDER) is not None
    assert scan(" mail from:<list@example.org> size=1861 250 ok").get(Kind.SENDER) is None
    assert scan("mail from: <list@example.org>").get(Kind.SENDER) is None
    assert scan("remove some email from the server").get(Kind.SENDER) is None


# --- each kind decides what CLASSIFICATION.md says ------------------------------------


@pytest.mark.parametrize("row", rows(Kind.MAILBOX_MISSING), ids=row_id)
def test_mailbox_missing_rows(row: Phrase) -> None:
    """A missing-user row is nonexistent with class 5 or no code, never with a 4xx."""
    text = f"<jane@example.com>: {example(row)}"
    assert outcome_of(f"550 5.0.0 {text}") is N
    assert outcome_of(text) is N
    assert outcome_of(text, smtp_code=550) is N
    assert outcome_of(f"450 4.0.0 {text}") is U
    assert outcome_of(text, smtp_status="4.1.1") is U


@pytest.mark.parametrize("row", rows(Kind.DOMAIN_MISSING), ids=row_id)
def test_domain_missing_rows(row: Phrase) -> None:
    """A missing-domain row makes 5.4.4 nonexistent, and no-code text too; 4.4.4 never."""
    text = f"example.com: {example(row)}"
    assert outcome_of(text, smtp_status="5.4.4") is N
    assert outcome_of(text) is N
    assert outcome_of(text, smtp_status="4.4.4") is not N


@pytest.mark.parametrize("row", rows(Kind.MAILBOX_MISSING), ids=row_id)
def test_mailbox_rows_do_not_satisfy_the_544_gate(row: Phrase) -> None:
    """5.4.4 needs the domain to be missing: a missing-user phrase alone leaves it unknown."""
    if scan(example(row)).get(Kind.DOMAIN_MISSING) is None:
        assert outcome_of(example(row), smtp_status="5.4.4") is U


@pytest.mark.parametrize("row", rows(Kind.SENDER), ids=row_id)
def test_sender_rows_are_policy(row: Phrase) -> None:
    """Text about the sender is policy, even beside a 5.1.1 and "user unknown"."""
    assert outcome_of(f"553 5.1.1 {example(row)} <x>: user unknown") is P
    assert outcome_of(f"{example(row)}: no such user") is P


@pytest.mark.parametrize("row", rows(Kind.POLICY), ids=row_id)
def test_policy_rows_are_policy(row: Phrase) -> None:
    """Spam, relaying, authentication, rate and size text is policy, even over 5.1.1."""
    assert outcome_of(f"550 5.1.1 user unknown ({example(row)})") is P
    assert outcome_of(f"{example(row)} - user unknown") is P


@pytest.mark.parametrize("row", rows(Kind.FULL) + rows(Kind.DISABLED), ids=row_id)
def test_condition_rows_are_condition(row: Phrase) -> None:
    """Full and disabled mailboxes are condition, over a 5.1.1 and with no code at all."""
    assert outcome_of(f"550 5.1.1 <jane@example.com>: {example(row)}") is C
    assert outcome_of(f"user unknown or {example(row)}") is C
    assert outcome_of(example(row)) is C


@pytest.mark.parametrize("row", rows(Kind.DIRECTORY_REJECT), ids=row_id)
def test_directory_reject_rows_need_541(row: Phrase) -> None:
    """Office 365's "access denied" rows are nonexistent as 5.4.1 only."""
    assert outcome_of(f"550 5.4.1 {example(row)}. AS(201806281)") is N
    for status in ("5.7.1", "5.0.0", None):
        assert outcome_of(example(row), smtp_status=status) is not N


@pytest.mark.parametrize("row", rows(Kind.TRANSIENT), ids=row_id)
def test_transient_rows_veto_nonexistent(row: Phrase) -> None:
    """Temporary text beside "user unknown" or a missing domain is unknown, not nonexistent."""
    assert outcome_of(f"user unknown; {example(row)}") is U
    assert outcome_of(f"550 5.1.1 user unknown; {example(row)}") is U
    assert outcome_of(f"host not found ({example(row)})", smtp_status="5.4.4") is U


@pytest.mark.parametrize("row", rows(Kind.DELAYED), ids=row_id)
def test_delay_rows_are_ignored_unless_class_5(row: Phrase) -> None:
    """A delay warning is not a bounce; a class-5 failure with the same words still counts."""
    assert outcome_of(f"{example(row)}. connection timed out") is IGNORED
    assert outcome_of(f"{example(row)}: mailbox is full", smtp_status="4.2.2") is IGNORED
    assert outcome_of(f"550 5.1.1 user unknown ({example(row)})") is N


@pytest.mark.parametrize("row", rows(Kind.AUTO_REPLY) + rows(Kind.DELIVERED), ids=row_id)
def test_not_bounce_rows_are_ignored(row: Phrase) -> None:
    """Auto-replies and delivery notices without a failure code are ignored."""
    assert outcome_of(f"re: your message - {example(row)}") is IGNORED


@pytest.mark.parametrize("row", rows(Kind.WRAPPER), ids=row_id)
def test_wrappers_are_not_evidence(row: Phrase) -> None:
    """A friendly frame changes nothing: the reason inside it decides, alone it is unknown."""
    frame = example(row)
    assert outcome_of(f"{frame} <jane@example.com>: user unknown") is N
    assert outcome_of(f"{frame} the user's mailbox is full") is C
    assert outcome_of(f"{frame} 550 5.7.1 message rejected as spam") is P
    assert outcome_of(frame) is U


@pytest.mark.parametrize("row", rows(Kind.ORIGINAL), ids=row_id)
def test_the_returned_copy_is_not_evidence(row: Phrase) -> None:
    """Nothing after the start of the returned copy counts: not its headers, not its codes."""
    copy = "x-spam-status: yes, spf=pass dkim=pass; 554 5.7.1 rejected as spam"
    assert outcome_of(f"550 5.1.1 <jane@example.com>: user unknown {example(row)} {copy}") is N
    assert outcome_of(f"the user's mailbox is full. {example(row)} {copy} user unknown") is C
    assert outcome_of(f"no reason given. {example(row)} 550 5.1.1 user unknown") is U


def test_a_returned_copy_marker_at_the_very_start_cuts_nothing() -> None:
    """A header block passed whole (the text starts with it) is read, not dropped."""
    assert outcome_of("Received: from mx.example.com; 550 5.1.1 user unknown") is N


def test_wrapper_words_do_not_leak_into_the_reason() -> None:
    """cPanel's "may be blacklisted" frame around "No Such User Here" is still nonexistent."""
    text = (
        "The mail server could not deliver mail to jane@example.com. The account or domain "
        "may not exist, they may be blacklisted, or missing the proper dns entries. "
        "No Such User Here"
    )
    assert outcome_of(text) is N
    godaddy = (
        "We're sorry. There's a problem with the e-mail address(es) you're trying to send "
        "to. Please verify the address(es) and try again. <jane@example.com>: The e-mail "
        "message could not be delivered because the user's mailfolder is full."
    )
    assert outcome_of(godaddy) is C


def test_evidence_of_a_regex_row_is_what_it_matched() -> None:
    """A regex row's evidence is the matched text, readable in an audit."""
    result = classify(
        BounceDetails(
            diagnostic=(
                "Your message to jane couldn't be delivered. jane wasn't found at example.com."
            )
        )
    )
    assert result.outcome is N
    assert result.evidence == ('text:"wasn\'t found at example.com."',)
