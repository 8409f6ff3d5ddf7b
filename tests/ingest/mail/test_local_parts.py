"""Recipients that a bounce names by local part alone (directory gateways, JetMail): the
address comes from the returned original only when exactly one recipient there matches;
otherwise the report keeps the server's words and lists nobody."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from suppressor_client.types import BounceDetails

from tests.ingest.mail.helpers import fixture
from workers.domain.classify import classify
from workers.ingest.mail.pipeline import process_message
from workers.ingest.mail.resolve import MailConfig
from workers.ingest.mail.textbounce import complete_local

CONFIG = MailConfig(default_account="acme")  # no VERP: nothing but the text names a recipient
NOW = datetime(2025, 6, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "originals", "want"),
    [
        ("rkwan", ("rkwan@campus.example", "news@acme.example"), "rkwan@campus.example"),
        ("RKwan", ("rkwan@campus.example",), "rkwan@campus.example"),  # local parts fold
        ("lee", ("lee@campus.example", "lee@alumni.campus.example"), None),  # two: unknown
        ("dylan", ("userz@isp.example",), None),  # none matches: never guessed
        ("rkwan", (), None),  # no returned original
    ],
)
def test_a_local_part_completes_only_from_exactly_one_match(
    local: str, originals: tuple[str, ...], want: str | None
) -> None:
    """complete_local gives the one original recipient with that local part, else None."""
    assert complete_local(local, originals) == want


@pytest.mark.parametrize(
    ("name", "email", "outcome"),
    [
        ("phquery-alias-completed.eml", "rkwan@campus.example", "nonexistent"),
        ("jetmail-mailbox-full.eml", "lihua@isp.example.cn", "condition"),
        ("generic-address-clause.eml", "j.smith@lab.example", "nonexistent"),
    ],
)
def test_completed_recipients_classify_and_become_events(
    name: str, email: str, outcome: str
) -> None:
    """A directory gateway's "no match", JetMail's "mail box space not enough" and an
    address inside a sentence become one event each, with the classification they say."""
    processed = process_message(fixture(name), name, CONFIG, now=NOW)
    (resolution,) = processed.resolutions
    assert (resolution.email, resolution.outcome) == (email, outcome)
    assert processed.understood and processed.events == 1


def test_an_ambiguous_local_part_lists_nobody_and_goes_to_the_dead_letter_topic() -> None:
    """Two original recipients share the local part: the report keeps the gateway's words
    (unknown, not nonexistent: "ambiguous" says nothing of a dead address) but names no
    address, so the message goes whole to bounce-mail.dlq as no_recipient."""
    processed = process_message(fixture("phquery-alias-ambiguous.eml"), "x", CONFIG, now=NOW)
    (resolution,) = processed.resolutions
    assert resolution.email is None and resolution.kind == "unresolved"
    assert resolution.error is not None and resolution.error["code"] == "no_recipient"
    assert processed.events == 0 and not processed.understood
    report = resolution.report
    verdict = classify(BounceDetails(diagnostic=report.diagnostic))
    assert verdict.outcome != "nonexistent"


def test_a_local_part_is_never_completed_with_another_organisations_address() -> None:
    """The gateway of one organisation says "no such user" of a bare local part; the
    original also went to the same local part at another organisation. That address is
    not the one meant and is never listed: nobody is named (dead-letter, no_recipient)."""
    raw = fixture("phquery-alias-completed.eml").replace(
        b"rkwan@campus.example", b"rkwan@elsewhere.example"
    )
    assert b"rkwan@elsewhere.example" in raw
    processed = process_message(raw, "x", CONFIG, now=NOW)
    (resolution,) = processed.resolutions
    assert resolution.email is None and resolution.kind == "unresolved"
    assert processed.events == 0
