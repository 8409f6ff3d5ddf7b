"""The URI allowlist: pattern compilation, link extraction and body checks (seed 002)."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.errors import TooLarge
from suppressor_client.uri import (
    MAX_BODY_BYTES,
    MAX_LINKS,
    MAX_PATTERN_LENGTH,
    InvalidPattern,
    UriCheck,
    check_body,
    compile_allowlist,
    compile_pattern,
    extract_links,
)

LINKEDIN = r"^https:\/\/www\.linkedin\.com\/company\/omnivery"


@pytest.mark.parametrize(
    "pattern",
    [
        LINKEDIN,
        r"^https://shop\.example\.com/",
        r"(?i)^https://a\.com",
        r"^https://a\.com|^https://b\.com",
        r"(^https://a\.com|^https://b\.com)/x",
        r"(?:^https://a\.com)+",
        r"(?P<site>^https://a\.com)/",
        r"(?s:^https://a\.com)",
        r"\Ahttps://a\.com",
        r"^[|(]|^x",
        r"^[[:alpha:]]+://x",
        r"^(a+)+$",
    ],
)
def test_anchored_patterns_compile(pattern: str) -> None:
    """Patterns anchored with '^' (or \\A) in every alternative are accepted."""
    assert compile_pattern(pattern).text == pattern


@pytest.mark.parametrize(
    "pattern",
    [
        r"https://www\.linkedin\.com",
        r"^https://a\.com|evil",
        r"^a|",
        r"(^|x)https://a\.com",
        r"(?:^https://a\.com)?",
        r"(^a)*b",
        r"^?https://a\.com",
        r"^*https://a\.com",
        r"^{0}https://a\.com",
        r".*^https://a\.com",
        r"[^]]https://a\.com",
        r"(?i)https://a\.com",
        "(" * 60 + "^a" + ")" * 60,
    ],
)
def test_unanchored_patterns_refused(pattern: str) -> None:
    """A pattern with any alternative that may match away from the start is refused."""
    with pytest.raises(InvalidPattern, match="anchored") as caught:
        compile_pattern(pattern)
    assert caught.value.code == "invalid_pattern"


@pytest.mark.parametrize("pattern", ["^(a", "^a)", r"^a\k<x>", "^(?<=a)b", "^a++", ""])
def test_non_re2_patterns_refused(pattern: str) -> None:
    """Syntax re2 rejects (lookbehind, backreferences, unbalanced groups) raises InvalidPattern."""
    with pytest.raises(InvalidPattern):
        compile_pattern(pattern)


def test_pattern_length_bound() -> None:
    """A pattern longer than the bound is refused; one at the bound compiles."""
    compile_pattern("^" + "a" * (MAX_PATTERN_LENGTH - 1))
    with pytest.raises(InvalidPattern, match="longer than"):
        compile_pattern("^" + "a" * MAX_PATTERN_LENGTH)


def test_seed_linkedin_example() -> None:
    """The seed's pattern allows the company page and rejects the rest of linkedin.com."""
    allowlist = compile_allowlist([LINKEDIN])
    assert allowlist.allows("https://www.linkedin.com/company/omnivery")
    assert allowlist.allows("https://www.linkedin.com/company/omnivery/posts")
    assert not allowlist.allows("https://www.linkedin.com/in/someone")
    assert not allowlist.allows("https://evil.com/?u=https://www.linkedin.com/company/omnivery")


def test_check_body_rejects_if_any_link_unmatched() -> None:
    """One link outside the allowlist rejects the whole message and is reported."""
    body = (
        '<p><a href="https://www.linkedin.com/company/omnivery">us</a>'
        '<a href="https://login.examp1e.com/reset">reset</a></p>'
    )
    assert check_body([LINKEDIN], body, html=True) == UriCheck(
        False, ["https://login.examp1e.com/reset"]
    )
    assert check_body(
        [LINKEDIN], body.replace("https://login.examp1e.com/reset", "x"), html=True
    ) == (UriCheck(False, ["x"]))


def test_check_body_allows_when_every_link_matches() -> None:
    """A body whose links each match some pattern is allowed."""
    patterns = [LINKEDIN, r"^https://shop\.example\.com/"]
    body = "Hi! https://shop.example.com/cart and https://www.linkedin.com/company/omnivery."
    assert check_body(patterns, body, html=False) == UriCheck(True, [])


def test_check_body_disabled_without_patterns() -> None:
    """With no pattern the allowlist is off: anything goes, even an oversized body."""
    assert check_body([], "https://evil.com " * 200_000, html=False).allowed


def test_extract_links_html_attributes_and_text() -> None:
    """href/src/action values (entities decoded, quoted or not) and bare text URLs are links."""
    body = (
        "<a HREF='https://a.com/x?p=1&amp;q=2'>a</a><img src=https://cdn.a.com/i.png>"
        '<form action="https://f.com/post"></form><a href="mailto:x@a.com">m</a>'
        '<a href="#top">t</a><img src="cid:logo"><a href=" https://a.com/\nsplit ">s</a>'
        "<p>Visit https://b.com/page, or (https://c.com/x).</p>"
    )
    assert extract_links(body, html=True) == [
        "https://a.com/x?p=1&q=2",
        "https://cdn.a.com/i.png",
        "https://f.com/post",
        "https://a.com/split",
        "https://b.com/page",
        "https://c.com/x",
    ]


def test_extract_links_keeps_relative_and_script_links() -> None:
    """javascript:, data: and relative hrefs are links too, so the check fails closed."""
    body = '<a href="javascript:alert(1)">j</a><a href="/login">r</a>'
    assert extract_links(body, html=True) == ["javascript:alert(1)", "/login"]
    assert not check_body([r"^https://a\.com/"], body, html=True).allowed


def test_extract_links_text_mode_ignores_markup() -> None:
    """In a text body only bare http(s) URLs count, once each, in order."""
    body = 'href="/x" https://a.com/1 http://b.com/2 https://a.com/1'
    assert extract_links(body, html=False) == ["https://a.com/1", "http://b.com/2"]


def test_body_at_the_bound_is_read_and_beyond_refused() -> None:
    """A body of exactly MAX_BODY_BYTES bytes is checked; one byte more raises TooLarge."""
    link = "https://a.com/x "
    body = link + "é" * ((MAX_BODY_BYTES - len(link)) // 2)
    body += "a" * (MAX_BODY_BYTES - len(body.encode()))
    assert len(body.encode()) == MAX_BODY_BYTES
    assert extract_links(body, html=False) == ["https://a.com/x"]
    with pytest.raises(TooLarge) as caught:
        extract_links(body + "a", html=False)
    assert caught.value.code == "too_large"


def test_too_many_links_refused() -> None:
    """More than MAX_LINKS links, repeats included, cannot be checked in full: refused."""
    at_cap = " ".join(f"https://a.com/{i}" for i in range(MAX_LINKS))
    assert len(extract_links(at_cap, html=False)) == MAX_LINKS
    with pytest.raises(TooLarge, match="links"):
        extract_links(at_cap + " https://a.com/more", html=False)
    with pytest.raises(TooLarge, match="links"):
        extract_links("https://a.com/1 " * (MAX_LINKS + 1), html=False)


LINEAR_BOUND_S = 5.0
"""Generous on a loaded machine; backtracking on these inputs would not end for years."""


def test_hostile_pattern_runs_in_linear_time() -> None:
    """'^(a+)+$', catastrophic under backtracking, matches a long near-miss quickly under re2."""
    allowlist = compile_allowlist([r"^(a+)+$", r"^(a|aa)+$", r"^(a|a?)+$"])
    started = time.perf_counter()
    for size in (30, 1_000, 100_000):
        assert not allowlist.allows("a" * size + "!")
    assert time.perf_counter() - started < LINEAR_BOUND_S


@pytest.mark.parametrize(
    "body",
    [
        'href="' + "a" * (MAX_BODY_BYTES - 6),
        "<" * MAX_BODY_BYTES,
        "href=" * (MAX_BODY_BYTES // 5),
        "http://" + "x" * (MAX_BODY_BYTES - 7),
        '<a href="https://a.com/1">' * (MAX_BODY_BYTES // 26),
        "https://a.com/x " * (MAX_BODY_BYTES // 16),
    ],
)
def test_hostile_bodies_at_the_bound_are_fast(body: str) -> None:
    """Bodies at the size bound built to provoke backtracking or floods of links end fast."""
    started = time.perf_counter()
    with contextlib.suppress(TooLarge):  # too many links: refused, which is an answer too
        check_body([r"^https://a\.com/"], body, html=True)
    assert time.perf_counter() - started < LINEAR_BOUND_S


def test_set_matches_each_pattern_like_alone() -> None:
    """Combining many patterns in one set answers as any single pattern would."""
    patterns = [rf"^https://s{i}\.example\.com/" for i in range(300)]
    allowlist = compile_allowlist(patterns)
    assert allowlist.allows("https://s299.example.com/x")
    assert allowlist.allows("https://s0.example.com/")
    assert not allowlist.allows("https://s300.example.com/x")


@given(st.text(max_size=300), st.booleans())
def test_extract_links_is_total_on_text(body: str, html: bool) -> None:
    """Any text body yields a list of non-empty strings without raising."""
    links = extract_links(body, html=html)
    assert all(isinstance(link, str) and link for link in links)


REGEX_ALPHABET = "^()|?*+ab.[]\\{}1,:ims-AP<>"
PROBES = ("", "a", "b", "ab", "ba", "bab", "aab", "b^a", "a|b", "\x00a")


@given(st.text(alphabet=REGEX_ALPHABET, max_size=14) | st.text(max_size=20))
def test_accepted_patterns_only_match_at_the_start(text: str) -> None:
    """Whatever compiles is anchored: searching a newline-free link equals matching at 0."""
    try:
        pattern = compile_pattern(text)
    except InvalidPattern:
        return
    for probe in PROBES:
        assert (pattern.regex.search(probe) is None) == (pattern.regex.match(probe) is None)
