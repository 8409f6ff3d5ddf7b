"""One-click unsubscribe tokens: signed, rotatable, and refused when touched."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.ingest.webhooks.unsubscribe import (
    BadToken,
    Claims,
    UnsubscribeKeys,
    issue_token,
    one_click_headers,
    read_token,
    token_event_id,
)

KEYS = UnsubscribeKeys.parse(
    "k2=a-newer-secret-of-32-chars-000,k1=an-older-secret-of-32-chars-0000"
)
DAY = date(2026, 2, 1)
CLAIMS = Claims("acme", "Jane.Doe@Example.COM", "marketing", DAY, "d-1")


def test_a_token_reads_back_its_claims_with_the_address_normalised() -> None:
    """What was signed comes back, the address in its normal form."""
    claims = read_token(KEYS, issue_token(KEYS, CLAIMS), DAY)
    assert claims == Claims("acme", "jane.doe@example.com", "marketing", DAY, "d-1")


def test_tokens_of_an_older_key_still_read_after_rotation() -> None:
    """A token signed with a key now second in the list is still accepted."""
    old = UnsubscribeKeys.parse("k1=an-older-secret-of-32-chars-0000")
    token = issue_token(old, CLAIMS)
    assert token.split(".")[1] == "k1"
    assert read_token(KEYS, token, DAY).account_id == "acme"
    assert issue_token(KEYS, CLAIMS).split(".")[1] == "k2"  # new tokens use the first key


def test_a_token_of_a_removed_or_unknown_key_is_refused() -> None:
    """Removing a key from the settings revokes its tokens."""
    token = issue_token(KEYS, CLAIMS)
    with pytest.raises(BadToken):
        read_token(UnsubscribeKeys.parse("k1=an-older-secret-of-32-chars-0000"), token, DAY)


def test_an_expired_token_is_refused() -> None:
    """A token older than the configured age is refused."""
    token = issue_token(KEYS, CLAIMS)
    read_token(KEYS, token, DAY + timedelta(days=30), timedelta(days=30))
    with pytest.raises(BadToken):
        read_token(KEYS, token, DAY + timedelta(days=31), timedelta(days=30))


@given(st.data())
def test_any_changed_character_makes_the_token_invalid(data: st.DataObject) -> None:
    """Altering any one character of a token is refused, and the refusal names no address."""
    token = issue_token(KEYS, CLAIMS)
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.0x"))
    altered = token[:index] + replacement + token[index + 1 :]
    if altered == token:
        return
    try:
        claims = read_token(KEYS, altered, DAY)
    except BadToken as refused:
        assert "jane" not in str(refused).lower()
    else:  # base64 padding bits may absorb a change of the last character only
        assert claims == read_token(KEYS, token, DAY)


def test_headers_follow_rfc_2369_and_rfc_8058() -> None:
    """List-Unsubscribe holds the https URL (and the mailto); List-Unsubscribe-Post is exact."""
    headers = one_click_headers("https://u.example/", "TOKEN", "unsub@u.example")
    assert headers == {
        "List-Unsubscribe": "<https://u.example/unsubscribe/TOKEN>, "
        "<mailto:unsub@u.example?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_the_event_id_is_stable_per_token() -> None:
    """The same token always makes the same event id; another token another one."""
    one, two = (
        issue_token(KEYS, CLAIMS),
        issue_token(KEYS, Claims("acme", "x@y.example", "marketing", DAY)),
    )
    assert token_event_id(one) == token_event_id(one) != token_event_id(two)


@pytest.mark.parametrize("text", ["k1=short", "bad id=a-secret-long-enough-000", "=x"])
def test_bad_key_settings_are_refused_without_echoing_the_secret(text: str) -> None:
    """A key setting with a short secret or a bad id is refused; the message hides the secret."""
    with pytest.raises(ValueError) as refused:
        UnsubscribeKeys.parse(text)
    assert "a-secret-long" not in str(refused.value)


@pytest.mark.parametrize("token", ["v1.k2.é.AAAA", "v1.é.e30.AAAA", "v1.k2.e30.é"])
def test_a_token_with_non_ascii_characters_is_refused(token: str) -> None:
    """Whatever a visitor puts in the link is a refusal, never an error."""
    with pytest.raises(BadToken):
        read_token(KEYS, token, DAY)


def test_the_keys_never_show_in_a_repr() -> None:
    """The unsubscribe keys can be logged without leaking a secret."""
    assert "secret-of-32" not in repr(KEYS)
