"""Amazon SNS HTTP(S) messages: the envelope, its signature, and the certificate rule.

SNS signs every message it posts (Notification, SubscriptionConfirmation,
UnsubscribeConfirmation) with the key of an X.509 certificate it publishes at
``SigningCertURL``: RSA PKCS#1 v1.5 over SHA1 (``SignatureVersion`` 1) or SHA256 (2),
over a string of selected fields in a fixed order (SNS Developer Guide, "Verifying the
signatures of Amazon SNS messages"). The certificate is trusted only from an ``https``
URL on a host that matches ``sns.<region>.amazonaws.com`` (or ``.com.cn``), the rule of
AWS's own message validators (``^sns\\.[a-zA-Z0-9\\-]{3,}\\.amazonaws\\.com(\\.cn)?$``).

This module is pure: it gets the certificate's bytes from a ``CertificateSource`` (the
fetching and caching one is ``sns_certs.py``; tests pass a local store).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from suppressor_client.errors import InputError

from workers.ingest.webhooks.mapping import NotUnderstood

__all__ = [
    "CertificateSource",
    "SIGNED_FIELDS",
    "SnsMessage",
    "SignatureRefused",
    "parse_envelope",
    "string_to_sign",
    "trusted_cert_url",
    "verify",
]

CertificateSource = Callable[[str], bytes]
"""URL -> the PEM bytes of the certificate found there (raises ``SignatureRefused``)."""

_HOST = re.compile(r"sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?")
_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})
_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

_CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)

SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,  # signs the same fields as subscribing
}
"""The fields each message type signs, in signing order (``Subject`` only when present)."""


class SignatureRefused(InputError):
    """The message is not provably from SNS: answered 403, nothing produced."""

    code = "bad_signature"


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """The envelope fields we use; ``fields`` keeps every string field for the signature."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    fields: dict[str, str]

    @property
    def subscribe_url(self) -> str | None:
        """The URL that confirms a (un)subscription; Notifications have none."""
        return self.fields.get("SubscribeURL")


def parse_envelope(body: object) -> SnsMessage:
    """The SNS envelope of a decoded body; anything else is ``NotUnderstood``."""
    if not isinstance(body, dict):
        raise NotUnderstood("an SNS message is a JSON object")
    kind = body.get("Type")
    if kind not in _TYPES:
        raise NotUnderstood(f"Type must be one of {', '.join(sorted(_TYPES))}", path="Type")
    fields = {k: v for k, v in body.items() if isinstance(v, str)}
    for name in ("MessageId", "TopicArn", "Message", "Signature", "SigningCertURL"):
        if not fields.get(name) and not (name == "Message" and name in fields):
            raise NotUnderstood(f"{name} must be a string", path=name)
    return SnsMessage(kind, fields["MessageId"], fields["TopicArn"], fields["Message"], fields)


def string_to_sign(message: SnsMessage) -> bytes:
    """``name\\nvalue\\n`` for each signed field present, in the documented order."""
    parts: list[str] = []
    for name in SIGNED_FIELDS[message.type]:
        value = message.fields.get(name)
        if value is None:
            if name == "Subject":
                continue
            raise SignatureRefused(f"the signed field {name} is missing", path=name)
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8")


def trusted_cert_url(url: str, *, pem: bool = True) -> bool:
    """Whether ``url`` is https on an SNS host (no user info, port 443), a .pem if ``pem``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.hostname is not None
        and _HOST.fullmatch(parts.hostname) is not None
        and parts.username is None
        and port in (None, 443)
        and (parts.path.endswith(".pem") or not pem)
    )


def verify(message: SnsMessage, certificates: CertificateSource) -> None:
    """Raise ``SignatureRefused`` unless SNS's certificate signed this message."""
    version = message.fields.get("SignatureVersion", "1")
    algorithm = _ALGORITHMS.get(version)
    if algorithm is None:
        raise SignatureRefused(f"unknown SignatureVersion {version[:8]!r}", path="SignatureVersion")
    url = message.fields["SigningCertURL"]
    if not trusted_cert_url(url):
        raise SignatureRefused("SigningCertURL is not an https URL on an SNS host")
    try:
        signature = base64.b64decode(message.fields["Signature"], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused("Signature is not base64", path="Signature") from None
    pem = certificates(url)  # its own refusal (an InputError, so a ValueError) says why
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SignatureRefused("the signing certificate is not a PEM certificate") from None
    key: Any = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureRefused("the signing certificate has no RSA key")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SignatureRefused("the SNS signature does not match the message") from None
