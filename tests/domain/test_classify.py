"""Table and property tests of bounce and complaint classification (CLASSIFICATION.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from suppressor_client.types import BounceDetails, DeliveryEvent, DeliveryType, Outcome

from workers.domain import classify_rules as rules
from workers.domain.classify import (
    Classification,
    classify,
    classify_delivery,
    classify_feedback,
)

N = Outcome.NONEXISTENT
C = Outcome.CONDITION
P = Outcome.POLICY
U = Outcome.UNKNOWN
IGNORED = Outcome.IGNORED
COMPLAINT = Outcome.COMPLAINT
UNSUBSCRIBE = Outcome.UNSUBSCRIBE


def outcome_of(**fields: object) -> Outcome:
    return classify(BounceDetails(**fields)).outcome  # type: ignore[arg-type]


# --- enhanced status codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("5.1.1", N),
        ("5.1.3", N),
        ("5.1.2", N),
        ("5.1.6", N),
        ("5.1.10", N),
        ("5.7.17", N),
        ("5.7.18", N),
        ("5.4.4", U),
        ("5.2.1", C),
        ("5.2.2", C),
        ("4.2.2", C),
        ("5.2.0", C),
        ("4.2.0", C),
        ("5.7.13", C),
        ("5.1.7", P),
        ("5.1.8", P),
        ("4.1.8", P),
        ("5.2.3", P),
        ("5.3.4", P),
        ("5.7.16", P),
        ("5.3.0", P),
        ("4.3.2", P),
        ("5.4.1", P),
        ("4.4.2", P),
        ("5.5.1", P),
        ("4.5.3", P),
        ("5.6.0", P),
        ("5.6.1", P),
        ("5.7.1", P),
        ("4.7.0", P),
        ("5.7.26", P),
        ("4.4.7", U),
        ("5.4.7", U),
        ("5.0.0", U),
        ("4.0.0", U),
        ("5.1.0", U),
        ("4.1.1", U),
        ("4.2.1", P),
        ("2.0.0", IGNORED),
    ],
)
def test_status_code_rows(status: str, expected: Outcome) -> None:
    """Each enhanced status code row of CLASSIFICATION.md gives its outcome with no text."""
    result = classify(BounceDetails(smtp_status=status))
    assert result.outcome is expected
    assert result.evidence[0] == f"status:{status}"


def test_missing_status_is_unknown() -> None:
    """An event with no code, no text and no provider is unknown."""
    assert classify(BounceDetails()) == Classification(U, ("default:unknown",))


@pytest.mark.parametrize("key", sorted(rules.STATUS_RULES))
def test_every_status_table_row_is_applied(key: str) -> None:
    """Every row of the status table decides its code (class 4 never nonexistent)."""
    expected = rules.STATUS_RULES[key]
    parts = key.split(".")
    for klass in ("4", "5") if parts[0] == "x" else (parts[0],):
        code = ".".join([klass, parts[1], parts[2] if len(parts) == 3 else "9"])
        if code in rules.STATUS_RULES and code != key:
            continue  # an exact row shadows the wildcard row for this code
        want = U if expected is N and klass == "4" else expected
        assert outcome_of(smtp_status=code) is want, code


# --- 5.4.4 and domain-missing text ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Host or domain name not found. Name service error for name=example.com: Host not found",
        "DNS lookup returned NXDOMAIN",
        "no MX or A record for example.com",
        "no A record for domain",
        "Domain does not exist",
    ],
)
def test_544_with_domain_missing_text_is_nonexistent(text: str) -> None:
    """5.4.4 is nonexistent when the text says the domain does not exist."""
    assert outcome_of(smtp_status="5.4.4", diagnostic=text) is N


@pytest.mark.parametrize(
    "text", ["unable to route", "routing loop detected", "user unknown", "mailbox not found"]
)
def test_544_otherwise_is_unknown(text: str) -> None:
    """5.4.4 without text about a missing domain is unknown, even with mailbox text."""
    assert outcome_of(smtp_status="5.4.4", diagnostic=text) is U


# --- text that overrides the code -----------------------------------------------------

DOC_NONEXISTENT_PHRASES = [
    "user unknown",
    "no such user",
    "mailbox not found",
    "does not exist",
    "unknown recipient",
    "invalid recipient",
    "account has been deleted",
]
DOC_SENDER_PHRASES = [
    "sender address rejected",
    "sender verify failed",
    "from address",
    "MAIL FROM",
    "domain of sender",
]
DOC_CONDITION_PHRASES = [
    "mailbox full",
    "over quota",
    "quota exceeded",
    "insufficient storage",
    "account disabled",
    "account suspended",
    "inactive",
    "temporarily deactivated",
]
DOC_POLICY_PHRASES = [
    "spam",
    "unsolicited",
    "blocked",
    "blacklist",
    "blocklist",
    "reputation",
    "spamhaus",
    "policy",
    "dmarc",
    "spf",
    "dkim",
    "rate limit",
    "too many",
]


@pytest.mark.parametrize("phrase", DOC_NONEXISTENT_PHRASES)
@pytest.mark.parametrize(
    "fields", [{"smtp_status": "5.0.0"}, {"smtp_code": 550}, {"smtp_status": "5.7.1"}, {}]
)
def test_nonexistent_phrases_when_class_5(phrase: str, fields: dict[str, object]) -> None:
    """Each nonexistent phrase of the document makes a class-5 bounce nonexistent."""
    text = f"<jane@example.com>: {phrase.upper()} here"
    if not fields:
        text = f"550 5.0.0 {text}"  # the class comes from the text itself
    assert outcome_of(diagnostic=text, **fields) is N


@pytest.mark.parametrize("phrase", DOC_NONEXISTENT_PHRASES)
@pytest.mark.parametrize(
    "fields", [{"smtp_status": "4.0.0"}, {"smtp_code": 450}, {"smtp_status": "4.1.1"}]
)
def test_nonexistent_phrases_need_class_5(phrase: str, fields: dict[str, object]) -> None:
    """A nonexistent phrase beside a 4.x.x or 4xx code is not nonexistent."""
    assert outcome_of(diagnostic=phrase, **fields) is U


@pytest.mark.parametrize("phrase", DOC_NONEXISTENT_PHRASES)
def test_nonexistent_phrases_decide_alone_without_a_code(phrase: str) -> None:
    """With no code at all, an unambiguous "no such user" statement is nonexistent."""
    assert outcome_of(diagnostic=f"<jane@example.com>: {phrase}") is N


def test_office_365_access_denied_counts_only_as_541() -> None:
    """ "Recipient address rejected: Access denied" is nonexistent as 5.4.1 (Office 365) only."""
    text = "Recipient address rejected: Access denied"
    assert outcome_of(smtp_status="5.4.1", diagnostic=text) is N
    assert outcome_of(smtp_status="5.7.1", diagnostic=f"554 5.7.1 <jane@example.com>: {text}") is P
    assert outcome_of(diagnostic=f"550 <jane@example.com>: {text}") is U
    assert outcome_of(diagnostic=text) is U


@pytest.mark.parametrize("phrase", DOC_SENDER_PHRASES)
@pytest.mark.parametrize("status", ["5.1.1", "5.1.0", "5.1.8", "5.2.2", "4.2.2", None])
def test_sender_phrases_are_policy(phrase: str, status: str | None) -> None:
    """Text about the sender is policy whatever the code, 5.1.x included."""
    assert outcome_of(smtp_status=status, diagnostic=f"553 {phrase} x: user unknown") is P


@pytest.mark.parametrize("phrase", DOC_CONDITION_PHRASES)
@pytest.mark.parametrize("status", ["5.1.1", "5.0.0", "4.0.0", "5.2.2", None])
def test_condition_phrases(phrase: str, status: str | None) -> None:
    """Full, over-quota and disabled-account text is condition, even over a 5.1.1."""
    assert outcome_of(smtp_status=status, diagnostic=f"the mailbox: {phrase}") is C


@pytest.mark.parametrize("phrase", DOC_POLICY_PHRASES)
@pytest.mark.parametrize("status", ["5.1.1", "5.0.0", "4.2.2", "5.2.1", None])
def test_policy_phrases(phrase: str, status: str | None) -> None:
    """Spam, reputation, authentication and rate text is policy, even over a 5.1.1."""
    assert outcome_of(smtp_status=status, diagnostic=f"550 user unknown ({phrase})") is P


def test_text_evidence_names_the_phrase() -> None:
    """Evidence names the status code and the phrase that decided."""
    result = classify(BounceDetails(smtp_status="5.1.1", diagnostic="User Unknown"))
    assert result == Classification(N, ("status:5.1.1", "text:'user unknown'"))


# --- the named traps ------------------------------------------------------------------

GMAIL_SPAM = (
    "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely unsolicited "
    "mail. To reduce the amount of spam sent to Gmail, this message has been blocked."
)
GMAIL_RATE = (
    "421-4.2.1 The user you are trying to contact is receiving mail too fast. Please resend "
    "your message at a later time."
)
GMAIL_RATE_2 = (
    "452-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
    "additional messages from being delivered."
)
O365_NONEXISTENT = (
    "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
    "[BN8NAM12FT047.eop-nam12.prod.protection.outlook.com]"
)
GMAIL_NONEXISTENT = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try "
    "double-checking the recipient's email address for typos or unnecessary spaces."
)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"smtp_code": 550, "smtp_status": "5.7.1", "diagnostic": GMAIL_SPAM}, P),
        ({"diagnostic": GMAIL_SPAM}, P),
        ({"smtp_code": 421, "smtp_status": "4.2.1", "diagnostic": GMAIL_RATE}, P),
        ({"diagnostic": GMAIL_RATE_2}, P),
        ({"smtp_status": "4.2.1"}, P),
        ({"smtp_code": 550, "smtp_status": "5.4.1", "diagnostic": O365_NONEXISTENT}, N),
        ({"diagnostic": O365_NONEXISTENT}, N),
        ({"smtp_status": "5.4.1"}, P),
        ({"diagnostic": GMAIL_NONEXISTENT}, N),
        ({"smtp_status": "5.1.8", "diagnostic": "Sender address rejected: Domain not found"}, P),
        ({"smtp_status": "5.1.1", "diagnostic": "sender verify failed"}, P),
        ({"smtp_status": "5.4.4", "diagnostic": "Host not found"}, N),
        ({"smtp_status": "5.4.4"}, U),
    ],
)
def test_named_traps(fields: dict[str, object], expected: Outcome) -> None:
    """The traps named in CLASSIFICATION.md and the brief classify as documented."""
    assert outcome_of(**fields) is expected


# --- basic reply codes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [(*row,) for row in rules.BASIC_CODE_RULES.items()]
    + [(550, U), (551, U), (553, U), (552, C), (452, C), (421, U), (450, U), (451, U)]
    + [(554, U), (556, N), (500, P), (250, IGNORED), (599, U), (499, U), (220, IGNORED)],
)
def test_basic_code_rows(code: int, expected: Outcome) -> None:
    """Each basic reply code alone gives its table outcome; unlisted codes go by class."""
    result = classify(BounceDetails(smtp_code=code))
    assert result.outcome is expected
    assert result.evidence == (f"code:{code}",)


def test_status_beats_basic_code() -> None:
    """The enhanced status code is stronger than the basic reply code."""
    assert outcome_of(smtp_code=550, smtp_status="5.1.1") is N
    assert outcome_of(smtp_code=552, smtp_status="5.7.1") is P


def test_transient_basic_code_vetoes_nonexistent_status() -> None:
    """A 4xx reply code makes even a 5.1.1 status not nonexistent."""
    assert outcome_of(smtp_code=450, smtp_status="5.1.1") is U


# --- codes found in the text ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown", "5.1.1"),
        ("smtp; 550 5.1.1 <jane@example.com>... User unknown", "5.1.1"),
        ("550-5.1.1 The email account that you tried to reach does not exist.", "5.1.1"),
        ("host mx.example.com said: 5.1.1 bad destination mailbox address", "5.1.1"),
    ],
)
def test_status_extracted_from_text(text: str, status: str) -> None:
    """With no smtp_status field, the enhanced code is read from the diagnostic."""
    result = classify(BounceDetails(diagnostic=text))
    assert result.outcome is N
    assert result.evidence[0] == f"status:{status}"


def test_bare_address_rejected_decides_nothing() -> None:
    """ "Address rejected" alone (Postfix's prefix without its reason) is not evidence."""
    result = classify(BounceDetails(diagnostic="550 #5.1.0 Address rejected."))
    assert result == Classification(U, ("status:5.1.0", "code:550"))


def test_code_extracted_from_text() -> None:
    """With no smtp_code field, a leading reply code is read from the diagnostic."""
    assert classify(BounceDetails(diagnostic="552 message refused")) == Classification(
        C, ("code:552",)
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("host mx.example.com[192.0.2.1] said: 550 sorry (in reply to RCPT TO command)", 550),
        ("Remote host said: 554 go away", 554),
        ("220 mx ESMTP ready 250-mx Hello 250 SIZE 40000000 552 rejected", 552),
        ("smtp;550 Requested action not taken", 550),
        ("please contact Customer Support at 480-624-2500.", None),
        ("received from mail.example.com [208.184.79.137]", None),
        ("Error 01373: go away", None),
    ],
)
def test_failure_code_found_further_in_the_text(text: str, code: int | None) -> None:
    """A 4xx/5xx reply further in the text counts (over a leading 2xx greeting); phones,
    IP addresses and error numbers do not."""
    evidence = classify(BounceDetails(diagnostic=text)).evidence
    codes = [item for item in evidence if item.startswith("code:")]
    assert codes == ([] if code is None else [f"code:{code}"])


@pytest.mark.parametrize(
    "text",
    ["connection to 10.5.1.1 timed out", "Postfix 2.11.3 said hello", "v5.1.1.2 build"],
)
def test_no_status_from_addresses_or_versions(text: str) -> None:
    """IP addresses and version numbers are not read as enhanced status codes."""
    assert classify(BounceDetails(diagnostic=text)) == Classification(U, ("default:unknown",))


def test_malformed_status_field_falls_back_to_text() -> None:
    """An unreadable smtp_status is ignored in favour of the code in the text."""
    assert outcome_of(smtp_status="five", diagnostic="550 5.1.1 user unknown") is N


# --- auto-replies and delivery notices ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Out of Office: I am away until Monday",
        "Automatic reply: your message",
        "I am on vacation",
        "Auto-Reply: thanks",
        "This is an autoresponder",
        "Your message was delivered successfully",
        "Delivery to the following recipients succeeded",
    ],
)
def test_auto_replies_and_delivery_notices_are_ignored(text: str) -> None:
    """Auto-replies and delivery notices without a failure code are not bounces."""
    assert outcome_of(diagnostic=text) is IGNORED


def test_auto_reply_text_with_failure_code_is_a_bounce() -> None:
    """A failure code outweighs auto-reply words in the text."""
    assert outcome_of(smtp_status="5.1.1", diagnostic="user unknown (vacation)") is N


# --- provider fields ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "type_", "subtype", "fields", "expected"),
    [
        # Amazon SES
        ("ses", "Permanent", "NoEmail", {}, N),
        ("ses", "Permanent", "General", {"smtp_status": "5.1.1"}, N),
        ("ses", "Permanent", "General", {"diagnostic": "user unknown"}, N),
        ("ses", "Permanent", "General", {"smtp_status": "5.7.1"}, P),
        ("ses", "Permanent", "General", {"smtp_status": "5.2.2"}, C),
        ("ses", "Permanent", "General", {}, U),
        ("ses", "Permanent", "Suppressed", {"smtp_status": "5.1.1"}, U),
        ("ses", "Permanent", "OnAccountSuppressionList", {}, U),
        ("ses", "Transient", "MailboxFull", {}, C),
        ("ses", "Transient", "General", {}, U),
        ("ses", "Transient", "General", {"diagnostic": "blocked by spamhaus"}, P),
        ("ses", "Transient", "General", {"smtp_status": "5.1.1"}, U),
        ("ses", "Transient", "MessageTooLarge", {}, P),
        ("ses", "Transient", "ContentRejected", {}, P),
        ("ses", "Undetermined", "Undetermined", {}, U),
        ("ses", "Undetermined", None, {"smtp_status": "5.7.1"}, P),
        # SendGrid
        ("sendgrid", "bounce", "Invalid Address", {}, N),
        ("sendgrid", "bounce", "Mailbox Unavailable", {}, C),
        ("sendgrid", "bounce", "Technical Failure", {}, P),
        ("sendgrid", "bounce", "Content", {}, P),
        ("sendgrid", "bounce", "Reputation", {}, P),
        ("sendgrid", "bounce", "Frequency or Volume Too High", {}, P),
        ("sendgrid", "bounce", "Unclassified", {}, P),
        ("sendgrid", "blocked", "Invalid Address", {}, P),
        ("sendgrid", "blocked", None, {}, P),
        ("sendgrid", "bounce", None, {"smtp_status": "5.1.1"}, N),
        ("sendgrid", "spamreport", None, {}, COMPLAINT),
        ("sendgrid", "unsubscribe", None, {}, UNSUBSCRIBE),
        # Postmark
        ("postmark", "HardBounce", None, {}, N),
        ("postmark", "BadEmailAddress", None, {}, N),
        ("postmark", "AddressChange", None, {}, N),
        ("postmark", "SoftBounce", None, {"diagnostic": "mailbox full"}, C),
        ("postmark", "SoftBounce", None, {"diagnostic": "user is over quota"}, C),
        ("postmark", "SoftBounce", None, {}, P),
        ("postmark", "SoftBounce", None, {"smtp_status": "5.1.1"}, P),
        ("postmark", "SpamNotification", None, {}, P),
        ("postmark", "Blocked", None, {}, P),
        ("postmark", "DMARCPolicy", None, {}, P),
        ("postmark", "DnsError", None, {}, P),
        ("postmark", "Transient", None, {}, P),
        ("postmark", "Unknown", None, {"smtp_status": "5.1.1"}, P),
        ("postmark", "ManuallyDeactivated", None, {}, P),
        ("postmark", "AutoResponder", None, {"smtp_status": "5.1.1"}, IGNORED),
        ("postmark", "SpamComplaint", None, {}, COMPLAINT),
        ("postmark", "Unsubscribe", None, {}, UNSUBSCRIBE),
        # Mailgun
        ("mailgun", "failed", "permanent", {"smtp_status": "5.1.1"}, N),
        ("mailgun", "failed", "permanent", {"diagnostic": "No such user"}, N),
        ("mailgun", "failed", "permanent", {"smtp_status": "5.7.1"}, P),
        ("mailgun", "failed", "permanent", {}, U),
        ("mailgun", "failed", "temporary", {"smtp_status": "4.2.2"}, C),
        ("mailgun", "failed", "temporary", {"smtp_code": 452}, C),
        ("mailgun", "failed", "temporary", {"smtp_status": "4.7.1"}, P),
        ("mailgun", "failed", "temporary", {"smtp_status": "5.1.1"}, U),
        ("mailgun", "failed", "temporary", {"diagnostic": "user unknown"}, U),
        ("mailgun", "failed", "temporary", {}, U),
        ("mailgun", "complained", None, {}, COMPLAINT),
        ("mailgun", "unsubscribed", None, {}, UNSUBSCRIBE),
        # SparkPost
        ("sparkpost", "bounce", "10", {}, N),
        ("sparkpost", "bounce", "30", {}, N),
        ("sparkpost", "bounce", "22", {}, C),
        ("sparkpost", "bounce", "90", {}, UNSUBSCRIBE),
        ("sparkpost", "10", None, {}, N),
        ("sparkpost", "bounce", "1", {}, U),
        ("sparkpost", "bounce", "20", {}, U),
        ("sparkpost", "bounce", "21", {}, U),
        ("sparkpost", "bounce", "23", {}, P),
        ("sparkpost", "bounce", "24", {}, U),
        ("sparkpost", "bounce", "25", {}, P),
        ("sparkpost", "bounce", "40", {}, U),
        ("sparkpost", "bounce", "50", {}, P),
        ("sparkpost", "bounce", "51", {}, P),
        ("sparkpost", "bounce", "52", {}, P),
        ("sparkpost", "bounce", "53", {}, P),
        ("sparkpost", "bounce", "54", {}, P),
        ("sparkpost", "bounce", "60", {}, IGNORED),
        ("sparkpost", "bounce", "70", {}, U),
        ("sparkpost", "bounce", "45", {"smtp_status": "5.1.1"}, U),
        ("sparkpost", "bounce", "45", {"smtp_status": "5.7.1"}, P),
        ("sparkpost", "spam_complaint", None, {}, COMPLAINT),
        ("sparkpost", "list_unsubscribe", None, {}, UNSUBSCRIBE),
    ],
)
def test_provider_rows(
    provider: str, type_: str, subtype: str | None, fields: dict[str, object], expected: Outcome
) -> None:
    """Each provider row of CLASSIFICATION.md gives its outcome."""
    result = classify(
        BounceDetails(
            provider=provider,
            provider_type=type_,
            provider_subtype=subtype,
            **fields,  # type: ignore[arg-type]
        )
    )
    assert result.outcome is expected
    assert result.evidence[0].startswith(f"provider:{provider}:")


@pytest.mark.parametrize(
    ("provider", "type_", "subtype"),
    [
        ("SendGrid", "BOUNCE", "invalid address"),
        (" sendgrid ", " bounce ", "Invalid  Address"),
        ("sendgrid", "bounce", "invalid_address"),
        ("Amazon SES", "permanent", "no email"),
        ("SES", "PERMANENT", "noemail"),
        ("postmark", "hard bounce", None),
        ("SparkPost", "Bounce", " 10 "),
    ],
)
def test_provider_fields_ignore_case_and_spacing(
    provider: str, type_: str, subtype: str | None
) -> None:
    """Provider names and fields match whatever their case, spacing or punctuation."""
    assert outcome_of(provider=provider, provider_type=type_, provider_subtype=subtype) is N


def test_provider_evidence_uses_the_table_spelling() -> None:
    """Evidence names the provider row as the provider spells it."""
    result = classify(
        BounceDetails(
            provider="SENDGRID", provider_type="bounce", provider_subtype="invalid address"
        )
    )
    assert result == Classification(N, ("provider:sendgrid:bounce/Invalid Address",))


def test_provider_fields_beat_the_status_code() -> None:
    """A provider's own classification outweighs the enhanced code."""
    assert (
        outcome_of(
            provider="sendgrid",
            provider_type="bounce",
            provider_subtype="Reputation",
            smtp_status="5.1.1",
        )
        is P
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"diagnostic": "rejected as spam"},
        {"diagnostic": "sender address rejected"},
        {"smtp_status": "4.1.1"},
        {"smtp_code": 450},
        {"diagnostic": "mailbox full"},
    ],
)
def test_provider_nonexistent_is_vetoed_by_mixed_evidence(fields: dict[str, object]) -> None:
    """A provider's nonexistent yields to a 4.x.x code or to policy/sender/condition text."""
    assert (
        outcome_of(provider="ses", provider_type="Permanent", provider_subtype="NoEmail", **fields)
        is not N
    )


def test_unknown_provider_is_classified_by_evidence() -> None:
    """An unrecognised provider (or one with no type) is classified by code and text."""
    assert outcome_of(provider="postfix", provider_type="bounce", smtp_status="5.1.1") is N
    assert outcome_of(provider="postmark", smtp_status="5.1.1") is N


# --- feedback loops -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feedback_type", "expected"),
    [
        ("abuse", COMPLAINT),
        ("fraud", COMPLAINT),
        ("virus", COMPLAINT),
        ("other", COMPLAINT),
        (None, COMPLAINT),
        ("", COMPLAINT),
        ("ABUSE", COMPLAINT),
        ("dmarc-report", COMPLAINT),
        ("not-spam", IGNORED),
        ("Not_Spam", IGNORED),
        ("auth-failure", IGNORED),
        ("opt-out", UNSUBSCRIBE),
        ("optout", UNSUBSCRIBE),
    ],
)
def test_feedback_types(feedback_type: str | None, expected: Outcome) -> None:
    """Each ARF Feedback-Type gives its outcome; missing and unregistered read as a complaint."""
    assert classify_feedback(feedback_type).outcome is expected


def test_feedback_evidence() -> None:
    """Feedback evidence names the normalised type."""
    assert classify_feedback(" Abuse ") == Classification(COMPLAINT, ("feedback:abuse",))


# --- delivery events ------------------------------------------------------------------


def _event(type_: DeliveryType, **fields: object) -> DeliveryEvent:
    return DeliveryEvent(
        event_id="e1",
        account_id="acme",
        occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
        type=type_,
        email="jane@example.com",
        **fields,  # type: ignore[arg-type]
    )


def test_classify_delivery() -> None:
    """Bounces and complaints are classified; other delivery events give None."""
    bounce = _event(DeliveryType.BOUNCE, bounce=BounceDetails(smtp_status="5.1.1"))
    assert classify_delivery(bounce) == Classification(N, ("status:5.1.1",))
    assert classify_delivery(_event(DeliveryType.BOUNCE)) == Classification(U, ("default:unknown",))
    complaint = _event(DeliveryType.COMPLAINT, feedback_type="not-spam")
    assert classify_delivery(complaint) == Classification(IGNORED, ("feedback:not-spam",))
    for other in (DeliveryType.DELIVERED, DeliveryType.ABUSE, DeliveryType.UNSUBSCRIBE):
        assert classify_delivery(_event(other)) is None
