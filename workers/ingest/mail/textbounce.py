"""Bounces written for people: find the failed recipients and the server's words in text.

The MTA family rows of ``mta_rules`` say where a family's error block is and how it
writes a recipient; this module runs them. A recipient's *section* is its block text up
to the next recipient; the server's words are the first ``reasons`` match in it, else
the paragraph that names the address. Reply code and enhanced status are taken from
those words wherever they appear.

Some MTAs (directory gateways such as phquery, JetMail) name a local recipient by its
local part alone. Such a name is completed from the returned original's recipients
(``To``, ``Cc``, ``Envelope-To``, ``X-Original-To``) only when exactly one of them has
that local part; otherwise the recipient stays unnamed (``email`` None), so the report
keeps the server's words but can list nobody unless the VERP path names the recipient.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from suppressor_client.addresses import normalize_address
from suppressor_client.errors import InvalidAddress

from workers.ingest.mail import mta_rules as rules
from workers.ingest.mail.mta_rules import MtaFamily

__all__ = [
    "TextRecipient",
    "codes_in",
    "complete_local",
    "identify",
    "is_delay",
    "looks_like_bounce",
    "notification_part",
    "read_recipients",
]

MAX_SECTION = 4_000
MAX_DIAGNOSTIC = 2_000

_STATUS = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
_CODE_FIRST = re.compile(r"^\W{0,3}(?:smtp;\s*)?([245]\d\d)(?![\d.])")
_CODE_BEFORE_STATUS = re.compile(r"(?<![\w.])([245]\d\d)[ -]#?[245]\.\d{1,3}\.\d{1,3}(?!\d)")
_CODE_AFTER_WORD = re.compile(
    r"(?:said|returned|error|reply|response|responded|smtp;)\W{0,6}([245]\d\d)(?![\d.])", re.I
)
_CODE_BEFORE_WORDS = re.compile(r"(?<![\w.#/-])([45][0-5]\d)[ -](?=[A-Za-z#])")


@dataclass(frozen=True, slots=True)
class TextRecipient:
    """One failed recipient read from a text bounce (``email`` None: named without a domain
    that the returned original could not complete; ``named`` is what the text wrote)."""

    email: str | None
    diagnostic: str | None
    smtp_status: str | None
    smtp_code: int | None
    remote_mta: str | None
    matched_reason: bool  # the family's reason pattern found the server's words
    named: str = ""


def codes_in(text: str | None) -> tuple[str | None, int | None]:
    """The enhanced status and the basic reply code written in some text, if any."""
    if not text:
        return None, None
    match = _STATUS.search(text)
    status = None if match is None else f"{match[1]}.{int(match[2])}.{int(match[3])}"
    code = None
    for pattern in (_CODE_FIRST, _CODE_BEFORE_STATUS, _CODE_AFTER_WORD, _CODE_BEFORE_WORDS):
        found = pattern.search(text)
        if found is not None:
            code = int(found[1])
            break
    return status, code


def notification_part(text: str) -> str:
    """The text before the quoted original message, if the bounce quotes it inline."""
    lower = text.lower()
    cut = len(text)
    for marker in rules.ORIGINAL_MARKERS:
        at = lower.find(marker)
        if 0 <= at < cut:
            cut = at
    return text[:cut]


def identify(lower_text: str, headers: Mapping[str, str]) -> MtaFamily | None:
    """The family a header of the message names, else the first whose text marker is found.

    Headers first: an ESP's own header (X-Mailgun-Sid) says more than wording that several
    families share.
    """
    for family in rules.FAMILIES:
        for name, needle in family.headers:
            value = headers.get(name)
            if value is not None and needle in value:
                return family
    for family in rules.FAMILIES:
        if any(marker in lower_text for marker in family.markers):
            return family
    return None


def looks_like_bounce(sender: str, subject: str) -> str | None:
    """Why a message with no family's markers still reads as a bounce, or None."""
    lower_sender, lower_subject = sender.lower(), _collapse(subject.lower())
    for marker in rules.BOUNCE_SENDERS:
        if marker in lower_sender:
            return f"sender {marker!r}"
    for marker in rules.BOUNCE_SUBJECTS:
        if marker in lower_subject:
            return f"subject {marker!r}"
    return None


def is_delay(lower_text: str, lower_subject: str) -> str | None:
    """The "still trying" phrase of a delay warning, if the text or subject has one."""
    for marker in rules.DELAY_MARKERS:
        if marker in lower_text or marker in lower_subject:
            return marker
    return None


def _block(text: str, lower: str, family: MtaFamily) -> str:
    start = len(text)
    for marker in family.start:
        at = lower.find(marker)
        if 0 <= at < start:
            start = at
    start = 0 if start == len(text) else lower.rfind("\n", 0, start) + 1
    end = len(text)
    for marker in family.end:
        at = lower.find(marker, start)
        if 0 <= at < end:
            end = at
    return text[start:end]


def _address(raw: str) -> str | None:
    candidate = raw.strip().strip("<>").rstrip(".")
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[7:]
    try:
        return normalize_address(candidate)
    except InvalidAddress:
        return None


def _collapse(text: str) -> str:
    return " ".join(text.split())


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _paragraphs(text: str) -> str:
    """Each paragraph on one line: reason patterns end at ``$``, the end of a paragraph."""
    return "\n".join(p for p in (_collapse(c) for c in _BLANK_LINE.split(text)) if p)


def _paragraph(section: str, first_rest: str, spans: int = 1) -> str:
    """The words that go with a recipient: its line's rest, then lines up to a blank line."""
    lines = section.splitlines()[spans:]  # after the lines the recipient match spans
    words = [first_rest] if first_rest.strip() else []
    for line in lines:
        if not line.strip():
            if words:
                break
            continue
        words.append(line)
        if len(words) > 12:
            break
    return _collapse(" ".join(words))


def complete_local(local: str, originals: Iterable[str]) -> str | None:
    """The one address of ``originals`` whose local part is ``local``, else None."""
    wanted = local.casefold()
    found = {a for a in originals if a.rpartition("@")[0].casefold() == wanted}
    return found.pop() if len(found) == 1 else None


def read_recipients(
    text: str, family: MtaFamily, exclude: Iterable[str] = (), originals: Iterable[str] = ()
) -> list[TextRecipient]:
    """The failed recipients of one notification text, as ``family`` writes them.

    ``originals``: the returned original's recipient addresses, to complete a recipient
    the text names by its local part alone.
    """
    lower = text.lower()
    if len(lower) != len(text):  # a few characters change length when lower-cased
        text = lower
    block = _block(text, lower, family)
    skip = set(exclude)
    known = tuple(originals)
    hits: dict[int, tuple[int, str, str]] = {}  # start -> (end, key, rest)
    named: dict[str, tuple[str | None, str]] = {}  # key -> (address or None, as written)
    for pattern in family.recipients:
        for match in pattern.finditer(block):
            if match.start() in hits:
                continue
            groups = match.groupdict()
            if groups.get("addr") is not None:
                email, written = _address(groups["addr"]), groups["addr"]
                if email is None:
                    continue
            else:
                written = groups["local"]
                email = complete_local(written, known)
            if email is not None and email in skip:
                continue
            key = email if email is not None else f"?{written.casefold()}"
            named.setdefault(key, (email, written))
            hits[match.start()] = (match.end(), key, groups.get("rest") or "")
    order: list[int] = []
    for start in sorted(hits):  # the address named again in its own paragraph: one section
        previous = order[-1] if order else None
        same = previous is not None and hits[previous][1] == hits[start][1]
        if same and previous is not None and not _BLANK_LINE.search(block, previous, start):
            continue
        order.append(start)
    found: dict[str, TextRecipient] = {}
    for index, start in enumerate(order):
        end = order[index + 1] if index + 1 < len(order) else len(block)
        match_end, key, rest = hits[start]
        section = block[start : min(end, start + MAX_SECTION)]
        email, written = named[key]
        spans = 1 + block.count("\n", start, match_end)
        recipient = _read_section(section, rest, email, family, written=written, spans=spans)
        held = found.get(key)
        if held is None or _better(recipient, held):
            if held is not None and recipient.remote_mta is None:
                recipient = replace(recipient, remote_mta=held.remote_mta)
            found[key] = recipient
        elif held.remote_mta is None and recipient.remote_mta is not None:
            found[key] = replace(held, remote_mta=recipient.remote_mta)
    return list(found.values())


def _read_section(
    section: str, rest: str, email: str | None, family: MtaFamily, *, written: str, spans: int
) -> TextRecipient:
    collapsed = _paragraphs(section)
    diagnostic: str | None = None
    matched = False
    for pattern in family.reasons:
        match = pattern.search(collapsed)
        if match is not None and match["text"].strip():
            diagnostic, matched = match["text"].strip(), True
            break
    if diagnostic is None:
        diagnostic = _paragraph(section, rest, spans).strip(" :-") or None
    if diagnostic is not None:
        diagnostic = diagnostic[:MAX_DIAGNOSTIC]
    mta = None
    for pattern in family.mtas:
        match = pattern.search(collapsed)
        if match is not None:
            mta = match["mta"].rstrip(".").lower()
            break
    status, code = codes_in(diagnostic)
    if status is None and code is None:  # the code may stand outside the quoted words
        status, code = codes_in(collapsed)
    return TextRecipient(email, diagnostic, status, code, mta, matched, written)


def _better(new: TextRecipient, held: TextRecipient) -> bool:
    """Of two sections naming one address (Exchange names it twice), the more telling."""

    def score(r: TextRecipient) -> tuple[int, int, int]:
        return (int(r.matched_reason), int(r.smtp_status is not None or r.smtp_code is not None),
                int(bool(r.diagnostic)))  # fmt: skip

    return score(new) > score(held)
