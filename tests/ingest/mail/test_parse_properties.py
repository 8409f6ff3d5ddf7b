"""Properties of ``parse_message``: it never raises and always says something."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.mail.helpers import FIXTURES
from workers.ingest.mail.parse import parse_message
from workers.ingest.mail.reports import MailReport

_SAMPLES = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]


def _check(raw: bytes) -> None:
    reports = parse_message(raw)
    assert reports, "no report"
    assert all(isinstance(r, MailReport) and r.kind and r.message_key for r in reports)
    assert all(r.email is None or "@" in r.email for r in reports)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise_and_give_a_report(raw: bytes) -> None:
    """Any bytes at all give at least one report and no exception."""
    _check(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SAMPLES),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=400),
    st.binary(max_size=200),
)
def test_damaged_real_messages_never_raise(raw: bytes, at: int, cut: int, noise: bytes) -> None:
    """A real bounce cut short, or with random bytes spliced in, still parses to reports."""
    at = min(at, len(raw))
    _check(raw[:at] + noise + raw[at + cut :])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_as_a_body_never_raises(text: str) -> None:
    """Any text under bounce-looking headers parses to reports."""
    head = b"From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n\r\n"
    _check(head + text.encode("utf-8", "surrogatepass"))
