"""Address and domain normalisation (SPEC §4) and wildcard domain patterns.

One address must have one spelling everywhere: keys on the ``suppressions`` topic,
lookups in a sender's view and rows of an export all use the output of
``normalize_address``. So the function lower-cases the whole address and turns the
domain into its IDNA ASCII (punycode) form, so that ``jane@bücher.de`` and
``jane@xn--bcher-kva.de`` are one subject. It keeps plus-tags and dots: ``a+x@`` is
a different mailbox from ``a@`` at most providers, and guessing wrong would suppress
or release someone else.

Invalid input raises ``InvalidAddress`` / ``InvalidDomain`` with a reason a person can
act on, and nothing else, whatever the string: a worker turns the error into a DLQ
record and goes on. Every result is a fixed point (normalising it again gives it back),
which the domain conversion checks itself rather than trusting two IDNA codecs to agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import idna

from suppressor_client.errors import InvalidAddress, InvalidDomain

__all__ = [
    "MAX_ADDRESS_LENGTH",
    "MAX_DOMAIN_LENGTH",
    "MAX_LOCAL_LENGTH",
    "WILDCARD_PREFIX",
    "domain_candidates",
    "domain_of",
    "normalize_address",
    "normalize_domain",
    "normalize_domain_pattern",
]

MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit less the angle brackets
MAX_LOCAL_LENGTH = 64  # RFC 5321 §4.5.3.1.1, in octets
MAX_DOMAIN_LENGTH = 253  # RFC 1035 without the trailing dot, in octets
MAX_LABEL_LENGTH = 63
WILDCARD_PREFIX = "*."

# One LDH label (RFC 1123): letters, digits, inner hyphens. Bounded, so no backtracking blow-up.
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ALL_DIGITS = re.compile(r"[0-9]+")
# Characters an unquoted local part cannot hold (RFC 5322 specials; quoted parts unsupported).
_LOCAL_SPECIALS = frozenset('()<>[]:;,\\"')
# Unicode categories refused anywhere in an address: controls, format, separators, surrogates.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_ASCII_PRINTABLE_NO_SPACE = re.compile(r"[!-~]*")
# An address already in its canonical spelling, as nearly every one an import or a front
# stage sees again is: lower-case LDH labels, a lettered top label, no A-label (``xn--``,
# which has a canonical form of its own). ``normalize_address`` returns it unchanged.
_CANONICAL = re.compile(
    r"[a-z0-9._+-]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A cached refusal, so hostile repeats of one bad domain cost a dict lookup."""

    message: str


def normalize_address(raw: str) -> str:
    """The canonical spelling of an address, or ``InvalidAddress`` saying why not."""
    if not isinstance(raw, str):
        raise InvalidAddress("address must be a string")
    if len(raw) <= MAX_ADDRESS_LENGTH and "xn--" not in raw and _CANONICAL.fullmatch(raw):
        return raw  # what ``_normalized`` gives back for it (tests/test_addresses.py)
    return _normalized(raw)


def _normalized(raw: str) -> str:
    """``normalize_address`` step by step."""
    text = raw.strip()
    if not text:
        raise InvalidAddress("address is empty")
    _check_characters(text)
    at_count = text.count("@")
    if at_count == 0:
        raise InvalidAddress(f"address has no '@': {_show(text)}")
    if at_count > 1:
        raise InvalidAddress(f"address has more than one '@': {_show(text)}")
    local, _, domain = text.partition("@")
    if not local:
        raise InvalidAddress(f"address has an empty local part: {_show(text)}")
    local = local.lower()
    bad = next((c for c in local if c in _LOCAL_SPECIALS), None)
    if bad is not None:
        raise InvalidAddress(f"local part holds {bad!r} (quoted local parts are not supported)")
    if len(local.encode("utf-8")) > MAX_LOCAL_LENGTH:
        raise InvalidAddress(f"local part is longer than {MAX_LOCAL_LENGTH} octets")
    result = _domain_or_refusal(domain.lower())
    if isinstance(result, _Refusal):
        raise InvalidAddress(f"invalid domain in address {_show(text)}: {result.message}")
    address = f"{local}@{result}"
    if len(address.encode("utf-8")) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"address is longer than {MAX_ADDRESS_LENGTH} octets")
    return address


def normalize_domain(raw: str) -> str:
    """The canonical ASCII form of a domain, or ``InvalidDomain`` saying why not."""
    if not isinstance(raw, str):
        raise InvalidDomain("domain must be a string")
    text = raw.strip()
    if not text:
        raise InvalidDomain("domain is empty")
    result = _domain_or_refusal(text.lower())
    if isinstance(result, _Refusal):
        raise InvalidDomain(f"invalid domain {_show(text)}: {result.message}")
    return result


def normalize_domain_pattern(raw: str) -> str:
    """A domain rule's subject: an exact domain, or ``*.domain`` for its subdomains only.

    ``@example.com`` (the notation of seed 002) is read as ``example.com``.
    """
    if not isinstance(raw, str):
        raise InvalidDomain("domain pattern must be a string")
    text = raw.strip()
    if text.startswith("@"):
        return normalize_domain(text[1:])
    if text.startswith(WILDCARD_PREFIX):
        return WILDCARD_PREFIX + normalize_domain(text[len(WILDCARD_PREFIX) :])
    if "*" in text:
        raise InvalidDomain(f"a wildcard is only allowed as a leading '*.': {_show(text)}")
    return normalize_domain(text)


def domain_of(address: str) -> str:
    """The domain of a normalised address."""
    return address.rpartition("@")[2]


def domain_candidates(domain: str) -> tuple[str, ...]:
    """Every pattern that matches a normalised domain, most specific first.

    The exact domain, then ``*.parent`` for each proper parent of two labels or more:
    ``a.b.example.com`` gives ``a.b.example.com``, ``*.b.example.com``, ``*.example.com``.
    On the hot path of every send decision, so it walks the dots instead of splitting.
    """
    out = [domain]
    dot = domain.find(".")
    while dot != -1:
        following = domain.find(".", dot + 1)
        if following == -1:
            break
        out.append("*" + domain[dot:])
        dot = following
    return tuple(out)


def _check_characters(text: str) -> None:
    """Refuse whitespace and invisible characters anywhere inside an address."""
    if text.isascii():
        if _ASCII_PRINTABLE_NO_SPACE.fullmatch(text) is None:
            raise InvalidAddress(f"address holds whitespace or control characters: {_show(text)}")
        return
    char = _refused_character(text)
    if char is not None:
        raise InvalidAddress(
            f"address holds a whitespace, control or unassigned character "
            f"U+{ord(char):04X}: {_show(text)}"
        )


def _refused_character(text: str) -> str | None:
    """The first whitespace, control, format, surrogate or unassigned character, if any."""
    for char in text:
        if char.isspace() or unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


@lru_cache(maxsize=65536)
def _domain_or_refusal(domain: str) -> str | _Refusal:
    """The ASCII form of a lower-cased domain, checked to be a fixed point; cached."""
    try:
        ascii_domain = _to_ascii_domain(domain)
        if _to_ascii_domain(ascii_domain) != ascii_domain:
            return _Refusal("the domain has no stable IDNA form")
    except InvalidDomain as error:
        return _Refusal(error.message)
    return ascii_domain


def _to_ascii_domain(domain: str) -> str:
    """IDNA-convert and validate a lower-cased domain; raises ``InvalidDomain``."""
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain:
        raise InvalidDomain("the domain is empty")
    if domain.startswith("[") or domain.endswith("]"):
        raise InvalidDomain("address literals are not supported")
    if not domain.isascii():
        domain = _unicode_to_ascii(domain)
    labels = [_ascii_label(label) for label in domain.split(".")]
    if len(labels) < 2:
        raise InvalidDomain("the domain needs at least two labels")
    if _ALL_DIGITS.fullmatch(labels[-1]):
        raise InvalidDomain("the top-level label is all digits")
    result = ".".join(labels)
    if len(result) > MAX_DOMAIN_LENGTH:
        raise InvalidDomain(f"the domain is longer than {MAX_DOMAIN_LENGTH} characters")
    return result


def _ascii_label(label: str) -> str:
    """Validate one ASCII label; an A-label is replaced by the canonical A-label."""
    _check_ldh(label)
    if not label.startswith("xn--"):
        return label
    try:
        unicode_label = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, IndexError, OverflowError) as error:
        raise InvalidDomain(f"label {label!r} is not valid punycode") from error
    canonical = _unicode_to_ascii(unicode_label)
    if "." in canonical:
        raise InvalidDomain(f"label {label!r} decodes to more than one label")
    _check_ldh(canonical)
    return canonical


def _check_ldh(label: str) -> None:
    if not label:
        raise InvalidDomain("the domain has an empty label")
    if len(label) > MAX_LABEL_LENGTH:
        raise InvalidDomain(f"a label is longer than {MAX_LABEL_LENGTH} characters")
    if _LDH_LABEL.fullmatch(label) is None:
        raise InvalidDomain(f"label {label!r} is not letters, digits and inner hyphens")


def _unicode_to_ascii(text: str) -> str:
    """IDNA 2008 with UTS 46 mapping; IDNA 2003 (the stdlib codec) where 2008 refuses.

    The fallback keeps older registrations (symbols such as ``☃.net``) addressable. The
    characters refused in an address are refused here too, so a punycode label cannot
    smuggle in what its Unicode spelling may not hold.
    """
    char = _refused_character(text)
    if char is not None:
        raise InvalidDomain(f"the domain holds the refused character U+{ord(char):04X}")
    try:
        return idna.encode(text, uts46=True, std3_rules=True).decode("ascii")
    except Exception:  # any refusal of the strict codec means: try IDNA 2003
        pass
    try:
        return text.encode("idna").decode("ascii")
    except (UnicodeError, ValueError) as error:
        raise InvalidDomain(f"not a valid internationalised domain: {error}") from error


def _show(text: str, limit: int = 80) -> str:
    """A bounded ``repr`` for messages: hostile input must not bloat a DLQ record."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
