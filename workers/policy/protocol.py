"""The Postfix SMTP access policy delegation protocol, as pure functions (no sockets).

Postfix's ``check_policy_service`` sends one request per recipient: ``name=value``
lines, each ended by a newline, the request ended by an empty line; it waits for
``action=<what to do>`` and an empty line, and keeps the connection for the next
request (Postfix SMTPD_POLICY_README, "Protocol description"). The attributes read
here are ``request`` (``smtpd_access_policy``), ``protocol_state`` (the policy decides
at ``RCPT``; any other stage is answered ``DUNNO``), ``recipient``, ``sender`` and
``sasl_username`` (for the account).

A suppressed recipient gets the configured action (``REJECT``, ``DEFER`` or ``HOLD``)
with the rule and reason in its text; anything else gets ``DUNNO`` (not ``OK``: the
rest of the MTA's restrictions still apply). Where no account can be named, and while
the view is still loading, the answer is a temporary ``DEFER``: mail is held back, never
sent unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from suppressor_client.decision import Decision
from suppressor_client.types import REASON_TEXT

from workers.domain.comma_items import numbered_items

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_LINE",
    "MAX_REQUEST",
    "AccountSource",
    "PolicyConfig",
    "ProtocolError",
    "answer",
    "account_of",
    "parse_account_map",
    "parse_request",
]

MAX_LINE = 2048
"""Longest attribute line accepted (Postfix's longest, ``ccert_subject``, stays far below)."""
MAX_ATTRIBUTES = 100
MAX_REQUEST = 64 * 1024


class ProtocolError(ValueError):
    """A request that breaks the protocol; the connection is closed (Postfix then applies
    its ``default_action``)."""


class AccountSource(StrEnum):
    """Where the account of a request comes from (setting ``SUPPRESSOR_POLICY_ACCOUNT``)."""

    SASL_USERNAME = "sasl_username"  # the sending account logged in as itself
    SENDER = "sender"  # the envelope sender is the account id
    SENDER_DOMAIN = "sender_domain"  # the envelope sender's domain is the account id
    MAP = "map"  # the login, else the sender's domain, looked up in a configured map


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """What the policy answers and how it finds the account."""

    action: str = "REJECT"
    source: AccountSource = AccountSource.SASL_USERNAME
    account_map: Mapping[str, str] | None = None
    stream: str = "marketing"


def parse_request(block: bytes) -> dict[str, str]:
    """The attributes of one request (the bytes up to and without the empty line).

    Decoded once as a whole and split with str methods (a request is a dozen short
    lines; one decode per attribute cost more than the rest of the answer).
    """
    if len(block) > MAX_REQUEST:
        raise ProtocolError(f"request longer than {MAX_REQUEST} bytes")
    if block.count(b"\n") >= MAX_ATTRIBUTES:
        raise ProtocolError(f"more than {MAX_ATTRIBUTES} attributes")
    if len(block) > MAX_LINE and max(map(len, block.split(b"\n"))) > MAX_LINE:
        raise ProtocolError(f"an attribute line longer than {MAX_LINE} bytes")
    text = block.decode("utf-8", "replace")
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    attrs: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or not name:
            raise ProtocolError(f"not a name=value line: {line[:60]!r}")
        attrs[name] = value
    return attrs


def parse_account_map(text: str) -> dict[str, str]:
    """``key=account,key=account`` (keys: logins or sender domains, compared lower-case)."""
    out: dict[str, str] = {}
    for _number, item in numbered_items(text):
        key, sep, account = item.partition("=")
        if not sep or not key.strip() or not account.strip():
            raise ValueError(f"not key=account: {item!r}")
        out[key.strip().lower()] = account.strip()
    return out


def account_of(attrs: Mapping[str, str], config: PolicyConfig) -> str | None:
    """The account a request is sent for, or None when the configured source is empty."""
    login = attrs.get("sasl_username", "").strip()
    sender = attrs.get("sender", "").strip()
    domain = sender.rpartition("@")[2].lower() if "@" in sender else ""
    if config.source is AccountSource.SASL_USERNAME:
        return login or None
    if config.source is AccountSource.SENDER:
        return sender or None
    if config.source is AccountSource.SENDER_DOMAIN:
        return domain or None
    table = config.account_map or {}
    return table.get(login.lower()) or table.get(domain) or None


def _text(decision: Decision) -> str:
    if decision.reason is None:
        return f"{decision.rule} (suppressor policy)"
    reason = int(decision.reason)
    return f"{decision.rule}, reason {reason} ({REASON_TEXT[decision.reason]}) (suppressor policy)"


def answer(
    attrs: Mapping[str, str],
    config: PolicyConfig,
    decide: Callable[[str, str, str], Decision] | None,
) -> bytes:
    """The response to one request; ``decide`` None while the view is not ready."""
    if attrs.get("request") != "smtpd_access_policy":
        return b"action=DUNNO\n\n"
    if attrs.get("protocol_state", "RCPT").upper() != "RCPT":
        return b"action=DUNNO\n\n"
    if decide is None:
        return b"action=DEFER 4.3.0 suppression lists are loading, try again later\n\n"
    account = account_of(attrs, config)
    if account is None:
        return (
            f"action=DEFER 4.7.1 no account for this sender ({config.source.value} is empty)\n\n"
        ).encode()
    decision = decide(account, attrs.get("recipient", ""), config.stream)
    if decision.allowed:
        return b"action=DUNNO\n\n"
    code = "5.7.1" if config.action == "REJECT" else "4.7.1"
    return f"action={config.action} {code} recipient suppressed: {_text(decision)}\n\n".encode()
