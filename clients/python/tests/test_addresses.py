"""Tests of address and domain normalisation (SPEC §4)."""

from __future__ import annotations

import contextlib

import idna
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from suppressor_client.addresses import (
    _CANONICAL,
    _normalized,
    domain_candidates,
    domain_of,
    normalize_address,
    normalize_domain,
    normalize_domain_pattern,
)
from suppressor_client.errors import InvalidAddress, InvalidDomain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane.Doe@Example.COM  ", "jane.doe@example.com"),
        ("jane+News@example.com", "jane+news@example.com"),
        ("j.a.n.e@gmail.com", "j.a.n.e@gmail.com"),
        ("jane@Bücher.de", "jane@xn--bcher-kva.de"),
        ("jane@xn--bcher-kva.de", "jane@xn--bcher-kva.de"),
        ("jane@XN--BCHER-KVA.DE", "jane@xn--bcher-kva.de"),
        ("jane@\uff22\u00dcCHER\uff0ede", "jane@xn--bcher-kva.de"),  # full-width B and dot
        ("jane@xn--bcher-2pa.de", "jane@xn--bcher-kva.de"),
        ("jane@faß.de", "jane@xn--fa-hia.de"),
        ("jane@☃.net", "jane@xn--n3h.net"),
        ("jane@xn--n3h.net", "jane@xn--n3h.net"),
        ("jane@example.com.", "jane@example.com"),
        ("Ünïcode@example.com", "ünïcode@example.com"),
        ("o'brien!#$%&*/=?^_`{|}~@example.com", "o'brien!#$%&*/=?^_`{|}~@example.com"),
        ("jane@r3--sn-abc.googlevideo.com", "jane@r3--sn-abc.googlevideo.com"),
    ],
)
def test_normalize_address_canonical_spelling(raw: str, expected: str) -> None:
    """Addresses are trimmed, lower-cased and IDNA-encoded, keeping plus-tags and dots."""
    assert normalize_address(raw) == expected


def test_plus_tag_is_a_different_subject() -> None:
    """A plus-tagged address is not folded into the untagged one."""
    assert normalize_address("a+x@example.com") != normalize_address("a@example.com")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("jane.example.com", "no '@'"),
        ("a@b@example.com", "more than one '@'"),
        ('"a@b"@example.com', "more than one '@'"),
        ("@example.com", "empty local part"),
        ("x" * 65 + "@example.com", "longer than 64"),
        ("ü" * 33 + "@example.com", "longer than 64"),
        ("x" * 64 + "@" + ".".join(["a" * 60] * 4) + ".com", "longer than 254"),
        ("ja ne@example.com", "whitespace"),
        ("jane@exa mple.com", "whitespace"),
        ("jane\t@example.com", "whitespace"),
        ("jane\x00@example.com", "control"),
        ("jane\u200b@example.com", "U+200B"),
        ("ja\u00a0ne@example.com", "U+00A0"),
        ("jane\ud800@example.com", "U+D800"),
        ('"jane"@example.com', "quoted"),
        ("jane<x>@example.com", "quoted"),
        ("jane@localhost", "two labels"),
        ("jane@", "empty"),
        ("jane@.example.com", "empty label"),
        ("jane@example..com", "empty label"),
        ("jane@-example.com", "inner hyphens"),
        ("jane@exa_mple.com", "inner hyphens"),
        ("jane@" + "a" * 64 + ".com", "longer than 63"),
        ("jane@1.2.3.4", "all digits"),
        ("jane@[192.0.2.1]", "literals"),
        ("jane@xn--99999999999.com", "not valid punycode"),
        ("jane@xn--85j.com", "internationalised"),  # punycode of U+2FF0, refused by both IDNAs
        ("jane@\u2ff0.com", "internationalised"),
        ("jane@xn--ab.com", "U+0081"),  # punycode of a control character
        ("jane@xn--14buz.com", "U+0991"),  # punycode of an unassigned code point
    ],
)
def test_normalize_address_refusals(raw: str, fragment: str) -> None:
    """Each kind of bad address is refused with InvalidAddress and a reason naming it."""
    with pytest.raises(InvalidAddress) as caught:
        normalize_address(raw)
    assert fragment in caught.value.message
    assert caught.value.code == "invalid_address"


def test_normalize_address_refuses_non_string() -> None:
    """A non-string (a stray JSON number) is an InvalidAddress, not a TypeError."""
    with pytest.raises(InvalidAddress):
        normalize_address(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Example.COM. ", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("mail.example.co.uk", "mail.example.co.uk"),
    ],
)
def test_normalize_domain(raw: str, expected: str) -> None:
    """Domains are trimmed, lower-cased, stripped of one trailing dot and IDNA-encoded."""
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "com",
        "example..com",
        "example.com..",
        "a" * 64 + ".com",
        "ex ample.com",
        "*.example.com",
        ".".join(["abcdefghi"] * 26) + ".com",
    ],
)
def test_normalize_domain_refusals(raw: str) -> None:
    """Malformed domains raise InvalidDomain."""
    with pytest.raises(InvalidDomain) as caught:
        normalize_domain(raw)
    assert caught.value.code == "invalid_domain"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("*.Example.com", "*.example.com"),
        ("*.bücher.de", "*.xn--bcher-kva.de"),
        ("@example.com", "example.com"),
        ("example.com", "example.com"),
    ],
)
def test_normalize_domain_pattern(raw: str, expected: str) -> None:
    """Patterns accept a leading '*.' wildcard and the seed's '@domain' notation."""
    assert normalize_domain_pattern(raw) == expected


@pytest.mark.parametrize(
    "raw", ["*.com", "*example.com", "a.*.example.com", "**.example.com", "*."]
)
def test_normalize_domain_pattern_refusals(raw: str) -> None:
    """A wildcard anywhere but a leading '*.' over a two-label domain is refused."""
    with pytest.raises(InvalidDomain):
        normalize_domain_pattern(raw)


def test_domain_of() -> None:
    """domain_of returns what follows the '@' of a normalised address."""
    assert domain_of("jane@xn--bcher-kva.de") == "xn--bcher-kva.de"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("example.com", ("example.com",)),
        ("b.example.com", ("b.example.com", "*.example.com")),
        ("a.b.example.com", ("a.b.example.com", "*.b.example.com", "*.example.com")),
    ],
)
def test_domain_candidates(domain: str, expected: tuple[str, ...]) -> None:
    """Candidates are the exact domain then each wildcard parent of two labels or more."""
    assert domain_candidates(domain) == expected


def test_wildcard_does_not_match_apex() -> None:
    """'*.example.com' is not a candidate of 'example.com' itself."""
    assert "*.example.com" not in domain_candidates("example.com")


# --- properties -----------------------------------------------------------------------

_LOCAL = st.text(
    alphabet=st.sampled_from(list("abcxyzABCXYZ0189._+-!#$%&'*/=?^`{|}~äöüßé中文кир")),
    min_size=1,
    max_size=20,
)  # what addresses are made of, so few draws are invalid (arbitrary text: the test above)
_LABEL_CHARS = st.sampled_from(
    list(
        "abcdefghijklmnopqrstuvwxyz0123456789-äöüßéñçøåæœłżźćńśęąčřšžýíáúůěğışÿ中文日本語한국어кирилица"
    )
)
_UNICODE_LABEL = st.builds(
    lambda first, rest: first + rest,
    st.text(alphabet=_LABEL_CHARS.filter(lambda c: c != "-"), min_size=1, max_size=1),
    st.text(alphabet=_LABEL_CHARS, max_size=11).map(lambda t: t.rstrip("-")),
)


@settings(max_examples=500, deadline=None)  # the machine may be busy: no time limit
@given(st.text(max_size=80))
def test_normalize_address_only_raises_invalid_address(raw: str) -> None:
    """Arbitrary text either normalises or raises InvalidAddress, never anything else."""
    with contextlib.suppress(InvalidAddress):
        normalize_address(raw)


@settings(max_examples=500, deadline=None)  # the machine may be busy: no time limit
@given(
    _LOCAL, st.lists(_UNICODE_LABEL, min_size=1, max_size=3), st.sampled_from(["com", "de", "рф"])
)
def test_normalize_address_is_idempotent(local: str, labels: list[str], tld: str) -> None:
    """Normalising a normalised address gives it back unchanged."""
    raw = f"{local}@{'.'.join([*labels, tld])}"
    try:
        once = normalize_address(raw)
    except InvalidAddress:
        assume(False)
        return
    assert normalize_address(once) == once


@settings(max_examples=500, deadline=None)  # the machine may be busy: no time limit
@given(st.text(max_size=60))
def test_normalize_address_is_idempotent_on_any_text(raw: str) -> None:
    """Idempotence holds for any text that normalises at all."""
    try:
        once = normalize_address(raw)
    except InvalidAddress:
        return
    assert normalize_address(once) == once


@settings(max_examples=500, deadline=None)  # the machine may be busy: no time limit
@given(st.lists(_UNICODE_LABEL, min_size=1, max_size=3))
def test_unicode_and_punycode_spellings_are_one_subject(labels: list[str]) -> None:
    """A Unicode domain and its punycode spelling normalise to the same address."""
    unicode_domain = ".".join([*labels, "com"])
    try:
        punycode = idna.encode(unicode_domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        assume(False)
        return
    assert normalize_address(f"jane@{unicode_domain}") == normalize_address(f"jane@{punycode}")
    shouted = unicode_domain.upper()
    if shouted.lower() == unicode_domain:  # 'ß'.upper() is 'SS': a different name
        assert normalize_address(f"jane@{shouted}") == f"jane@{punycode}"


@settings(max_examples=300, deadline=None)  # the machine may be busy: no time limit
@given(st.text(max_size=60))
def test_normalize_domain_pattern_only_raises_invalid_domain(raw: str) -> None:
    """Arbitrary text either becomes a pattern or raises InvalidDomain; patterns are stable."""
    try:
        pattern = normalize_domain_pattern(raw)
    except InvalidDomain:
        return
    assert normalize_domain_pattern(pattern) == pattern


_LDH_TEXT = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789-")), min_size=1, max_size=16
)


@settings(max_examples=1000, deadline=None)  # the machine may be busy: no time limit
@given(_LDH_TEXT)
def test_any_accepted_punycode_label_has_a_unicode_spelling(label: str) -> None:
    """An accepted xn-- label is stable, and its Unicode spelling normalises to it."""
    try:
        once = normalize_address(f"jane@xn--{label}.com")
    except InvalidAddress:
        return
    assert normalize_address(once) == once
    first = domain_of(once).split(".")[0]
    unicode_label = (
        first[4:].encode("ascii").decode("punycode") if first.startswith("xn--") else first
    )
    assert normalize_address(f"jane@{unicode_label}.com") == once


_SPELLED = st.from_regex(_CANONICAL, fullmatch=True) | st.builds(
    "{}@{}.{}".format,
    st.text("abcXYZ09._+-'\"", min_size=1, max_size=70),
    st.text("abcx-n09.", min_size=1, max_size=70),
    st.text("abcZ09", min_size=1, max_size=70),
)


@settings(max_examples=400)
@given(_SPELLED)
def test_an_address_already_canonical_takes_the_short_way_to_the_same_answer(raw: str) -> None:
    """The shortcut for canonical spellings answers exactly what the full steps answer,
    refusal included, on addresses of its shape and on near misses (capitals, quotes,
    A-labels, long labels, digit top labels)."""
    try:
        expected: str | type[InvalidAddress] = _normalized(raw)
    except InvalidAddress:
        expected = InvalidAddress
    try:
        got: str | type[InvalidAddress] = normalize_address(raw)
    except InvalidAddress:
        got = InvalidAddress
    assert got == expected
