"""VERP return paths: built and read back, forged tags and wrong secrets refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.ingest.mail.verp import TAG_LENGTH, VerpTemplate, decode_value, encode_value

TEMPLATE = "b+{account}.{delivery}.{tag}@bounces.example.com"
VERP = VerpTemplate.parse(TEMPLATE, "s3cret")

_ACCOUNTS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True)
_DELIVERIES = st.text(min_size=1, max_size=60).filter(lambda s: s.strip() == s and s)


@settings(max_examples=60, deadline=None)
@given(_ACCOUNTS, _DELIVERIES)
def test_built_addresses_read_back_with_a_valid_tag(account: str, delivery: str) -> None:
    """Any account id and delivery id survive the round trip and verify."""
    address = VERP.build(account, delivery)
    found = VERP.match(address)
    assert found is not None and found.valid
    assert (found.account, found.delivery) == (account, delivery)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_encoding_is_reversible_and_separator_free(value: str) -> None:
    """Encoded values hold only letters, digits, '-', '_' and '=' escapes."""
    encoded = encode_value(value)
    assert all(c.isascii() and (c.isalnum() or c in "-_=") for c in encoded)
    assert decode_value(encoded) == value


def test_the_tag_is_a_truncated_hmac_and_a_forgery_is_refused() -> None:
    """Changing the tag, the account or the delivery breaks verification."""
    address = VERP.build("acme", "d-1")
    local, _, domain = address.partition("@")
    tag = local.rsplit(".", 1)[1]
    assert len(tag) == TAG_LENGTH
    forged = VERP.match(f"{local[:-1]}{'0' if tag[-1] != '0' else '1'}@{domain}")
    assert forged is not None and not forged.valid
    other_account = VERP.match(address.replace("b+acme.", "b+globex."))
    assert other_account is not None and not other_account.valid


def test_another_secret_does_not_verify() -> None:
    """A tag made under one secret does not verify under another."""
    address = VerpTemplate.parse(TEMPLATE, "other").build("acme", "d-1")
    found = VERP.match(address)
    assert found is not None and not found.valid


def test_tag_case_and_domain_case_do_not_matter() -> None:
    """MTAs may change the case of the domain or of the hex tag; both still verify."""
    address = VERP.build("acme", "d-1")
    local, _, domain = address.partition("@")
    head, tag = local.rsplit(".", 1)
    found = VERP.match(f"<{head}.{tag.upper()}@{domain.upper()}>")
    assert found is not None and found.valid


def test_addresses_of_another_shape_are_not_verp() -> None:
    """Other domains and other local parts are not matches at all (not forgeries)."""
    assert VERP.match("bounce@bounces.example.com") is None
    assert VERP.match("b+acme.d-1.0123456789abcdef@elsewhere.example") is None
    assert VERP.match("no-at-sign") is None


def test_a_recipient_placeholder_carries_the_recipient() -> None:
    """{recipient} round-trips an address, so redacted feedback reports still resolve."""
    verp = VerpTemplate.parse("fb+{account}+{recipient}.{tag}@fbl.example.com", "k")
    found = verp.match(verp.build("acme", recipient="Jane.Doe+x@example.com"))
    assert found is not None and found.valid and found.recipient == "Jane.Doe+x@example.com"


@pytest.mark.parametrize(
    ("template", "secret", "why"),
    [
        ("b+{account}.{tag}", "k", "local@domain"),
        ("b+{account}.{tag}@{account}.example", "k", "local@domain"),
        ("b+{account}.{delivery}@x.example", "k", "{tag}"),
        ("b+{delivery}.{tag}@x.example", "k", "{account}"),
        ("b+{account}.{tag}@x.example", "", "secret"),
        ("b+{account}{delivery}.{tag}@x.example", "k", "separated"),
        ("b+{account}={delivery}.{tag}@x.example", "k", "separated"),
        ("b+{account}.{who}.{tag}@x.example", "k", "unknown"),
        ("b+{account}.{account}.{tag}@x.example", "k", "once"),
    ],
)
def test_bad_templates_are_refused_with_a_reason(template: str, secret: str, why: str) -> None:
    """A template that could not be read back unambiguously is refused, saying why."""
    with pytest.raises(ValueError, match=why.replace("{", r"\{").replace("}", r"\}")):
        VerpTemplate.parse(template, secret)
