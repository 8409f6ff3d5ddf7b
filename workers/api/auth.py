"""Per-account API keys: configured as SHA-256 digests, compared in constant time.

``SUPPRESSOR_API_KEYS`` holds ``account:sha256-hex`` pairs, so the configuration (and
anything that leaks it) never holds a usable key; an account may have several keys
(rotation). A key presented as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``
is hashed and compared with every configured digest by ``hmac.compare_digest``, all of
them every time, so neither the answer nor its timing says which digest was close.

A key belongs to exactly one account and opens only that account's lists. A key
configured for the platform account ``*`` is the platform administrator's: it opens
every account, and ``*`` itself (platform-wide entries); no other key opens ``*``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from suppressor_client.types import PLATFORM_ACCOUNT

from workers.domain.comma_items import numbered_items

__all__ = ["KeyRing", "hash_key", "key_from_headers", "may_access"]

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_ACCOUNT = re.compile(r"\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_MAX_KEY_LENGTH = 512


def hash_key(key: str) -> str:
    """The digest to configure for a key (the same as ``printf %s KEY | sha256sum``)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The configured (account, digest) pairs."""

    entries: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read ``account:hex,account:hex``; raises ``ValueError`` naming the bad pair."""
        entries: list[tuple[str, bytes]] = []
        for number, item in numbered_items(text):
            account, sep, digest = item.rpartition(":")
            digest = digest.lower()
            if not sep or _ACCOUNT.fullmatch(account) is None:
                raise ValueError(f"API key pair {number} does not start with an account id")
            if _HEX_DIGEST.fullmatch(digest) is None:
                raise ValueError(
                    f"API key pair {number} ({account}) is not a SHA-256 hex digest "
                    "(64 hex digits; make one with: printf %s KEY | sha256sum)"
                )
            entries.append((account, bytes.fromhex(digest)))
        return cls(tuple(entries))

    @classmethod
    def of(cls, keys: Iterable[tuple[str, str]]) -> KeyRing:
        """A ring from (account, plain key) pairs: tests and tools."""
        return cls(tuple((account, hashlib.sha256(k.encode()).digest()) for account, k in keys))

    def account_for(self, key: str | None) -> str | None:
        """The account a presented key belongs to, or None for a missing or unknown key."""
        if not key or len(key) > _MAX_KEY_LENGTH:
            return None
        presented = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: str | None = None
        for account, digest in self.entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = account
        return found


def key_from_headers(authorization: str | None, api_key: str | None) -> str | None:
    """The key a request presents: a Bearer token, else the ``X-API-Key`` header."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return api_key.strip() if api_key else None


def may_access(principal: str, account_id: str) -> bool:
    """Whether the owner of a key for ``principal`` may touch ``account_id``'s lists."""
    return principal in (account_id, PLATFORM_ACCOUNT)
