"""Who sent a webhook call: SendGrid's ECDSA signature, Mailgun's HMAC, Basic credentials.

Each check takes the raw body, the headers' values, the configured secret and ``now``
(passed in, never read here), and raises ``SignatureRefused`` (403) or
``MissingCredentials`` (401). Secrets come from settings as ``account=secret`` pairs
(``WebhookSecrets``); ``*`` is the provider-wide secret, used for an account without
its own and on ``/webhooks/{provider}`` (account from the metadata). Comparisons are
constant-time; no secret or signature ever goes into an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from suppressor_client.errors import InputError
from suppressor_client.types import PLATFORM_ACCOUNT

from workers.domain.comma_items import numbered_items
from workers.ingest.webhooks.sns import SignatureRefused

__all__ = [
    "MissingCredentials",
    "ReplayGuard",
    "SignatureRefused",
    "WebhookSecrets",
    "check_basic_or_token",
    "check_mailgun",
    "check_sendgrid",
    "check_timestamp",
]


class MissingCredentials(InputError):
    """The call presents no credentials at all: 401."""

    code = "unauthorized"


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """One provider's configured secrets, by account (``*``: provider-wide)."""

    by_account: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # secrets

    @classmethod
    def parse(cls, text: str, env: str = "") -> WebhookSecrets:
        """Read ``account=secret,...``; ``ValueError`` names the bad pair, never the secret."""
        pairs: list[tuple[str, str]] = []
        for number, item in numbered_items(text):
            account, sep, secret = item.partition("=")
            if not sep or not account.strip() or not secret.strip():
                raise ValueError(f"{env} pair {number} is not account=secret")
            pairs.append((account.strip(), secret.strip()))
        return cls(tuple(pairs))

    def for_account(self, account: str | None) -> str | None:
        """The secret that vouches for ``account`` (its own, else ``*``); None: not configured."""
        own = {a: s for a, s in self.by_account}
        if account is not None and account in own:
            return own[account]
        return own.get(PLATFORM_ACCOUNT)


def check_timestamp(sent: str | None, now: datetime, max_age: timedelta, what: str) -> None:
    """Refuse a signed timestamp older than ``max_age`` or further than it in the future."""
    try:
        moment = float(sent or "")
    except ValueError:
        raise SignatureRefused(f"{what} timestamp is missing or not a number") from None
    if abs(now.timestamp() - moment) > max_age.total_seconds():
        raise SignatureRefused(f"{what} timestamp is too old (or in the future): replay refused")


def check_sendgrid(
    body: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    public_key: str,
    now: datetime,
    max_age: timedelta,
) -> None:
    """SendGrid's signed Event Webhook: ECDSA (P-256, SHA-256) over timestamp + raw body.

    ``public_key`` is the verification key as SendGrid shows it: base64 of the DER
    SubjectPublicKeyInfo (a PEM block is accepted too).
    """
    if not signature or not timestamp:
        raise MissingCredentials("the SendGrid signature headers are missing")
    check_timestamp(timestamp, now, max_age, "the SendGrid")
    try:
        der = base64.b64decode(signature, validate=True)
        key = _ec_key(public_key)
        key.verify(der, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise SignatureRefused("the SendGrid signature does not match") from None


def _ec_key(text: str) -> ec.EllipticCurvePublicKey:
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(stripped.encode("ascii"))
    else:
        key = serialization.load_der_public_key(base64.b64decode(stripped))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the SendGrid verification key is not an EC key")
    return key


class ReplayGuard:
    """Tokens of accepted calls within the timestamp window: a second use is a replay.

    Only calls that were answered 2xx are remembered (``remember``), so a provider's
    retry after our 5xx, which carries the same token, still goes through.
    """

    def __init__(self, max_age: timedelta, size: int = 100_000) -> None:
        self._max_age = max_age.total_seconds()
        self._size = size
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, token: str, now: datetime) -> bool:
        """Whether ``token`` was accepted within the window before ``now``."""
        with self._lock:
            self._expire(now.timestamp())
            return token in self._seen

    def remember(self, token: str, now: datetime) -> None:
        """Record ``token`` as used by a call that succeeded at ``now``."""
        with self._lock:
            self._seen[token] = now.timestamp()
            self._seen.move_to_end(token)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._seen:
            token, at = next(iter(self._seen.items()))
            if now - at <= self._max_age:
                return
            del self._seen[token]


def check_mailgun(
    *,
    timestamp: object,
    token: object,
    signature: object,
    signing_key: str,
    now: datetime,
    max_age: timedelta,
    replays: ReplayGuard,
) -> str:
    """Mailgun's HMAC-SHA256 (key: the webhook signing key) over timestamp + token, hex.

    Returns the token, for ``replays.remember`` once the call succeeded.
    """
    if not all(isinstance(v, str) and v for v in (timestamp, token, signature)):
        raise MissingCredentials("the Mailgun signature (timestamp, token, signature) is missing")
    assert isinstance(timestamp, str) and isinstance(token, str) and isinstance(signature, str)
    check_timestamp(timestamp, now, max_age, "the Mailgun")
    expected = hmac.new(
        signing_key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    presented = signature.lower().encode("utf-8", "surrogatepass")  # bytes: any text compares
    if not hmac.compare_digest(expected.encode("ascii"), presented):
        raise SignatureRefused("the Mailgun signature does not match")
    if replays.seen(token, now):
        raise SignatureRefused("the Mailgun token was used before: replay refused")
    return token


def check_basic_or_token(
    authorization: str | None, token_header: str | None, expected: str, what: str
) -> None:
    """``Authorization: Basic`` with ``user:password`` equal to ``expected``, or a token header."""
    presented: list[bytes] = []
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                presented.append(base64.b64decode(value.strip(), validate=True))
            except (binascii.Error, ValueError):
                raise SignatureRefused(f"the {what} Basic credentials are not base64") from None
    if token_header:
        presented.append(token_header.strip().encode("utf-8", "surrogatepass"))
    if not presented:
        raise MissingCredentials(f"the {what} webhook credentials are missing")
    want = expected.encode("utf-8")
    if not any(
        [hmac.compare_digest(want, p) for p in presented]
    ):  # every one compared: constant time
        raise SignatureRefused(f"the {what} webhook credentials are not valid")
