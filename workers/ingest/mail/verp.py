"""VERP return paths that name their account and delivery, signed so a forgery is refused.

A template such as ``b+{account}.{delivery}.{tag}@bounces.example.com`` turns into one
return path per message; a bounce sent to it names the account and the delivery it is
about. ``{tag}`` is an HMAC-SHA256 of the other fields under a secret setting, cut to
``TAG_LENGTH`` hex digits and compared with ``hmac.compare_digest``: anyone can send mail
to the bounce domain, but only the platform can make an address whose tag verifies.

Values are written so they never contain a separator: letters, digits, ``-`` and ``_``
stay as they are, every other byte of their UTF-8 becomes ``=`` and two hex digits
(``acme.eu`` -> ``acme=2eeu``). Between two placeholders a template therefore needs a
character that values never hold (``.`` or ``+``; not ``=``, the escape). An optional
``{recipient}`` carries the recipient too, for feedback loops that redact it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

__all__ = ["TAG_LENGTH", "VerpMatch", "VerpTemplate", "decode_value", "encode_value"]

TAG_LENGTH = 16
"""Hex digits of the tag (64 bits)."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FIELDS = ("account", "delivery", "recipient")
_SAFE = re.compile(r"[A-Za-z0-9_-]")
_VALUE = r"[A-Za-z0-9_=-]{1,3000}"
_ESCAPE = re.compile(r"=([0-9A-Fa-f]{2})")


def encode_value(value: str) -> str:
    """One field as it goes into the local part (reversible, separator-free)."""
    out = []
    for char in value:
        if _SAFE.fullmatch(char):
            out.append(char)
        else:
            out.extend(f"={byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def decode_value(text: str) -> str:
    """The field back from its encoded form (bad escapes stay as they are)."""
    data = bytearray()
    index = 0
    while index < len(text):
        match = _ESCAPE.match(text, index)
        if match is not None:
            data.append(int(match[1], 16))
            index = match.end()
        else:
            data.extend(text[index].encode("utf-8"))
            index += 1
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class VerpMatch:
    """An address of the template's shape: its fields, and whether its tag verifies."""

    account: str
    delivery: str | None
    recipient: str | None
    valid: bool


@dataclass(frozen=True)
class VerpTemplate:
    """A return-path template with its secret; ``build`` makes addresses, ``match`` reads them."""

    template: str
    secret: bytes
    _local: re.Pattern[str]
    _domain: str
    _fields: tuple[str, ...]

    @classmethod
    def parse(cls, template: str, secret: str | bytes) -> VerpTemplate:
        """Check a template (``ValueError`` says what is wrong) and compile it."""
        text = template.strip()
        local, at, domain = text.rpartition("@")
        if not at or not local or not domain or "{" in domain:
            raise ValueError(f"a VERP template is local@domain with the fields left of @: {text!r}")
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if not key:
            raise ValueError("a VERP template needs a secret (SUPPRESSOR_MAIL_VERP_SECRET)")
        names = _PLACEHOLDER.findall(local)
        unknown = sorted(set(names) - {*_FIELDS, "tag"})
        if unknown:
            raise ValueError(f"unknown VERP placeholders {unknown}; use account, delivery, "
                             "recipient and tag")  # fmt: skip
        if "account" not in names or "tag" not in names:
            raise ValueError("a VERP template needs {account} and {tag}")
        if len(names) != len(set(names)):
            raise ValueError("each VERP placeholder may appear once")
        pieces = _PLACEHOLDER.split(local)  # literal, name, literal, name, ..., literal
        pattern = []
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                if 0 < index < len(pieces) - 1 and not any(
                    not _SAFE.fullmatch(c) and c != "=" for c in piece
                ):
                    raise ValueError(
                        "two VERP placeholders must be separated by a character values never "
                        f"hold, such as '.' or '+' (not {piece!r})"
                    )
                pattern.append(re.escape(piece))
            elif piece == "tag":
                pattern.append(f"(?P<tag>[0-9A-Fa-f]{{{TAG_LENGTH}}})")
            else:
                pattern.append(f"(?P<{piece}>{_VALUE})")
        fields = tuple(name for name in names if name != "tag")
        return cls(text, key, re.compile("".join(pattern)), domain.lower(), fields)

    @property
    def domain(self) -> str:
        return self._domain

    def tag(self, account: str, delivery: str | None, recipient: str | None) -> str:
        values = {"account": account, "delivery": delivery or "", "recipient": recipient or ""}
        message = "\x00".join(values[name] for name in self._fields).encode("utf-8")
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:TAG_LENGTH]

    def build(self, account: str, delivery: str | None = None, recipient: str | None = None) -> str:
        """The return path of one message."""
        values = {"account": account, "delivery": delivery, "recipient": recipient}
        for name in self._fields:
            if not values[name]:
                raise ValueError(f"the VERP template needs a {name}")
        tag = self.tag(account, delivery, recipient)

        def fill(match: re.Match[str]) -> str:
            name = match[1]
            return tag if name == "tag" else encode_value(values[name] or "")

        local = _PLACEHOLDER.sub(fill, self.template.rpartition("@")[0])
        return f"{local}@{self.template.rpartition('@')[2]}"

    def match(self, address: str) -> VerpMatch | None:
        """The fields of an address of this template's shape, or None if it is not one."""
        local, at, domain = address.strip().strip("<>").rpartition("@")
        if not at or domain.lower() != self._domain:
            return None
        found = self._local.fullmatch(local)
        if found is None:
            return None
        account = decode_value(found["account"])
        delivery = decode_value(found["delivery"]) if "delivery" in self._fields else None
        recipient = decode_value(found["recipient"]) if "recipient" in self._fields else None
        expected = self.tag(account, delivery, recipient)
        valid = hmac.compare_digest(expected.encode(), found["tag"].lower().encode())
        return VerpMatch(account, delivery, recipient, valid)
