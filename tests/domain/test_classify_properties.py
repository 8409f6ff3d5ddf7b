"""Properties of bounce classification: the bias of CLASSIFICATION.md holds for any input."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.types import BounceDetails, Outcome

from tests.domain.classify_helpers import example
from workers.domain import classify_rules as rules
from workers.domain.classify import classify
from workers.domain.classify_phrases import Kind
from workers.domain.classify_text import ALL_PHRASES, phrases_of

N = Outcome.NONEXISTENT


def _of(*kinds: Kind) -> st.SearchStrategy[str]:
    return st.sampled_from([example(row) for kind in kinds for row in phrases_of(kind)])


def _has_marker(text: str) -> bool:
    """Whether the text holds the start of a returned copy (which a frame would move)."""
    collapsed = " ".join(text.split()).lower()
    return any(row.text in collapsed for row in phrases_of(Kind.ORIGINAL))


ANY_PHRASE = st.sampled_from([example(row) for row in ALL_PHRASES])
MISSING = _of(Kind.MAILBOX_MISSING, Kind.DOMAIN_MISSING)
AGAINST_NONEXISTENT = _of(Kind.SENDER, Kind.POLICY, Kind.FULL, Kind.DISABLED, Kind.TRANSIENT)
NOISE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
TEXT = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.builds(lambda a, p, b: f"{a} {p} {b}", NOISE, ANY_PHRASE, NOISE),
    st.lists(ANY_PHRASE, min_size=1, max_size=4).map(" ".join),
)
PROVIDER_FIELD = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from(
        [key for rows in rules.PROVIDER_TABLES.values() for row in rows for key in row[:2]]
    ),
)
DETAILS = st.builds(
    BounceDetails,
    smtp_status=st.one_of(
        st.none(),
        st.text(max_size=12),
        st.from_regex(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
    ),
    smtp_code=st.one_of(st.none(), st.integers(min_value=-1000, max_value=1000)),
    diagnostic=TEXT,
    provider=st.one_of(
        st.none(), st.text(max_size=10), st.sampled_from(list(rules.PROVIDER_TABLES))
    ),
    provider_type=PROVIDER_FIELD,
    provider_subtype=PROVIDER_FIELD,
)

NONEXISTENT_BOUNCES = [
    BounceDetails(smtp_status="5.1.1"),
    BounceDetails(smtp_code=550, diagnostic="550 5.1.1 user unknown"),
    BounceDetails(diagnostic="Sorry, no mailbox here by that name. (#5.1.1)"),
    BounceDetails(diagnostic="User jane (jane@example.com) not listed in Domino Directory"),
    BounceDetails(diagnostic="550 Recipient address rejected: Access denied", smtp_status="5.4.1"),
    BounceDetails(smtp_status="5.4.4", diagnostic="NXDOMAIN"),
    BounceDetails(diagnostic="该用户不存在"),
    BounceDetails(diagnostic="Empfänger unbekannt"),
    BounceDetails(smtp_code=556),
    BounceDetails(provider="sendgrid", provider_type="bounce", provider_subtype="Invalid Address"),
    BounceDetails(provider="ses", provider_type="Permanent", provider_subtype="NoEmail"),
    BounceDetails(provider="postmark", provider_type="HardBounce"),
]


@settings(max_examples=400)
@given(DETAILS)
def test_classify_never_raises(details: BounceDetails) -> None:
    """Any BounceDetails classifies to an Outcome with some evidence."""
    result = classify(details)
    assert isinstance(result.outcome, Outcome)
    assert result.evidence


@settings(max_examples=400)
@given(DETAILS, st.from_regex(r"4\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True))
def test_transient_status_is_never_nonexistent(details: BounceDetails, status: str) -> None:
    """A 4.x.x enhanced code, with any text, code or provider fields, is never nonexistent."""
    assert classify(replace(details, smtp_status=status)).outcome is not N


@settings(max_examples=500)
@given(DETAILS, st.integers(min_value=400, max_value=499))
def test_transient_reply_code_is_never_nonexistent(details: BounceDetails, code: int) -> None:
    """A 4xx reply code, whatever the rest says, is never nonexistent."""
    assert classify(replace(details, smtp_code=code)).outcome is not N


@settings(max_examples=500)
@given(MISSING, NOISE, st.from_regex(r"4[0-5][0-9] 4\.[0-9]\.[0-9]{1,2}", fullmatch=True))
def test_transient_code_in_the_text_is_never_nonexistent(
    phrase: str, noise: str, code: str
) -> None:
    """A 4xx / 4.x.x written in the diagnostic itself keeps "user unknown" from nonexistent."""
    assert classify(BounceDetails(diagnostic=f"{code} {noise} {phrase}")).outcome is not N


def test_nonexistent_examples_are_nonexistent() -> None:
    """The base examples of the mixed-evidence property really are nonexistent."""
    assert all(classify(details).outcome is N for details in NONEXISTENT_BOUNCES)


@settings(max_examples=800)
@given(
    st.sampled_from(NONEXISTENT_BOUNCES),
    AGAINST_NONEXISTENT,
    NOISE.filter(lambda noise: not _has_marker(noise)),
    st.booleans(),
)
def test_mixed_evidence_is_never_nonexistent(
    details: BounceDetails, phrase: str, noise: str, before: bool
) -> None:
    """Sender, policy, full, disabled or temporary text beside a dead address: never dead.

    (Noise that starts a returned copy, such as "Return-Path: <", is left out: what
    follows it is the original message, not evidence, by design.)"""
    base = details.diagnostic or ""
    added = f"{noise} {phrase.upper()} {noise}"
    text = f"{added} {base}" if before else f"{base} {added}"
    assert classify(replace(details, diagnostic=text)).outcome is not N


@settings(max_examples=500)
@given(_of(Kind.SENDER), MISSING, st.sampled_from(["5.1.1", "5.1.0", "5.1.2", None]))
def test_text_about_the_sender_is_never_about_the_recipient(
    sender: str, missing: str, status: str | None
) -> None:
    """Text about the sender is policy, even with a 5.1.x code and a "does not exist"."""
    result = classify(BounceDetails(smtp_status=status, diagnostic=f"{sender}: {missing}"))
    assert result.outcome is Outcome.POLICY


@settings(max_examples=300)
@given(MISSING, st.sampled_from(["", "Sorry, ", "Mail delivery failed: ", "<jane@example.com>: "]))
def test_no_code_missing_text_alone_is_nonexistent(phrase: str, lead: str) -> None:
    """With no code at all, an unambiguous "no such user / domain" is nonexistent."""
    assert classify(BounceDetails(diagnostic=f"{lead}{phrase}")).outcome is N


@settings(max_examples=500)
@given(_of(Kind.WRAPPER), TEXT.filter(lambda text: text is not None and not _has_marker(text)))
def test_wrappers_never_change_the_outcome(frame: str, reason: str | None) -> None:
    """Putting a provider's friendly frame around a reason changes nothing."""
    assert reason is not None
    plain = classify(BounceDetails(diagnostic=reason)).outcome
    framed = classify(BounceDetails(diagnostic=f"{frame} {reason}")).outcome
    assert framed is plain


@settings(max_examples=500)
@given(
    _of(Kind.ORIGINAL),
    st.sampled_from(
        [example(row) for row in ALL_PHRASES if row.kind not in (Kind.ORIGINAL, Kind.WRAPPER)]
    ),
    TEXT,
)
def test_the_returned_copy_never_changes_the_outcome(
    marker: str, reason: str, copy: str | None
) -> None:
    """Whatever the returned copy holds after its marker, the reason before it decides."""
    plain = classify(BounceDetails(diagnostic=f"550 {reason}")).outcome
    with_copy = classify(BounceDetails(diagnostic=f"550 {reason} {marker} {copy or ''}"))
    assert with_copy.outcome is plain


@settings(max_examples=500)
@given(ANY_PHRASE, st.sampled_from(["5.0.0", "5.1.1", "4.2.2", None]))
def test_case_does_not_matter(phrase: str, status: str | None) -> None:
    """Servers shout or whisper: the outcome of a phrase does not depend on its case."""
    lower = classify(BounceDetails(smtp_status=status, diagnostic=phrase)).outcome
    upper = classify(BounceDetails(smtp_status=status, diagnostic=phrase.upper())).outcome
    assert upper is lower
