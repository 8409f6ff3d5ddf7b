"""Keys, certificates and signatures the webhook tests make themselves (no network).

``SnsSigner`` is a self-signed RSA certificate standing in for SNS's, served from a local
store under an SNS-shaped URL; ``SendGridSigner`` an EC P-256 key pair; ``mailgun_sign``
the HMAC Mailgun computes. Fixtures are read from ``fixtures/`` beside this file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from workers.ingest.webhooks.sns import SnsMessage, parse_envelope, string_to_sign
from workers.ingest.webhooks.sns_certs import local_store

__all__ = [
    "CERT_URL",
    "FIXTURES",
    "MAILGUN_KEY",
    "TOPIC_ARN",
    "SendGridSigner",
    "SnsSigner",
    "fixture",
    "fixture_bytes",
    "mailgun_body",
]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
MAILGUN_KEY = "key-of-the-mailgun-webhooks-0123456789"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture(name: str) -> Any:
    return json.loads(fixture_bytes(name))


class SnsSigner:
    """Signs SNS envelopes with a certificate of its own, served from ``self.store``."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.pem = cert.public_bytes(serialization.Encoding.PEM)
        self.store = local_store({CERT_URL: self.pem})

    def envelope(
        self,
        message: str,
        *,
        kind: str = "Notification",
        version: str = "1",
        message_id: str | None = None,
        topic: str = TOPIC_ARN,
        subscribe_url: str | None = None,
    ) -> dict[str, str]:
        """A signed SNS message of ``kind`` carrying ``message``."""
        body: dict[str, str] = {
            "Type": kind,
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": message,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "SignatureVersion": version,
            "Signature": "",
            "SigningCertURL": CERT_URL,
        }
        if kind == "Notification":
            body["Subject"] = "Amazon SES Email Event Notification"
            body["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        else:
            body["Token"] = "2336412f37fb687f5d51e6e2425c464de12884c0"
            body["SubscribeURL"] = subscribe_url or (
                "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topic
            )
        body["Signature"] = self.sign(parse_envelope({**body, "Signature": "x"}), version)
        return body

    def sign(self, message: SnsMessage, version: str = "1") -> str:
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
        return base64.b64encode(signature).decode("ascii")


class SendGridSigner:
    """An EC P-256 key pair; ``public`` is the verification key as SendGrid shows it."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(der).decode("ascii")

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(datetime.now(UTC).timestamp()))
        signature = self.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def mailgun_body(
    name: str, key: str = MAILGUN_KEY, timestamp: int | None = None, token: str | None = None
) -> bytes:
    """A Mailgun fixture with a fresh, correct signature object."""
    payload = fixture(name)
    stamp = str(timestamp if timestamp is not None else int(datetime.now(UTC).timestamp()))
    token = token or uuid.uuid4().hex
    digest = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": stamp, "token": token, "signature": digest}
    return json.dumps(payload).encode()
