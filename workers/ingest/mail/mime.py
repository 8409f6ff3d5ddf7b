"""Reading MIME as it really comes: any charset, any transfer encoding, broken or not.

Pure helpers over the standard library's ``email`` package (the fast ``compat32`` policy):
every function here returns something usable for any input and never raises.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import parsedate_to_datetime

__all__ = [
    "ADDRESS",
    "Headers",
    "addresses_in",
    "decode_bytes",
    "decode_header_value",
    "enclosed",
    "iter_parts",
    "load",
    "parse_date",
    "part_text",
    "unfold",
]

MAX_PART_BYTES = 1_000_000
"""Bytes of one decoded text part read; the rest of a huge part is not scanned."""

MAX_HEADER_CHARS = 4_000

ADDRESS = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"([\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10})",
)
"""A bare address in running text (Unicode letters allowed: IDN domains, UTF-8 local parts)."""

_CHARSET_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-2022-jp-ms": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "unicode-1-1-utf-7": "utf-7",
    "us-ascii": "utf-8",  # 8-bit text labelled ASCII is usually UTF-8
    "ascii": "utf-8",
    "iso-8859-1": "cp1252",  # what "Latin-1" mail really holds
    "latin1": "cp1252",
    "latin-1": "cp1252",
}
_ESCAPE_2022 = re.compile(rb"\x1b[\$\(][@BJ]")
_WS = re.compile(r"[ \t]*\r?\n[ \t]+")
_SURROGATE = re.compile("[\udc80-\udcff]")
_ANGLE_ADDRESS = re.compile(r"<([^<>\s@]{1,64}@[^<>\s@]{1,255})>")
MAX_HEADERS = 300


_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{16,200})"|([^\s;"]{16,200}))', re.I)
_MAX_BOUNDARIES = 20


def _canonical_boundaries(raw: bytes) -> bytes:
    """The message with its long MIME boundaries renamed ``=_sbN=``.

    The standard library compiles one regular expression per boundary, and real
    boundaries are random, so every message would miss ``re``'s cache: about a third of
    the parsing time. A boundary is by definition a string the message holds nowhere
    else, so renaming it to another such string changes nothing else. Short boundaries
    (which might occur in the text) are left alone; they repeat and hit the cache.
    """
    found = []
    for match in _BOUNDARY_PARAM.finditer(raw):
        value = match[1] or match[2]
        if value not in found:
            found.append(value)
        if len(found) > _MAX_BOUNDARIES:
            return raw
    if not found:
        return raw
    names = [b"=_sb%d=" % i for i in range(len(found))]
    if any(name in raw for name in names):
        return raw
    for value, name in sorted(zip(found, names, strict=True), key=lambda p: -len(p[0])):
        raw = raw.replace(value, name)
    return raw


def load(raw: bytes) -> Message:
    """The parsed message (``compat32``: fast, and tolerant of anything)."""
    return message_from_bytes(_canonical_boundaries(raw), policy=compat32)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text from bytes: the declared charset, else what the bytes look like; never raises."""
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    if _ESCAPE_2022.search(data):
        try:
            return data.decode("iso2022_jp_ext")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None:
        return data.decode(codec, errors="replace")
    try:
        return data.decode("cp932")  # unlabelled Japanese mail is usually Shift_JIS
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _surrogate_text(value: str) -> str:
    """Raw 8-bit header bytes (kept as surrogates by ``compat32``) read as text."""
    if value.isascii() or not _SURROGATE.search(value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"))


def unfold(value: str) -> str:
    """A header value on one line."""
    return _WS.sub(" ", value).replace("\r", "").replace("\n", " ").strip()


def decode_header_value(raw: str) -> str:
    """Decode RFC 2047 words and raw 8-bit bytes of one header value; never raises."""
    text = unfold(_surrogate_text(raw))[:MAX_HEADER_CHARS]
    if "=?" not in text:
        return text
    try:
        pieces = []
        for chunk, charset in decode_header(text):
            if isinstance(chunk, bytes):
                pieces.append(decode_bytes(chunk, charset))
            else:
                pieces.append(chunk)
        joined = "".join(pieces)
    except Exception:
        return text
    return unfold(joined)


class Headers:
    """A message's headers read once: raw values by lower-case name, decoded on demand."""

    __slots__ = ("_values",)

    def __init__(self, msg: Message | None) -> None:
        values: dict[str, list[str]] = {}
        if msg is not None:
            try:
                items = msg.raw_items()
            except Exception:
                items = iter(())
            for count, (name, value) in enumerate(items):
                if count >= MAX_HEADERS:
                    break
                values.setdefault(name.strip().lower(), []).append(str(value))
        self._values = values

    @classmethod
    def from_text(cls, text: str) -> Headers:
        """The header block at the start of some text (a quoted original), unfolded."""
        headers = cls(None)
        last: str | None = None
        for count, line in enumerate(text.splitlines()):
            if not line.strip() or count > 2 * MAX_HEADERS:
                break
            if line[:1] in (" ", "\t") and last is not None:
                values = headers._values[last]
                values[-1] = values[-1] + " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or " " in name.strip():
                break
            last = name.strip().lower()
            headers._values.setdefault(last, []).append(value.strip())
        return headers

    def __bool__(self) -> bool:
        return bool(self._values)

    def raw(self, name: str) -> list[str]:
        return self._values.get(name, [])

    def get(self, name: str) -> str | None:
        """The first value, decoded (RFC 2047, 8-bit) and unfolded."""
        found = self._values.get(name)
        return decode_header_value(found[0]) if found else None

    def items(self) -> list[tuple[str, str]]:
        """(lower-case name, unfolded raw value) pairs, in order of names first seen."""
        return [(name, unfold(v)) for name, values in self._values.items() for v in values]

    def addresses(self, *names: str) -> list[str]:
        """The addresses of some address headers, in order (fast: no full RFC 5322 parse)."""
        out: list[str] = []
        for name in names:
            for value in self._values.get(name, ()):
                text = decode_header_value(value) if "=?" in value or not value.isascii() else value
                angled = _ANGLE_ADDRESS.findall(text)
                out.extend(angled if angled else addresses_in(text))
        return out


def addresses_in(text: str) -> list[str]:
    """Bare addresses in running text, in order, trailing dots dropped."""
    return [match.rstrip(".") for match in ADDRESS.findall(text)]


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 (or RFC 3339) date as aware UTC, or None."""
    if not value:
        return None
    text = value.strip()
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def iter_parts(msg: Message, depth: int = 0, limit: int = 200) -> Iterator[Message]:
    """Every part of a message, depth first, without entering enclosed ``message/*`` parts."""
    count = 0
    stack = [(msg, depth)]
    while stack and count < limit:
        part, level = stack.pop()
        count += 1
        yield part
        if level > 20 or not part.is_multipart():
            continue
        if part.get_content_maintype() == "message":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((p, level + 1) for p in reversed(payload) if isinstance(p, Message))


def part_bytes(part: Message) -> bytes:
    """A leaf part's body, transfer encoding undone (else its raw text); never raises."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        raw = part.get_payload()
    except Exception:
        raw = None
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def part_charset(part: Message) -> str | None:
    """The part's declared charset, or None (a malformed parameter never raises)."""
    try:
        return part.get_content_charset()
    except Exception:
        return None


def part_text(part: Message) -> str:
    """A leaf part's text: transfer encoding undone, charset decoded; never raises."""
    text = decode_bytes(part_bytes(part)[:MAX_PART_BYTES], part_charset(part))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def enclosed(part: Message) -> Message | None:
    """The message inside a ``message/rfc822`` (or ``text/rfc822-headers``) part."""
    try:
        ctype = part.get_content_type()
        payload = part.get_payload()
    except Exception:
        return None
    if ctype in ("text/rfc822-headers", "text/rfc822"):
        text = part_text(part)
        return load(text.encode("utf-8", "replace"))
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str) and payload.strip():
        try:
            data = part.get_payload(decode=True)
        except Exception:
            data = None
        if isinstance(data, bytes):
            return load(data)
    return None
