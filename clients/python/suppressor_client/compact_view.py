"""CompactView: a decide-only ``ListView`` holding ten million address entries in < 100 bytes each.

A ``ListView`` keeps each address entry as Python objects (a dict slot, a str, a tuple),
about 290 bytes an entry. A sender that only decides needs far less: which list, active,
reason, version, ``since`` and ``expires_at``. So this view keeps address entries in flat
typed arrays instead:

- an *arena* (one ``bytearray``) holds every key's exact bytes: a 3-byte account number
  followed by the normalised address, UTF-8; ``offsets[e]:offsets[e + 1]`` is entry e's;
- per entry, one byte each for the list (and the active bit) and the reason, and one
  8-byte integer each for version, ``since`` and ``expires_at`` (microseconds since the
  epoch; ``_NO_TIME`` for none);
- an open-addressing table (linear probing) of 8-byte slots, each the key's CRC-32 in
  the high half and the entry number + 1 in the low half; grown at 70 % load.

A lookup hashes the key, walks the slots, and compares the arena's bytes with the key
before it answers: the hash only finds candidates, so a collision never denies an
address that is not listed (exact decisions). An address on several lists at once (rare:
an unsubscribe and a bounce) keeps its ``AddressEntry`` tuple in a small side dict.
Domain-level lists (few and small) stay in the ``ListView`` it extends, so ``decide``,
the commands' visibility checks and the list tools read it unchanged.

``apply_encoded`` applies a record as read from the topic without building a
``ListRecord`` first (the cold-start hot path); ``state``/``from_state`` give the arrays
as bytes for a snapshot (``suppressor_client.snapshot``).
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from typing import Annotated, Any
from zlib import crc32

import msgspec
import numpy as np
import numpy.typing as npt
import orjson

from suppressor_client.batches import same_bytes
from suppressor_client.errors import BadJson, SchemaError
from suppressor_client.records import MAX_VERSION, decode_record, encode_key, encode_record
from suppressor_client.types import ListKey, ListName, ListRecord, Reason
from suppressor_client.values import parse_timestamp
from suppressor_client.view import (
    ENTRY_ACTIVE,
    ENTRY_COMPLEX,
    ENTRY_NONE,
    LIST_CODE_OF,
    LIST_CODES,
    AddressEntry,
    ListView,
)

__all__ = ["LIST_CODES", "CompactView"]

_LISTS_BY_TEXT = {name.value: name for name in LIST_CODES}
_ALL_LISTS = frozenset(name.value for name in ListName)
_REASON_OF: dict[int, Reason] = {int(r): r for r in Reason}
_MULTI = 0xFF  # flags: the entries are in the side dict
_DEAD = 0xFE  # flags: the entry was removed (its arena bytes are garbage)
_DELETED = (1 << 64) - 1  # a slot whose entry was removed (probing goes on past it)
_NO_TIME = -(1 << 63)
_UNSET = msgspec.UNSET
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MAX_LOAD = 0.7
_SEPARATORS = itemgetter(4, 7, 10, 13, 16, -1)
_fromtimestamp = datetime.fromtimestamp  # a float keeps every microsecond until the year 2255
_new_tuple = tuple.__new__
_ARRAYS = ("offsets", "flags", "reasons", "versions", "since", "expires")
_U64s = npt.NDArray[np.uint64]
_I64s = npt.NDArray[np.int64]
_HIGH, _LOW, _ONE = np.uint64(32), np.uint64(0xFFFFFFFF), np.uint64(1)  # a slot's halves
_NP_DELETED = np.uint64(_DELETED)
_NEWLINE = ord("\n")
_TYPECODES = {"slots": "Q", "offsets": "Q", "flags": "B", "reasons": "B",
              "versions": "q", "since": "q", "expires": "q"}  # fmt: skip


class _Plain(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The fields of an address record as the cold start's loop takes it, typed: msgspec
    decodes and checks them in C (0.4 µs a value against 0.7 µs for ``orjson.loads`` to a
    dict, then the checks in Python). Any value it refuses (a type, a field it does not
    know, a version the array cannot hold, anything not JSON) takes the full check, which
    says why as before; every field is typed, so it never accepts what ``orjson`` refuses
    (an unknown field's value would be skipped unchecked)."""

    account_id: str
    list: str
    subject: str
    version: Annotated[int, msgspec.Meta(ge=1, le=MAX_VERSION)]
    active: bool
    reason: int | None = None
    category: str | None = None
    since: str | None = None
    expires_at: str | msgspec.UnsetType | None = msgspec.UNSET  # present: the full check
    event_id: str | None = None
    delivery_id: str | None = None
    notes: str | None = None


_decode_plain = msgspec.json.Decoder(_Plain).decode


def _micros(moment: datetime | None) -> int:
    return _NO_TIME if moment is None else (moment - _EPOCH) // _US


def _moment(micros: int) -> datetime | None:
    # a float keeps every microsecond until the year 2255; fromtimestamp rounds to the nearest
    return None if micros == _NO_TIME else datetime.fromtimestamp(micros / 1e6, UTC)


class CompactView(ListView):
    """A ``ListView`` without details whose address entries live in packed arrays."""

    __slots__ = ("_arena", "_expires", "_extra", "_flags", "_garbage", "_limit", "_lock", "_mask",
                 "_numbers", "_offsets", "_per_account", "_reasons", "_since", "_slots", "_used",
                 "_versions")  # fmt: skip

    def __init__(self, capacity: int = 1024) -> None:
        super().__init__(keep_details=False)
        self._slots = array("Q", bytes(8 * _size_for(capacity)))
        self._mask = len(self._slots) - 1
        self._limit = int(len(self._slots) * _MAX_LOAD)
        self._used = 0  # slots holding an entry or a deletion mark
        self._garbage = 0
        self._arena = bytearray()
        self._offsets = array("Q", [0])
        self._flags = array("B")
        self._reasons = array("B")
        self._versions = array("q")
        self._since = array("q")
        self._expires = array("q")
        self._extra: dict[int, tuple[AddressEntry, ...]] = {}
        self._numbers: dict[str, bytes] = {}  # account id -> its 3-byte number
        self._per_account: Counter[str] = Counter()  # live keys per account
        # Held by every write and by ``entry_codes`` while numpy reads the arrays: an
        # array exporting its buffer cannot grow, so no append may run meanwhile.
        self._lock = threading.RLock()

    def reserve(self, entries: int) -> None:
        """Grow the table once for ``entries`` keys (the feed knows the topic's size)."""
        if entries > (self._mask + 1) * _MAX_LOAD:
            self._rehash(_size_for(entries))

    # --- the table ---------------------------------------------------------------------

    def _key(self, account_id: str, subject: str, create: bool) -> bytes | None:
        number = self._numbers.get(account_id)
        if number is None:
            if not create:
                return None
            number = self._number_of(account_id)
        try:
            return number + subject.encode()
        except UnicodeEncodeError:  # a lone surrogate: still one exact key
            return number + subject.encode("utf-8", "surrogatepass")

    def _find(self, key: bytes) -> tuple[int, int]:
        """(slot, entry) of a key, or (first free slot, -1) when it is not held."""
        h = crc32(key)
        slots, mask, offsets, arena = self._slots, self._mask, self._offsets, self._arena
        i = h & mask
        free = -1
        while True:
            v = slots[i]
            if v == 0:
                return (i if free < 0 else free), -1
            if v == _DELETED:
                if free < 0:
                    free = i
            elif v >> 32 == h:
                e = (v & 0xFFFFFFFF) - 1
                if arena[offsets[e] : offsets[e + 1]] == key:
                    return i, e
            i = (i + 1) & mask

    def _rehash(self, size: int) -> None:
        slots = array("Q", bytes(8 * size))
        mask = size - 1
        used = 0
        for v in self._slots:
            if v and v != _DELETED:
                i = (v >> 32) & mask
                while slots[i]:
                    i = (i + 1) & mask
                slots[i] = v
                used += 1
        self._slots, self._mask, self._used = slots, mask, used
        self._limit = int(size * _MAX_LOAD)

    def _append(
        self, slot: int, key: bytes, fields: tuple[int, int, int, int, int], h: int | None = None
    ) -> None:
        """A new entry for ``key`` (whose CRC-32 is ``h``, when known) at ``slot``: flags,
        reason, version, since, expires."""
        if h is None:
            h = crc32(key)
        flags, reason, version, since, expires = fields
        e = len(self._flags)
        arena = self._arena
        arena += key
        self._offsets.append(len(arena))
        self._flags.append(flags)
        self._reasons.append(reason)
        self._versions.append(version)
        self._since.append(since)
        self._expires.append(expires)
        slots = self._slots
        if slots[slot] == 0:
            self._used += 1
            if self._used > self._limit:
                slots[slot] = (h << 32) | (e + 1)
                self._rehash((self._mask + 1) * 2)
                return
        slots[slot] = (h << 32) | (e + 1)

    def _write(self, e: int, entry: AddressEntry) -> None:
        self._flags[e] = LIST_CODE_OF[entry.list] | (ENTRY_ACTIVE if entry.active else 0)
        self._reasons[e] = 0 if entry.reason is None else int(entry.reason)
        self._versions[e] = entry.version
        self._since[e] = _micros(entry.since)
        self._expires[e] = _micros(entry.expires_at)

    def _read(self, e: int) -> tuple[AddressEntry, ...]:
        # The feed thread writes while senders read: an entry removed since its slot was
        # read is gone, and several entries are read only once the side dict holds them.
        flags = self._flags[e]
        if flags == _DEAD:
            return ()
        if flags == _MULTI:
            extra = self._extra.get(e)
            if extra is not None:
                return extra
            flags = self._flags[e]  # turned back into one entry meanwhile
            if flags in (_MULTI, _DEAD):
                return ()
        reason = self._reasons[e]
        since = self._since[e]
        expires = self._expires[e]
        fields = (
            LIST_CODES[flags & 0x0F],
            self._versions[e],
            bool(flags & ENTRY_ACTIVE),
            _REASON_OF[reason] if reason else None,
            None if since == _NO_TIME else _fromtimestamp(since / 1e6, UTC),
            None if expires == _NO_TIME else _fromtimestamp(expires / 1e6, UTC),
            None,
        )
        return (_new_tuple(AddressEntry, fields),)  # the NamedTuple without its Python __new__

    # --- reading ---------------------------------------------------------------------

    def address_entries(self, account_id: str, address: str) -> tuple[AddressEntry, ...]:
        """The entries (active or released) held for a normalised address."""
        key = self._key(account_id, address, False)
        e = -1 if key is None else self._find(key)[1]
        return () if e < 0 else self._read(e)

    def entry_code(self, account_id: str, address: str) -> int:
        """The entry code of one normalised address (``ListView.entry_codes``; ``_find``
        inlined: this is the decision's hot path)."""
        number = self._numbers.get(account_id)
        if number is None:
            return ENTRY_NONE
        try:  # naming an error handler takes encode's slow path: only when it is needed
            key = number + address.encode()
        except UnicodeEncodeError:
            key = number + address.encode("utf-8", "surrogatepass")
        h = crc32(key)
        slots, mask = self._slots, self._mask
        i = h & mask
        while v := slots[i]:
            if v >> 32 == h and v != _DELETED:
                e = (v & 0xFFFFFFFF) - 1
                offsets = self._offsets
                if self._arena[offsets[e] : offsets[e + 1]] == key:
                    flags = self._flags[e]
                    if flags == _DEAD:  # removed by the feed since the slot was read
                        return ENTRY_NONE
                    if flags == _MULTI or self._expires[e] != _NO_TIME:
                        return ENTRY_COMPLEX
                    return (flags | self._reasons[e] << 8) + 1
            i = (i + 1) & mask
        return ENTRY_NONE

    def entry_codes(self, account_id: str, addresses: Sequence[str]) -> _I64s:
        """The entry code of each normalised address, in order: the batch decision's probe.

        The batch is encoded in one call and hashed by ``map`` (a key's CRC-32 continues
        the account number's); numpy then walks every address's slots at once and reads
        the codes of those found, whose stored bytes are compared with the key (in
        arena order) before they count: no Python step per address, and the arrays'
        cache misses overlap instead of coming one after another.
        """
        number = self._numbers.get(account_id)
        count = len(addresses)
        if number is None or not count:
            return np.full(count, ENTRY_NONE, np.int64)
        try:
            joined = "\n".join(addresses).encode()
            subjects = joined.split(b"\n")
        except UnicodeEncodeError:
            subjects = []
        if len(subjects) == count:  # the subjects lie one a line in ``joined``
            text = np.frombuffer(joined + b"\n" + bytes(8), np.uint8)
            ends = np.flatnonzero(text == _NEWLINE)
            firsts = np.concatenate(([0], ends[:-1] + 1))
        else:  # a lone surrogate, or an address that held a line break
            subjects = [a.encode("utf-8", "surrogatepass") for a in addresses]
            lengths = np.fromiter(map(len, subjects), np.int64, count)
            text = np.frombuffer(b"".join(subjects) + bytes(8), np.uint8)
            ends = np.cumsum(lengths)
            firsts = ends - lengths
        hashes = np.fromiter(map(crc32, subjects, repeat(crc32(number))), np.uint64, count)
        with self._lock:  # no append resizes an array while numpy reads it
            return self._probe(number, hashes, text, firsts, ends - firsts)

    def _probe(
        self, number: bytes, hashes: _U64s, asked: npt.NDArray[np.uint8], firsts: _I64s,
        lengths: _I64s,
    ) -> _I64s:  # fmt: skip
        """``entry_codes``' walk, with the lock held: the arrays as numpy views (released
        when it returns) and the entry code of each subject (``lengths[j]`` bytes from
        ``firsts[j]`` in ``asked``, which has 8 to spare at its end) by its hash."""
        slots = np.frombuffer(self._slots, np.uint64)
        offsets = np.frombuffer(self._offsets, np.uint64).view(np.int64)
        flags = np.frombuffer(self._flags, np.uint8)
        reasons = np.frombuffer(self._reasons, np.uint8)
        expires = np.frombuffer(self._expires, np.int64)
        arena = self._arena
        arena_bytes = np.frombuffer(arena, np.uint8)
        mask = np.uint64(len(slots) - 1)
        prefix = np.frombuffer(number, np.uint8)
        out = np.zeros(len(hashes), np.int64)
        pending = np.arange(len(hashes))
        where = hashes & mask
        while pending.size:
            # every pending address walks its slots until one holds its CRC-32 (found) or
            # none is left (free): a round per step, each over all still walking
            found: list[tuple[_I64s, _U64s, _U64s]] = []
            wanted = hashes[pending]
            while pending.size:
                held = slots[where]
                hit = ((held >> _HIGH) == wanted) & (held != _NP_DELETED)
                if hit.any():
                    found.append((pending[hit], held[hit] & _LOW, where[hit]))
                walking = (held != 0) & ~hit
                pending, wanted = pending[walking], wanted[walking]
                where = (where[walking] + _ONE) & mask
            if not found:
                break
            js, numbers, places = (np.concatenate(part) for part in zip(*found, strict=True))
            order = np.argsort(numbers, kind="stable")  # arena order: the reads go forward
            js, numbers, places = js[order], numbers[order].astype(np.int64), places[order]
            # the stored key is the account's number and the subject's bytes: the number
            # and the length compared at once, the subjects one by one where they fit
            starts, ends = offsets[numbers - 1], offsets[numbers]
            same = ends - starts == lengths[js] + 3
            for k in range(3):
                same &= arena_bytes[np.minimum(starts + k, len(arena) - 1)] == prefix[k]
            fit = np.flatnonzero(same)
            same[fit] = same_bytes(arena_bytes, starts[fit] + 3, asked, firsts[js[fit]],
                                    lengths[js[fit]])  # fmt: skip
            entries = numbers[same] - 1
            entry_flags = flags[entries].astype(np.int64)
            codes = (entry_flags | reasons[entries].astype(np.int64) << 8) + 1
            codes[(entry_flags == _MULTI) | (expires[entries] != _NO_TIME)] = ENTRY_COMPLEX
            out[js[same]] = codes
            # a CRC-32 shared with another key (rare): walk on past its slot
            pending, where = js[~same], (places[~same] + _ONE) & mask
        return out

    # --- writing ---------------------------------------------------------------------

    def apply(self, key: ListKey, record: ListRecord | None) -> bool:
        """``ListView.apply``, with the arrays' lock held."""
        with self._lock:
            return super().apply(key, record)

    def _apply_address(self, key: ListKey, record: ListRecord | None) -> bool:
        entry = None
        if record is not None:
            entry = AddressEntry(key.list, record.version, record.active, record.reason,
                                 record.since, record.expires_at, None)  # fmt: skip
        return self._store(key.account_id, key.subject, key.list, entry)

    def _store(self, account: str, subject: str, name: ListName, new: AddressEntry | None) -> bool:
        """Put ``new`` (None: the tombstone) in place of the key's ``name`` entry."""
        raw = self._key(account, subject, new is not None)
        if raw is None:
            return False
        slot, e = self._find(raw)
        held = () if e < 0 else self._read(e)
        old = next((x for x in held if x.list is name), None)
        if new is None:
            if old is None:
                return False
        elif old is not None and new.version <= old.version:
            return False
        self._count(name, old is not None and old.active, new is not None and new.active)
        rest = tuple(x for x in held if x.list is not name) + ((new,) if new is not None else ())
        if not rest:
            self._slots[slot] = _DELETED
            self._flags[e] = _DEAD
            self._extra.pop(e, None)
            self._garbage += 1
            self._per_account[account] -= 1
        elif e < 0:
            self._append(slot, raw, (0, 0, 0, _NO_TIME, _NO_TIME))
            self._per_account[account] += 1
            self._write(len(self._flags) - 1, rest[0])
        elif len(rest) == 1:  # the arrays first, then the side dict: readers see one or the other
            self._write(e, rest[0])
            self._extra.pop(e, None)
        else:
            self._extra[e] = rest
            self._flags[e] = _MULTI
        return True

    def apply_encoded(self, key: bytes, value: bytes | None) -> bool:
        """Apply a record as read from the topic; ``InputError`` for one that does not decode.

        Address records skip ``ListRecord`` (the cold-start hot path), and a key not held
        yet is appended straight away; each is checked as ``decode_record`` checks it.
        Everything else takes ``decode_record`` and ``apply``.
        """
        with self._lock:
            return self._apply_encoded(key, value)

    def _apply_encoded(self, key: bytes, value: bytes | None) -> bool:
        obj = None if value is None else _loads(value)
        if type(obj) is dict:  # the value names its key: one comparison instead of a parse
            named = [obj.get("account_id"), obj.get("list"), obj.get("subject")]
            if all(type(part) is str for part in named) and orjson.dumps(named) == key:
                return self._apply_value(obj, *named)  # type: ignore[arg-type]
        parts = _loads(key)
        if type(parts) is not list or len(parts) != 3:
            raise SchemaError("a suppressions key is a JSON array of three strings", path="key")
        account, list_text, subject = parts
        if type(account) is not str or type(list_text) is not str or type(subject) is not str:
            raise SchemaError("a suppressions key is a JSON array of three strings", path="key")
        name = _LISTS_BY_TEXT.get(list_text)
        if name is None:
            return self.apply(*decode_record(key, value))
        if value is None:
            return self._store(account, subject, name, None)
        if type(obj) is not dict:
            raise SchemaError("a suppressions value is a JSON object")
        if (obj.get("account_id", account) != account or obj.get("list", list_text) != list_text
                or obj.get("subject", subject) != subject):  # fmt: skip
            raise SchemaError("the value disagrees with the record's key")
        return self._apply_value(obj, account, list_text, subject)

    def apply_encoded_many(
        self, records: Iterable[tuple[bytes | None, bytes | None]]
    ) -> list[ValueError]:
        """Apply records as read from the topic, in order; the error of each one skipped.

        The cold start's loop. A plain address record (no end, canonical times) whose key
        is not held yet, nearly every record of a cold start, is checked and appended here
        with the arrays at hand and counted once a batch; any other takes
        ``apply_encoded``, which checks it fully.
        """
        with self._lock:
            return self._apply_encoded_many(records)

    def _apply_encoded_many(  # noqa: PLR0915 - the cold start's loop, inlined on purpose
        self, records: Iterable[tuple[bytes | None, bytes | None]]
    ) -> list[ValueError]:
        # ``_append`` inlined, the arrays' appends bound once: a call and a context
        # manager a record were a third of this loop's time
        errors: list[ValueError] = []
        numbers, arena, offsets = self._numbers, self._arena, self._offsets
        slots, mask, lists_by_text = self._slots, self._mask, _LISTS_BY_TEXT
        add_offset, add_flags, add_reason = offsets.append, self._flags.append, self._reasons.append
        add_version, add_since = self._versions.append, self._since.append
        add_expires = self._expires.append
        accounts: list[str] = []  # of each appended entry, counted at the end
        active_lists: list[ListName] = []
        dumps, fromisoformat, decode_plain = orjson.dumps, datetime.fromisoformat, _decode_plain
        reasons, code_of = _REASON_OF, LIST_CODE_OF
        for key, value in records:
            try:
                try:  # a value that is not plain goes on to apply_encoded, which says why
                    plain = None if value is None else decode_plain(value)
                except msgspec.DecodeError:
                    plain = None
                if plain is not None:
                    account, list_text, subject = plain.account_id, plain.list, plain.subject
                    reason, since, active = plain.reason, plain.since, plain.active
                    name = lists_by_text.get(list_text)
                    number = numbers.get(account)
                    if (name is not None and number is not None
                            and (reason is None or reason in reasons)
                            and plain.expires_at is _UNSET
                            and (since is None or _canonical(since))
                            and dumps([account, list_text, subject]) == key):  # fmt: skip
                        raw = number + subject.encode()
                        h = crc32(raw)
                        i = h & mask
                        while v := slots[i]:
                            if v == _DELETED or (
                                v >> 32 == h
                                and arena[offsets[(v & 0xFFFFFFFF) - 1] : offsets[v & 0xFFFFFFFF]]
                                == raw
                            ):
                                break
                            i = (i + 1) & mask
                        micros = None
                        if not v:  # a key not held: a new entry at the free slot
                            try:
                                micros = (
                                    _NO_TIME
                                    if since is None
                                    else (fromisoformat(since) - _EPOCH) // _US
                                )
                            except ValueError:  # apply_encoded says why
                                micros = None
                        if micros is not None:  # the fields first, the slot last (readers)
                            e = len(offsets) - 1
                            arena += raw
                            add_offset(len(arena))
                            add_flags(code_of[name] | (ENTRY_ACTIVE if active else 0))
                            add_reason(reason or 0)
                            add_version(plain.version)
                            add_since(micros)
                            add_expires(_NO_TIME)
                            slots[i] = (h << 32) | (e + 1)
                            self._used += 1
                            if self._used > self._limit:
                                self._rehash((mask + 1) * 2)
                                slots, mask = self._slots, self._mask
                            accounts.append(account)
                            if active:
                                active_lists.append(name)
                            continue
                if key is None:
                    raise SchemaError("a record without a key", path="key")
                self._apply_encoded(key, value)
                slots, mask = self._slots, self._mask  # it may have grown the table
            except ValueError as error:  # InputError, or an encoding error: skipped
                errors.append(error)
        self._per_account.update(accounts)
        self._counts.update(active_lists)
        return errors

    def _apply_value(self, obj: dict[str, Any], account: str, list_text: str, subject: str) -> bool:
        """Apply a decoded value whose key fields are known to agree with its key."""
        name = _LISTS_BY_TEXT.get(list_text)
        if name is None:
            key = (
                ListKey(account, ListName(list_text), subject) if list_text in _ALL_LISTS else None
            )
            if key is None:
                raise SchemaError(f"unknown list {list_text[:40]!r}", path="key[1]")
            return self.apply(*decode_record(encode_key(key), orjson.dumps(obj)))
        version, active, reason = obj.get("version"), obj.get("active"), obj.get("reason")
        if type(version) is not int or not 1 <= version <= MAX_VERSION or type(active) is not bool:
            raise SchemaError("version must be an integer from 1 to 2**63 - 1 and active a boolean")
        if reason is not None and (type(reason) is not int or reason not in _REASON_OF):
            raise SchemaError(f"unknown reason code {str(reason)[:20]}", path="reason")
        since, expires = (
            _time(obj.get("since"), "since"),
            _time(obj.get("expires_at"), "expires_at"),
        )
        raw = self._key(account, subject, True)
        assert raw is not None
        slot, e = self._find(raw)
        if e < 0:  # the common case on a cold start: a key seen for the first time
            if active:
                self._counts[name] += 1
            self._per_account[account] += 1
            flags = LIST_CODE_OF[name] | (ENTRY_ACTIVE if active else 0)
            micros = (_NO_TIME if since is None else (since - _EPOCH) // _US,
                      _NO_TIME if expires is None else (expires - _EPOCH) // _US)  # fmt: skip
            self._append(slot, raw, (flags, reason or 0, version, *micros))
            return True
        entry = AddressEntry(name, version, active, None if reason is None else _REASON_OF[reason],
                             since, expires, None)  # fmt: skip
        return self._store(account, subject, name, entry)

    # --- merging (a parallel cold start) -------------------------------------------------

    def merge(self, other: CompactView) -> None:
        """Take in every entry of ``other``, a view of other partitions of the same topic.

        A parallel cold start builds one view per process; each key lives on one
        partition, so the views share no key, but one address may be held in both (one
        list on each). ``other``'s arrays are appended whole, its account numbers (given
        in order of first sight) renumbered to this view's in the arena and in the
        CRC-32s with numpy, and its live entries placed in the table in numpy rounds;
        an address held in both takes the normal store path and becomes one entry of
        several lists. Domain-level records are applied one by one (they are few).
        """
        with self._lock, other._lock:
            self._merge(other)

    def _merge(self, other: CompactView) -> None:
        accounts = sorted(other._numbers, key=other._numbers.__getitem__)
        renumber = np.array([int.from_bytes(self._number_of(a), "big") for a in accounts],
                            np.int64)  # fmt: skip
        offsets = np.frombuffer(other._offsets, np.uint64).astype(np.int64)
        starts, lengths = offsets[:-1], np.diff(offsets)
        arena = np.frombuffer(other._arena, np.uint8).copy()
        old = (arena[starts].astype(np.int64) << 16) | (arena[starts + 1].astype(np.int64) << 8)
        old |= arena[starts + 2]
        new = renumber[old]
        for k in range(3):
            arena[starts + k] = (new >> (16 - 8 * k)) & 0xFF
        slots = np.frombuffer(other._slots, np.uint64)
        held = slots[(slots != 0) & (slots != _NP_DELETED)]
        del slots
        entries = (held & _LOW).astype(np.int64) - 1
        hashes = held >> _HIGH
        hashes ^= _renumbered_crcs(old[entries], new[entries], lengths[entries] - 3)
        base, used = len(self._flags), self._used + len(entries)
        if used > self._limit:
            self._rehash(_size_for(used))
        self._arena += arena.data
        self._offsets.frombytes((offsets[1:] + int(self._offsets[-1])).astype(np.uint64).tobytes())
        for name in _ARRAYS[1:]:
            getattr(self, f"_{name}").extend(getattr(other, f"_{name}"))
        self._extra.update({base + e: xs for e, xs in other._extra.items()})
        self._garbage += other._garbage
        self._used = used
        values = (hashes << _HIGH) | (entries + base + 1).astype(np.uint64)
        table = np.frombuffer(self._slots, np.uint64)
        passed = _place(table, values, base)
        del table
        self._per_account.update(other._per_account)
        self._counts.update({name: other._counts[name] for name in LIST_CODES})
        for j, mine in passed:  # a shared CRC-32, or the same address held in both views
            e = int(entries[j])
            key = arena[offsets[e] : offsets[e + 1]].tobytes()
            if key == self._arena[self._offsets[mine] : self._offsets[mine + 1]]:
                self._take_over(base + e, int(values[j]), other._read(e), accounts[old[e]])
        for records in other._domain_records.values():
            for record in records.values():
                self.apply(record.key, record)

    def _number_of(self, account_id: str) -> bytes:
        """The account's 3-byte number, given now when it has none yet."""
        number = self._numbers.get(account_id)
        if number is None:
            number = len(self._numbers).to_bytes(3, "big")
            self._numbers[sys.intern(account_id)] = number
        return number

    def _take_over(self, e: int, value: int, held: tuple[AddressEntry, ...], account: str) -> None:
        """A merged entry whose address this view already held: its slot (``value``, past
        the held one's, so never reached) marked deleted, the entry dead, and its lists
        stored into the held entry (``_store`` counts them again: uncounted first)."""
        slots, mask = self._slots, self._mask
        i = (value >> 32) & mask
        while slots[i] != value:
            i = (i + 1) & mask
        slots[i] = _DELETED
        self._flags[e] = _DEAD
        self._extra.pop(e, None)
        self._garbage += 1
        start = self._offsets[e]
        subject = self._arena[start + 3 : self._offsets[e + 1]].decode("utf-8", "surrogatepass")
        self._per_account[account] -= 1
        for entry in held:
            self._counts[entry.list] -= entry.active
            self._store(account, subject, entry.list, entry)

    # --- export, metrics and snapshots -------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Active entries per list, and how many accounts hold anything."""
        out = {name.value: self._counts[name] for name in ListName}
        live = {a for a, n in self._per_account.items() if n > 0}
        out["accounts"] = len(live | self._domain_records.keys())
        return out

    def accounts(self) -> list[str]:
        """Every account that holds any entry (the platform account included)."""
        live = {a for a, n in self._per_account.items() if n > 0}
        return sorted(live | self._domain_records.keys())

    def entries_of(self, account_id: str) -> Iterator[tuple[ListName, str, ListRecord]]:
        """Every active entry of an account, as records without details (a full scan)."""
        number = self._numbers.get(account_id)
        if number is not None:
            offsets, arena, flags = self._offsets, self._arena, self._flags
            for e in range(len(flags)):
                start = offsets[e]
                if flags[e] == _DEAD or arena[start : start + 3] != number:
                    continue
                subject = arena[start + 3 : offsets[e + 1]].decode("utf-8", "surrogatepass")
                for x in self._read(e):
                    if x.active:
                        key = ListKey(account_id, x.list, subject)
                        yield x.list, subject, ListRecord(key, x.version, x.active, x.reason,
                                                          x.since, x.expires_at)  # fmt: skip
        for (name, subject), record in self._domain_records.get(account_id, {}).items():
            if record.active:
                yield name, subject, record

    @contextmanager
    def exported(self) -> Iterator[tuple[dict[str, Any], dict[str, memoryview]]]:
        """Everything this view holds, the arrays read in place: a JSON-able header and a
        byte view of each array, released on leaving.

        A snapshot of 10M entries is ~700 MB: copying it holds the interpreter (every
        decision of the process waits) and doubles the memory for a moment, while hashing
        and writing views release it. No write may run meanwhile (an array with a view
        open cannot grow): the sender holds its feed's lock, the views' only writer.
        """
        extra = [[e, [_entry_json(x) for x in entries]] for e, entries in self._extra.items()]
        domain = [
            [encode_key(r.key).decode(), encode_record(r).decode()]
            for records in self._domain_records.values()
            for r in records.values()
        ]
        meta = {
            "byteorder": sys.byteorder,
            "mask": self._mask,
            "used": self._used,
            "garbage": self._garbage,
            "accounts": sorted(self._numbers, key=self._numbers.__getitem__),
            "per_account": dict(self._per_account),
            "counts": {name.value: n for name, n in self._counts.items()},
            "extra": extra,
            "domain": domain,
        }
        names = ("slots", "arena", *_ARRAYS)
        views = {name: memoryview(getattr(self, f"_{name}")).cast("B") for name in names}
        try:
            yield meta, views
        finally:
            for held in views.values():
                held.release()

    def state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``exported``, the arrays copied: a state to keep while the view goes on."""
        with self.exported() as (meta, views):
            return meta, {name: bytes(held) for name, held in views.items()}

    @classmethod
    def from_state(
        cls, meta: dict[str, Any], sections: Mapping[str, bytes | memoryview]
    ) -> CompactView:
        """The view ``state`` described; ``ValueError`` when the parts do not fit together."""
        if meta.get("byteorder") != sys.byteorder:
            raise ValueError("the snapshot was written on a machine of another byte order")
        view = cls()
        for name in ("slots", *_ARRAYS):
            held = array(_TYPECODES[name])
            held.frombytes(sections[name])
            setattr(view, f"_{name}", held)
        view._arena = bytearray(sections["arena"])
        view._mask, view._used, view._garbage = meta["mask"], meta["used"], meta["garbage"]
        view._limit = int((view._mask + 1) * _MAX_LOAD)
        count = len(view._flags)
        if (len(view._slots) != view._mask + 1 or len(view._offsets) != count + 1
                or any(len(getattr(view, f"_{n}")) != count for n in _ARRAYS[1:])
                or view._offsets[-1] != len(view._arena)):  # fmt: skip
            raise ValueError("the snapshot's arrays do not fit together")
        view._numbers = {a: i.to_bytes(3, "big") for i, a in enumerate(meta["accounts"])}
        view._per_account = Counter(meta["per_account"])
        view._counts = Counter({ListName(k): v for k, v in meta["counts"].items()})
        view._extra = {e: tuple(map(_entry_of, xs)) for e, xs in meta["extra"]}
        for key, value in meta["domain"]:
            ListView.apply(view, *decode_record(key.encode(), value.encode()))
        view._counts = Counter({ListName(k): v for k, v in meta["counts"].items()})
        return view


def _size_for(entries: int) -> int:
    size = 1024
    while size * _MAX_LOAD < entries:
        size *= 2
    return size


def _renumbered_crcs(old: _I64s, new: _I64s, lengths: _I64s) -> _U64s:
    """What turns crc32(old number + subject) into crc32(new number + subject), per key
    (``lengths``: the subjects'). The CRC-32 of equal-length strings is affine, so
    crc(a) ^ crc(b) ^ crc(c) == crc(a ^ b ^ c): the change is crc((old ^ new) + zeros) ^
    crc(zeros), one pair of CRC-32s per (number, length) seen, found in a table indexed
    by both (no sort) unless that table would outgrow the keys."""
    moved = old != new
    if not moved.any():
        return np.zeros(len(old), np.uint64)
    span = int(lengths.max()) + 1
    codes = np.where(moved, (old ^ new) * span + lengths, 0)
    if int(codes.max()) < 4 * len(codes) + 65536:
        seen = np.zeros(int(codes.max()) + 1, bool)
        seen[codes] = True
        pairs, inverse = np.flatnonzero(seen), None
    else:
        pairs, inverse = np.unique(codes, return_inverse=True)
    fixes = [
        crc32((x // span).to_bytes(3, "big") + bytes(x % span)) ^ crc32(bytes(3 + x % span))
        for x in pairs.tolist()
    ]  # fmt: skip (code 0: no change, a fix of 0)
    if inverse is not None:
        return np.array(fixes, np.uint64)[inverse]
    table = np.zeros(len(seen), np.uint64)
    table[pairs] = fixes
    return table[codes]


def _place(slots: _U64s, values: _U64s, below: int) -> list[tuple[int, int]]:
    """Put each of ``values`` (CRC-32 high, entry + 1 low; none held yet) in the first free
    slot of its walk, in numpy rounds: each value still walking looks at its next slot,
    one of those wanting the same free slot takes it (read back: the values differ) and
    the rest walk on. What it returns: (value's index, entry) for each slot passed that
    held an entry below ``below`` with the same CRC-32, the candidates for one key."""
    mask = np.uint64(len(slots) - 1)
    walking = np.arange(len(values))
    hashes = values >> _HIGH
    where = hashes & mask
    passed: list[tuple[int, int]] = []
    while walking.size:
        held = slots[where]
        same = ((held >> _HIGH) == hashes) & (held != _NP_DELETED) & (held != 0)
        same &= (held & _LOW) <= np.uint64(below)
        if same.any():
            passed += zip(walking[same].tolist(), ((held[same] & _LOW) - _ONE).tolist(),
                          strict=True)  # fmt: skip
        free = np.flatnonzero(held == 0)
        slots[where[free]] = values[walking[free]]
        taken = np.zeros(walking.size, bool)
        taken[free] = slots[where[free]] == values[walking[free]]
        walking, hashes, where = walking[~taken], hashes[~taken], (where[~taken] + _ONE) & mask
    return passed


def _canonical(text: object) -> bool:
    """What ``format_timestamp`` writes: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    return (
        type(text) is str
        and (len(text) == 20 or (len(text) == 27 and text[19] == "."))
        and _SEPARATORS(text) == ("-", "-", "T", ":", ":", "Z")
    )


def _time(value: object, path: str) -> datetime | None:
    """A record's time; the canonical spelling skips the RFC 3339 pattern (it is one)."""
    if value is None:
        return None
    if _canonical(value):
        try:
            return datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            pass
    return parse_timestamp(value, path)


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadJson(f"not JSON: {error}") from None


def _entry_json(entry: AddressEntry) -> list[Any]:
    reason = None if entry.reason is None else int(entry.reason)
    return [LIST_CODE_OF[entry.list], entry.version, entry.active, reason,
            _micros(entry.since), _micros(entry.expires_at)]  # fmt: skip


def _entry_of(row: list[Any]) -> AddressEntry:
    code, version, active, reason, since, expires = row
    return AddressEntry(LIST_CODES[code], version, active,
                        None if reason is None else _REASON_OF[reason],
                        _moment(since), _moment(expires), None)  # fmt: skip
