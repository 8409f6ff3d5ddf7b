"""The URI allowlist (SPEC §7, seed 002): anchored re2 patterns and link extraction.

Patterns come from account managers and bodies from API callers who may hold stolen
keys, so both are hostile: patterns compile under re2 (linear time, no backtracking),
are bounded in length and must be anchored at the start with ``^`` (an unanchored
pattern is satisfied by a link that merely *mentions* a trusted address). Bodies are
bounded in bytes and in distinct links.

Enablement: the allowlist is on exactly when the account has at least one pattern
(like the domain allow list of seed 001). The topic carries patterns only, so the
seed's "fill it first, then enable" is done by a sender choosing when to call
``check_body``; with no patterns, ``check_body`` allows without scanning.

What counts as a link: every ``href``/``src``/``action``/``formaction``/``background``
attribute value in HTML (entities decoded, tabs and newlines removed as browsers do)
and every bare ``http(s)://`` URL in the text. Only ``mailto:``, ``tel:``, ``cid:``
and in-page ``#`` values are exempt; anything else (relative, ``javascript:``,
``data:``) must match a pattern, so the check fails closed. Matching is on the link as
written, case-sensitively.
"""

from __future__ import annotations

import html as html_codec
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from suppressor_client.errors import InputError, TooLarge

__all__ = [
    "EXEMPT_PREFIXES",
    "MAX_BODY_BYTES",
    "MAX_LINKS",
    "MAX_PATTERN_LENGTH",
    "InvalidPattern",
    "UriAllowlist",
    "UriCheck",
    "UriPattern",
    "check_body",
    "compile_allowlist",
    "compile_pattern",
    "extract_links",
]

MAX_PATTERN_LENGTH = 1_000
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_LINKS = 10_000
EXEMPT_PREFIXES = ("mailto:", "tel:", "cid:", "#")
_MAX_GROUP_DEPTH = 50  # anchoring check only; deeper nesting is refused, not recursed into
_QUANTIFIERS_THAT_MAY_SKIP = ("?", "*", "{")  # after an anchor, these make it optional


class InvalidPattern(InputError):
    """A URI pattern that is refused: not re2 syntax, too long or not anchored."""

    code = "invalid_pattern"


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20  # a big allowlist combined into one set needs room
    return options


_OPTIONS = _options()
_ATTRIBUTE = re2.compile(
    rb"(?i)\b(?:href|src|action|formaction|background)\s*=\s*"
    rb"(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))",
    _OPTIONS,
)
_BARE_URL = re2.compile(rb"(?i)\bhttps?://[^\s\"'<>]+", _OPTIONS)
_TAG = re2.compile(rb"<[^>]*>", _OPTIONS)
_TRAILING_PUNCTUATION = ".,;:!?)]}"
_URL_WHITESPACE = str.maketrans("", "", "\t\n\r")


@dataclass(frozen=True, slots=True)
class UriPattern:
    """One compiled, anchored allowlist pattern."""

    text: str
    regex: Any = field(compare=False, repr=False)

    def matches(self, link: str) -> bool:
        return self.regex.search(link) is not None


def compile_pattern(text: str) -> UriPattern:
    """Compile one allowlist pattern, or raise ``InvalidPattern`` saying why not."""
    if not isinstance(text, str) or not text:
        raise InvalidPattern("the URI pattern is empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidPattern(f"the URI pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        regex = re2.compile(text, _OPTIONS)
    except re2.error as error:
        raise InvalidPattern(f"the URI pattern is not a valid re2 expression: {error}") from None
    if not _anchored(text, 0):
        raise InvalidPattern(
            "the URI pattern must be anchored at the start with '^' in every alternative, "
            r"e.g. ^https://www\.example\.com/"
        )
    return UriPattern(text, regex)


@dataclass(frozen=True, slots=True)
class UriAllowlist:
    """An account's patterns combined into one re2 set: one pass per link, any count."""

    patterns: tuple[UriPattern, ...]
    _set: Any = field(compare=False, repr=False)

    @property
    def enabled(self) -> bool:
        return bool(self.patterns)

    def allows(self, link: str) -> bool:
        """Whether some pattern matches the link (an empty allowlist matches nothing)."""
        return self._set is not None and self._set.Match(link) is not None


def compile_allowlist(patterns: Iterable[UriPattern | str]) -> UriAllowlist:
    """Combine patterns (compiled or as text) into one allowlist; raises ``InvalidPattern``."""
    compiled = tuple(p if isinstance(p, UriPattern) else compile_pattern(p) for p in patterns)
    if not compiled:
        return UriAllowlist((), None)
    combined = re2.Set.SearchSet(_OPTIONS)
    for pattern in compiled:
        combined.Add(pattern.text)
    combined.Compile()
    return UriAllowlist(compiled, combined)


@dataclass(frozen=True, slots=True)
class UriCheck:
    """The verdict on a body: ``offending`` lists the links no pattern allows, in order."""

    allowed: bool
    offending: list[str] = field(default_factory=list)


def check_body(
    allowlist: UriAllowlist | Sequence[UriPattern | str], body: str, html: bool
) -> UriCheck:
    """Reject a body if any link matches no pattern; allow anything when disabled.

    Raises ``TooLarge`` for a body beyond the bounds (the caller should reject it).
    """
    if not isinstance(allowlist, UriAllowlist):
        allowlist = compile_allowlist(allowlist)
    if not allowlist.enabled:
        return UriCheck(True)
    offending = [link for link in extract_links(body, html=html) if not allowlist.allows(link)]
    return UriCheck(not offending, offending)


def extract_links(body: str, *, html: bool) -> list[str]:
    """The distinct links of a text or HTML body, in order of first appearance.

    Raises ``TooLarge`` beyond ``MAX_BODY_BYTES`` or ``MAX_LINKS`` links examined
    (repeats included, so the work is bounded too): a body that cannot be checked in
    full must not be let through half-checked.
    """
    data = body.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise TooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    links: dict[str, None] = {}
    for examined, link in enumerate(_candidates(data, html), start=1):
        if examined > MAX_LINKS:
            raise TooLarge(f"the body holds more than {MAX_LINKS} links")
        if link and not link.lower().startswith(EXEMPT_PREFIXES):
            links[link] = None
    return list(links)


def _candidates(data: bytes, html: bool) -> Iterator[str]:
    """Every link occurrence: attribute values first (HTML), then bare URLs in the text."""
    text = data
    if html:
        for match in _ATTRIBUTE.finditer(data):
            raw = match.group(1) or match.group(2) or match.group(3) or b""
            yield html_codec.unescape(_decode(raw)).translate(_URL_WHITESPACE).strip()
        text = html_codec.unescape(_decode(_TAG.sub(b" ", data))).encode("utf-8", "surrogatepass")
    for match in _BARE_URL.finditer(text):
        yield _decode(match.group(0)).rstrip(_TRAILING_PUNCTUATION)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _anchored(pattern: str, depth: int) -> bool:
    """Whether every top-level alternative of a valid re2 pattern starts with an anchor."""
    if depth > _MAX_GROUP_DEPTH:
        return False
    return all(_branch_anchored(branch, depth) for branch in _branches(pattern))


def _branch_anchored(branch: str, depth: int) -> bool:
    while branch.startswith("(?") and _flag_group_end(branch) > 0:
        branch = branch[_flag_group_end(branch) + 1 :]  # (?i) and friends change no position
    if branch.startswith("^"):
        rest = branch[1:]
    elif branch.startswith("\\A"):
        rest = branch[2:]
    elif branch.startswith("("):
        end = _group_end(branch)
        if end < 0 or not _anchored(_group_body(branch[1:end]), depth + 1):
            return False
        rest = branch[end + 1 :]
    else:
        return False
    return not rest.startswith(_QUANTIFIERS_THAT_MAY_SKIP)


def _flag_group_end(branch: str) -> int:
    """The index of ``)`` closing a leading flags-only group such as ``(?i)``, else -1."""
    end = branch.find(")")
    flags = branch[2:end] if end > 0 else ""
    return end if flags and all(c in "imsU-" for c in flags) else -1


def _group_body(inner: str) -> str:
    """A group's pattern without its ``?:``, ``?P<name>`` or ``?flags:`` prefix."""
    if not inner.startswith("?"):
        return inner
    if inner.startswith(("?P<", "?<")):
        return inner[inner.index(">") + 1 :]
    return inner[inner.index(":") + 1 :]


def _scan(pattern: str) -> Iterable[tuple[int, str, int]]:
    """(index, character, nesting depth) of the pattern's structural characters."""
    depth, i = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i) + 1
            continue
        if char == ")":
            depth -= 1
        yield i, char, depth
        if char == "(":
            depth += 1
        i += 1


def _branches(pattern: str) -> list[str]:
    cuts = [i for i, char, depth in _scan(pattern) if char == "|" and depth == 0]
    bounds = [-1, *cuts, len(pattern)]
    return [pattern[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def _group_end(branch: str) -> int:
    """The index of the ``)`` closing the group that opens ``branch``, else -1."""
    return next((i for i, char, depth in _scan(branch) if char == ")" and depth == 0), -1)


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` closing the character class opened at ``start``."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1  # a leading ']' is a literal
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern.startswith("[:", i):
            close = pattern.find(":]", i + 2)
            if close != -1:
                i = close + 2
                continue
        if pattern[i] == "]":
            return i
        i += 1
    return len(pattern)
