"""Signature checks: SNS (v1 and v2), SendGrid ECDSA, Mailgun HMAC, Basic credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from tests.ingest.webhooks.signing import CERT_URL, SendGridSigner, SnsSigner
from workers.ingest.webhooks.signatures import (
    MissingCredentials,
    ReplayGuard,
    SignatureRefused,
    WebhookSecrets,
    check_basic_or_token,
    check_mailgun,
    check_sendgrid,
)
from workers.ingest.webhooks.sns import parse_envelope, trusted_cert_url, verify
from workers.ingest.webhooks.sns_certs import CachedCertificates

NOW = datetime(2026, 1, 27, 12, 0, tzinfo=UTC)
AGE = timedelta(minutes=5)


@pytest.fixture(scope="module")
def sns() -> SnsSigner:
    """One generated certificate for the module's SNS messages."""
    return SnsSigner()


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation"])
def test_sns_messages_signed_by_the_certificate_verify(
    sns: SnsSigner, version: str, kind: str
) -> None:
    """SHA1 (v1) and SHA256 (v2) signatures over the documented fields verify."""
    verify(parse_envelope(sns.envelope('{"a": 1}', kind=kind, version=version)), sns.store)


@pytest.mark.parametrize("field", ["Message", "MessageId", "TopicArn", "Timestamp", "Subject"])
def test_an_altered_sns_field_breaks_the_signature(sns: SnsSigner, field: str) -> None:
    """Changing any signed field after signing is refused."""
    body = sns.envelope('{"a": 1}')
    body[field] = body[field] + "x"
    with pytest.raises(SignatureRefused):
        verify(parse_envelope(body), sns.store)


def test_a_signature_of_another_key_is_refused(sns: SnsSigner) -> None:
    """A message signed by a key other than the certificate's is refused."""
    body = SnsSigner().envelope('{"a": 1}')
    with pytest.raises(SignatureRefused):
        verify(parse_envelope(body), sns.store)


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        (CERT_URL, True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem", True),
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem", False),
        ("https://sns.us-east-1.amazonaws.com.evil.example/x.pem", False),
        ("https://evil.example/sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.amazonaws.com/x.pem", False),
        ("https://user@sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com:8443/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com/x.txt", False),
    ],
)
def test_the_certificate_url_must_be_https_on_an_sns_host(url: str, trusted: bool) -> None:
    """Only https URLs on sns.<region>.amazonaws.com(.cn) are trusted (AWS validators' rule)."""
    assert trusted_cert_url(url) is trusted


def test_an_untrusted_certificate_url_is_refused_before_any_fetch(sns: SnsSigner) -> None:
    """A message naming a foreign certificate URL is refused and nothing is fetched."""
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return sns.pem

    source = CachedCertificates(fetch)
    body = sns.envelope('{"a": 1}')
    body["SigningCertURL"] = "https://evil.example/cert.pem"
    with pytest.raises(SignatureRefused, match="SNS host"):
        verify(parse_envelope(body), source)
    assert fetched == []


def test_certificates_are_fetched_once_and_cached(sns: SnsSigner) -> None:
    """The certificate source fetches a URL once, whatever number of messages it signs."""
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return sns.pem

    source = CachedCertificates(fetch)
    for _ in range(3):
        verify(parse_envelope(sns.envelope('{"a": 1}')), source)
    assert fetched == [CERT_URL]


def test_sendgrid_signature_verifies_and_refuses_alterations() -> None:
    """The ECDSA signature over timestamp + body verifies; a changed body does not."""
    signer = SendGridSigner()
    body = b'[{"event":"delivered"}]'
    stamp = int(NOW.timestamp())
    headers = signer.headers(body, stamp)
    sig = headers["X-Twilio-Email-Event-Webhook-Signature"]
    args = {"signature": sig, "timestamp": str(stamp), "public_key": signer.public}
    check_sendgrid(body, now=NOW, max_age=AGE, **args)
    with pytest.raises(SignatureRefused):
        check_sendgrid(body + b" ", now=NOW, max_age=AGE, **args)
    with pytest.raises(SignatureRefused):  # another key
        check_sendgrid(
            body, now=NOW, max_age=AGE, **{**args, "public_key": SendGridSigner().public}
        )


def test_sendgrid_old_timestamps_and_missing_headers_are_refused() -> None:
    """A signature older than the window is a replay (403); no headers at all is 401."""
    signer = SendGridSigner()
    body = b"[]"
    old = int((NOW - timedelta(minutes=6)).timestamp())
    sig = signer.headers(body, old)["X-Twilio-Email-Event-Webhook-Signature"]
    with pytest.raises(SignatureRefused, match="too old"):
        check_sendgrid(
            body, signature=sig, timestamp=str(old), public_key=signer.public, now=NOW, max_age=AGE
        )
    with pytest.raises(MissingCredentials):
        check_sendgrid(
            body, signature=None, timestamp=None, public_key=signer.public, now=NOW, max_age=AGE
        )


def _mailgun(stamp: str, token: str, key: str = "k" * 20) -> str:
    return hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()


def test_mailgun_hmac_verifies_and_a_second_use_of_the_token_is_a_replay() -> None:
    """A correct HMAC passes; once remembered, the same token is refused."""
    guard = ReplayGuard(AGE)
    stamp, token = str(int(NOW.timestamp())), "t" * 50

    def check() -> str:
        return check_mailgun(
            timestamp=stamp,
            token=token,
            signature=_mailgun(stamp, token),
            signing_key="k" * 20,
            now=NOW,
            max_age=AGE,
            replays=guard,
        )

    assert check() == token
    assert check() == token  # not remembered yet: a retry after our 5xx goes through
    guard.remember(token, NOW)  # the first call succeeded
    with pytest.raises(SignatureRefused, match="replay"):
        check()


def test_mailgun_bad_hmac_and_old_timestamp_are_refused() -> None:
    """A wrong HMAC or a timestamp outside the window is refused."""
    guard = ReplayGuard(AGE)
    stamp = str(int(NOW.timestamp()))
    with pytest.raises(SignatureRefused, match="does not match"):
        check_mailgun(
            timestamp=stamp,
            token="t",
            signature=_mailgun(stamp, "t", "other-key"),
            signing_key="k" * 20,
            now=NOW,
            max_age=AGE,
            replays=guard,
        )
    old = str(int((NOW - timedelta(hours=1)).timestamp()))
    with pytest.raises(SignatureRefused, match="too old"):
        check_mailgun(
            timestamp=old,
            token="t",
            signature=_mailgun(old, "t"),
            signing_key="k" * 20,
            now=NOW,
            max_age=AGE,
            replays=guard,
        )


def test_remembered_tokens_are_forgotten_after_the_window() -> None:
    """The replay guard holds tokens only as long as their timestamps could be accepted."""
    guard = ReplayGuard(AGE)
    guard.remember("t", NOW)
    assert guard.seen("t", NOW + timedelta(minutes=4))
    assert not guard.seen("t", NOW + timedelta(minutes=6))


def test_basic_credentials_or_a_token_header_are_accepted() -> None:
    """Basic user:password, or the token header, must equal the configured secret."""
    good = "Basic " + base64.b64encode(b"hooks:s3cret-password").decode()
    check_basic_or_token(good, None, "hooks:s3cret-password", "postmark")
    check_basic_or_token(None, "tok-123", "tok-123", "sparkpost")
    bad = "Basic " + base64.b64encode(b"hooks:wrong").decode()
    with pytest.raises(SignatureRefused):
        check_basic_or_token(bad, None, "hooks:s3cret-password", "postmark")
    with pytest.raises(MissingCredentials):
        check_basic_or_token(None, None, "hooks:s3cret-password", "postmark")


def test_secrets_fall_back_to_the_provider_wide_one_and_never_echo() -> None:
    """An account without its own secret uses '*'; a malformed pair names its number only."""
    secrets = WebhookSecrets.parse("acme=one, *=everyone")
    assert secrets.for_account("acme") == "one"
    assert secrets.for_account("beta") == "everyone"
    assert WebhookSecrets.parse("acme=one").for_account("beta") is None
    with pytest.raises(ValueError, match="pair 2") as refused:
        WebhookSecrets.parse("acme=one,hunter2", "X")
    assert "hunter2" not in str(refused.value)


def test_a_certificate_url_the_http_client_cannot_use_is_a_refusal(sns: SnsSigner) -> None:
    """A trusted-looking URL that fails inside the HTTP client refuses the call (no 500)."""
    import http.client

    def fetch(url: str) -> bytes:
        raise http.client.IncompleteRead(b"-----BEGIN")  # an HTTPException, not an OSError

    with pytest.raises(SignatureRefused):
        verify(parse_envelope(sns.envelope('{"a": 1}')), CachedCertificates(fetch))


def test_a_mailgun_signature_with_non_ascii_text_is_refused_not_an_error() -> None:
    """Any text in the signature field is compared, and a wrong one is a refusal."""
    stamp = str(int(NOW.timestamp()))
    with pytest.raises(SignatureRefused, match="does not match"):
        check_mailgun(
            timestamp=stamp,
            token="t" * 50,
            signature="é" * 64,
            signing_key="k" * 20,
            now=NOW,
            max_age=AGE,
            replays=ReplayGuard(AGE),
        )


def test_configured_secrets_never_show_in_a_repr() -> None:
    """Objects that hold webhook secrets can be logged without leaking them."""
    assert "supersecret" not in repr(WebhookSecrets.parse("*=supersecret"))
