"""The Postfix policy protocol: requests parsed within bounds, accounts found, actions given."""

from __future__ import annotations

import pytest
from suppressor_client.decision import Decision
from suppressor_client.types import Reason

from workers.policy.protocol import (
    MAX_LINE,
    AccountSource,
    PolicyConfig,
    ProtocolError,
    account_of,
    answer,
    parse_account_map,
    parse_request,
)

RCPT = {"request": "smtpd_access_policy", "protocol_state": "RCPT", "sasl_username": "acme",
        "sender": "news@shop.example", "recipient": "jane@example.com"}  # fmt: skip


def _deny(_account: str, _address: str, _stream: str) -> Decision:
    return Decision(False, "suppressed", Reason.UNSUBSCRIBE)


def _allow(_account: str, _address: str, _stream: str) -> Decision:
    return Decision(True, "default")


def test_a_request_parses_into_attributes() -> None:
    """name=value lines become a dict; a value may itself hold '='."""
    attrs = parse_request(b"request=smtpd_access_policy\nrecipient=a@b.example\nx=1=2")
    assert attrs == {"request": "smtpd_access_policy", "recipient": "a@b.example", "x": "1=2"}


@pytest.mark.parametrize(
    "block",
    [b"no equals sign", b"=value", b"a=" + b"x" * MAX_LINE, b"\n".join([b"a=1"] * 101)],
)
def test_malformed_or_oversized_requests_are_protocol_errors(block: bytes) -> None:
    """A line without a name, too long a line or too many attributes is refused."""
    with pytest.raises(ProtocolError):
        parse_request(block)


def test_a_suppressed_recipient_gets_the_action_with_rule_and_reason() -> None:
    """REJECT carries a permanent code, the rule and the reason text; DEFER a temporary one."""
    assert answer(RCPT, PolicyConfig(), _deny) == (
        b"action=REJECT 5.7.1 recipient suppressed: suppressed, reason 4 (unsubscribe)"
        b" (suppressor policy)\n\n"
    )
    assert answer(RCPT, PolicyConfig(action="DEFER"), _deny).startswith(b"action=DEFER 4.7.1 ")
    assert answer(RCPT, PolicyConfig(action="HOLD"), _deny).startswith(b"action=HOLD ")


def test_an_allowed_recipient_and_other_stages_get_dunno() -> None:
    """Allowed at RCPT, or any other protocol stage: DUNNO, so other restrictions still run."""
    assert answer(RCPT, PolicyConfig(), _allow) == b"action=DUNNO\n\n"
    assert answer({**RCPT, "protocol_state": "DATA"}, PolicyConfig(), _deny) == b"action=DUNNO\n\n"
    assert answer({"request": "other"}, PolicyConfig(), _deny) == b"action=DUNNO\n\n"


def test_no_account_or_no_view_defers() -> None:
    """Without an account or while loading the answer is a temporary DEFER, never DUNNO."""
    no_login = {**RCPT, "sasl_username": ""}
    assert answer(no_login, PolicyConfig(), _allow).startswith(b"action=DEFER 4.7.1 no account")
    assert answer(RCPT, PolicyConfig(), None).startswith(b"action=DEFER 4.3.0 ")


def test_the_account_comes_from_the_configured_attribute() -> None:
    """Login, sender, sender domain, or a map of logins and domains to accounts."""
    table = parse_account_map("shop.example=acme, Relay-Login = beta")
    assert account_of(RCPT, PolicyConfig()) == "acme"
    assert account_of(RCPT, PolicyConfig(source=AccountSource.SENDER)) == "news@shop.example"
    assert account_of(RCPT, PolicyConfig(source=AccountSource.SENDER_DOMAIN)) == "shop.example"
    mapped = PolicyConfig(source=AccountSource.MAP, account_map=table)
    assert account_of(RCPT, mapped) == "acme"
    assert account_of({**RCPT, "sasl_username": "relay-login"}, mapped) == "beta"
    assert account_of({**RCPT, "sender": "x@other.example", "sasl_username": ""}, mapped) is None
    with pytest.raises(ValueError, match="key=account"):
        parse_account_map("justakey")
