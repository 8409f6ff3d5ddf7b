"""One-click unsubscribe (RFC 8058) links: a signed token and the headers that carry it.

A sender puts ``List-Unsubscribe: <https://.../unsubscribe/TOKEN>`` (RFC 2369) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058) on each bulk message;
the mailbox provider POSTs to that URL without any login, so the token itself must
prove what it asks for. It is ``v1.<key id>.<claims>.<mac>``: the claims (account,
normalised address, stream, issue date, optional delivery id) in base64url, and an
HMAC-SHA256 under the key named by the id. Keys rotate: new tokens use the first key,
every configured key is still accepted. A token is not encrypted (the address is the
recipient's own, in their own mailbox); a forged or altered one is refused without
saying why or for which address.

Pure: the issue date and today are passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, timedelta

import orjson
from suppressor_client.addresses import normalize_address
from suppressor_client.errors import InputError

from workers.domain.comma_items import numbered_items

__all__ = [
    "BadToken",
    "Claims",
    "UnsubscribeKeys",
    "issue_token",
    "one_click_headers",
    "read_token",
    "token_event_id",
    "unsubscribe_headers",
]

_VERSION = "v1"
_MAX_TOKEN = 2048
_STREAMS = frozenset({"marketing", "transactional"})


class BadToken(InputError):
    """A token that is not one we issued (forged, altered, expired, unknown key)."""

    code = "bad_token"


@dataclass(frozen=True, slots=True)
class UnsubscribeKeys:
    """(key id, secret) pairs; the first signs new tokens, all verify."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)  # secrets

    @classmethod
    def parse(cls, text: str) -> UnsubscribeKeys:
        """Read ``kid=secret,...`` (``SUPPRESSOR_UNSUBSCRIBE_KEYS``); never echoes a secret."""
        pairs: list[tuple[str, bytes]] = []
        for number, item in numbered_items(text):
            kid, sep, secret = item.partition("=")
            kid = kid.strip()
            if not sep or not kid.isalnum() or len(kid) > 16:
                raise ValueError(f"unsubscribe key {number}: the id must be 1-16 letters or digits")
            if len(secret.strip()) < 16:
                raise ValueError(f"unsubscribe key {kid}: the secret needs at least 16 characters")
            pairs.append((kid, secret.strip().encode("utf-8")))
        return cls(tuple(pairs))

    def signing(self) -> tuple[str, bytes]:
        """The (id, secret) new tokens are signed with; ``ValueError`` when none is set."""
        if not self.keys:
            raise ValueError("no unsubscribe key configured (SUPPRESSOR_UNSUBSCRIBE_KEYS)")
        return self.keys[0]

    def secret(self, kid: str) -> bytes | None:
        """The secret of key ``kid``, or None for a key no longer (or never) configured."""
        return next((secret for k, secret in self.keys if k == kid), None)


@dataclass(frozen=True, slots=True)
class Claims:
    """What a token says: who unsubscribes from which account's mail, since when."""

    account_id: str
    email: str
    stream: str
    issued: date
    delivery_id: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, kid: str, body: str) -> bytes:
    return hmac.new(secret, f"{_VERSION}.{kid}.{body}".encode("ascii"), hashlib.sha256).digest()


def issue_token(keys: UnsubscribeKeys, claims: Claims) -> str:
    """A token for ``claims`` under the current key; the address is normalised first."""
    if claims.stream not in _STREAMS:
        raise ValueError(f"stream must be marketing or transactional, not {claims.stream!r}")
    kid, secret = keys.signing()
    fields = [
        claims.account_id,
        normalize_address(claims.email),
        claims.stream,
        claims.issued.isoformat(),
    ]
    if claims.delivery_id:
        fields.append(claims.delivery_id)
    body = _b64(orjson.dumps(fields))
    return f"{_VERSION}.{kid}.{body}.{_b64(_mac(secret, kid, body))}"


def read_token(
    keys: UnsubscribeKeys, token: str, today: date, max_age: timedelta | None = None
) -> Claims:
    """The claims of a token we issued; ``BadToken`` (one message for every cause) otherwise."""
    refused = BadToken("this unsubscribe link is not valid")
    parts = token.split(".") if len(token) <= _MAX_TOKEN else []
    if len(parts) != 4 or parts[0] != _VERSION:
        raise refused
    _, kid, body, mac = parts
    if not (kid.isascii() and body.isascii()):
        raise refused
    secret = keys.secret(kid)
    try:
        presented = _unb64(mac)
    except (binascii.Error, ValueError):
        raise refused from None
    if secret is None or not hmac.compare_digest(_mac(secret, kid, body), presented):
        raise refused
    try:
        fields = orjson.loads(_unb64(body))
        account, email, stream, issued_text = fields[:4]
        issued = date.fromisoformat(issued_text)
        delivery = fields[4] if len(fields) > 4 else None
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError):
        raise refused from None  # signed by us yet unreadable: a key leaked or a bug
    if max_age is not None and today - issued > max_age:
        raise refused
    return Claims(str(account), str(email), str(stream), issued, delivery)


def token_event_id(token: str) -> str:
    """The event id of a one-click unsubscribe: the same token twice is one event."""
    return "one-click:" + hashlib.sha256(token.encode("ascii", "replace")).hexdigest()[:40]


def one_click_headers(base_url: str, token: str, mailto: str | None = None) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers for one message (a ``mailto:`` too when configured)."""
    targets = [f"<{base_url.rstrip('/')}/unsubscribe/{token}>"]
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe_headers(
    keys: UnsubscribeKeys, base_url: str, claims: Claims, mailto: str | None = None
) -> dict[str, str]:
    """The two headers a sender puts on one message: a fresh token for ``claims``.

    Raises ``ValueError`` without a key, ``InvalidAddress`` for a bad address.
    """
    return one_click_headers(base_url, issue_token(keys, claims), mailto)
