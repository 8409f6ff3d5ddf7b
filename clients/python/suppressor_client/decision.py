"""The send decision of SPEC §7: may this account send this stream to this address?

The steps run in the spec's order and the first that speaks wins:

1. the account's recipient allowlist: allow (``recipient_allowlist``);
2. an active address suppression, the account's or the platform's (account ``*``):
   deny (``suppressed``, with that entry's reason); on the transactional stream only
   the ``bounce`` and ``block`` categories deny. With several, the first of block,
   bounce, complaint, unsubscribe is named, the account's before the platform's;
3. the account's address allow: allow (``address_allow``), skipping domain rules;
4. the account's domain allow list, when it holds any pattern, without the domain: deny;
5. a send-blocking domain rule: the account's (``domain_block``, the rule's reason)
   else the platform's (``platform_domain_block``, reason 99);
6. allow (``default``).

Allow lists are the account's own: platform-wide entries only ever deny. A temporary
entry whose ``expires_at`` is at or before ``now`` no longer denies (with ``now`` None,
nothing is taken as expired). An address that does not normalise is denied
(``invalid_address``). A stream is a ``Stream`` or its name in any case; an unknown
name is treated as ``marketing``, the stricter stream, so a typo never waives an
unsubscribe. ``decide`` never raises for strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from suppressor_client.addresses import (
    MAX_ADDRESS_LENGTH,
    MAX_LOCAL_LENGTH,
    domain_of,
    normalize_address,
)
from suppressor_client.batches import KEEP, Ints, same_bytes, words_of
from suppressor_client.lists import Mechanism, domain_allowed, domain_rule_for
from suppressor_client.types import PLATFORM_ACCOUNT, ListName, Reason, Stream
from suppressor_client.view import ENTRY_ACTIVE, ENTRY_NONE, LIST_CODES, AddressEntry, ListView

__all__ = ["RULES", "Decision", "decide", "decide_indexed", "decide_many", "normalize_fast"]

RULES = (
    "recipient_allowlist",
    "suppressed",
    "address_allow",
    "domain_allow_list",
    "domain_block",
    "platform_domain_block",
    "default",
    "invalid_address",
)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer, the rule that gave it and the reason code behind a denial."""

    allowed: bool
    rule: str
    reason: Reason | None = None


_RECIPIENT_ALLOWLIST = Decision(True, "recipient_allowlist")
_ADDRESS_ALLOW = Decision(True, "address_allow")
_DOMAIN_ALLOW_LIST = Decision(False, "domain_allow_list")
_PLATFORM_DOMAIN_BLOCK = Decision(False, "platform_domain_block", Reason.SHARED)
_DEFAULT = Decision(True, "default")
_INVALID_ADDRESS = Decision(False, "invalid_address")
_SUPPRESSED = {reason: Decision(False, "suppressed", reason) for reason in Reason}
_DOMAIN_BLOCK = {reason: Decision(False, "domain_block", reason) for reason in Reason}

# Which suppression lists deny on each stream, ranked: the first found is the one named.
_DENYING: dict[bool, dict[ListName, int]] = {
    False: {ListName.BLOCK: 0, ListName.BOUNCE: 1, ListName.COMPLAINT: 2, ListName.UNSUBSCRIBE: 3},
    True: {ListName.BLOCK: 0, ListName.BOUNCE: 1},  # transactional (seed 002)
}

# Addresses that are already in normal form: printable ASCII without upper case or
# specials, one '@', LDH labels none of which is an A-label (those need a punycode
# check), a top-level label that is not all digits, no trailing dot. Anything this
# accepts, normalize_address returns unchanged (a property test holds them together);
# the rest take the full path.
_LOCAL_CHARS = "!#$%&'*+-./0123456789=?^_`abcdefghijklmnopqrstuvwxyz{|}~"
_NORMAL_DOMAIN = (
    r"(?:(?!xn--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?!xn--)(?![0-9]+\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
_NORMAL_FORM = re.compile(f"[{re.escape(_LOCAL_CHARS)}]{{1,64}}@{_NORMAL_DOMAIN}")
_DOMAIN_FORM = re.compile(_NORMAL_DOMAIN)
_FULLMATCH = _NORMAL_FORM.fullmatch
# What may be left of a batch once these bytes are deleted: nothing (each address then
# needs only its '@', lengths and domain checked; see _clean).
_BATCH_BYTES = (_LOCAL_CHARS + "@\n").encode()
_CHUNK = 8192  # addresses normalised and probed together: a bad one slows only its chunk
_MAX_ANSWERS = 65536  # domains a batch, or a view between domain-list changes, keeps answers of


def normalize_fast(address: str) -> str | None:
    """The normal form of an address, or None when it has none; never raises."""
    if type(address) is str and len(address) <= MAX_ADDRESS_LENGTH:
        if _NORMAL_FORM.fullmatch(address) is not None:
            return address
        if address.isascii():  # ASCII case and spaces: normalize_address would only do this
            folded = address.strip().lower()
            if len(folded) <= MAX_ADDRESS_LENGTH and _NORMAL_FORM.fullmatch(folded) is not None:
                return folded
    try:
        return normalize_address(address)
    except ValueError:  # InvalidAddress, and anything a hostile string might provoke
        return None


def _clean(addresses: list[str]) -> bytes | None:
    """The batch joined by line breaks, when every address holds only characters of a
    normal form and no line break (one C pass over it), else None. Each one is then in
    normal form exactly when its first '@' splits it into a local part of 1 to 64
    characters and a domain that ``_DOMAIN_FORM`` accepts, within the length limit (see
    ``_NORMAL_FORM``)."""
    try:
        joined = "\n".join(addresses)
    except TypeError:
        return None
    if not joined.isascii() or joined.count("\n") != len(addresses) - 1:
        return None
    data = joined.encode()
    return None if data.translate(None, _BATCH_BYTES) else data


_TRANSACTIONAL_NAME = Stream.TRANSACTIONAL.value


_TRANSACTIONAL_OF: dict[str, bool] = {
    Stream.MARKETING: False,
    Stream.TRANSACTIONAL: True,
}  # names hash alike


def _transactional(stream: Stream | str) -> bool:
    if isinstance(stream, str):
        known = _TRANSACTIONAL_OF.get(stream)
        return stream.strip().lower() == _TRANSACTIONAL_NAME if known is None else known
    return False


def decide(
    view: ListView,
    account_id: str,
    address: str,
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> Decision:
    """Whether ``account_id`` may send ``stream`` to ``address`` (SPEC §7)."""
    if type(address) is str and len(address) <= MAX_ADDRESS_LENGTH and _FULLMATCH(address):
        normal = address  # normalize_fast's first test, without its call
    else:
        slow = normalize_fast(address)
        if slow is None:
            return _INVALID_ADDRESS
        normal = slow
    own = view.entry_code(account_id, normal)
    shared = view.entry_code(PLATFORM_ACCOUNT, normal) if account_id != PLATFORM_ACCOUNT else 0
    if own or shared:
        transactional = _transactional(stream)
        if own < 0 or shared < 0:
            answer = _entries_answer(view, account_id, normal, transactional, now)
        else:
            answer = _code_answer(transactional, own << 16 | shared)
        if answer is not None:
            return answer
    return _cached_domain_step(view, account_id, normal[normal.rfind("@") + 1 :])


def _cached_domain_step(view: ListView, account_id: str, domain: str) -> Decision:
    """``_domain_step``, kept per (account, domain) in the view until a domain-level list
    changes (``ListView.domain_answers``)."""
    key, answers = (account_id, domain), view.domain_answers  # one read: see ListView
    answer = answers.get(key)
    if answer is None:
        if len(answers) >= _MAX_ANSWERS:
            answers.clear()
        answer = answers[key] = _domain_step(view, account_id, domain)
    return answer


def decide_many(
    view: ListView,
    account_id: str,
    addresses: Iterable[str],
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> list[Decision]:
    """``decide`` for each address, in order (a batch filter before delivery)."""
    decisions, index = decide_indexed(view, account_id, addresses, stream, now)
    return list(map(decisions.__getitem__, index.tolist()))


def decide_indexed(
    view: ListView,
    account_id: str,
    addresses: Iterable[str],
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> tuple[list[Decision], Ints]:
    """``decide_many`` as the distinct decisions and, for each address, the position of
    its own among them: a filter counts and selects with numpy, not a step per address.

    The per-account work is done once: the stream read, each domain's steps once per
    batch, and a chunk of addresses at a time checked for normal form (``_clean``),
    grouped by domain (``_plain_answers``) and probed (``ListView.entry_codes``), the
    answers placed by numpy: no Python step per address, only for addresses not
    plainly in normal form and entries that must be read whole.
    """
    transactional = _transactional(stream)
    batch = addresses if isinstance(addresses, list) else list(addresses)
    domains: dict[str, Decision | None] = {}
    table = _Numbered()
    parts: list[Ints] = [np.zeros(0, np.int64)]
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start : start + _CHUNK]
        answers, normals, invalid = _domain_answers(view, account_id, chunk, domains, table)
        codes = view.entry_codes(account_id, normals)
        shift = 16  # the codes are the account's own; the platform's are none
        if account_id != PLATFORM_ACCOUNT:
            shareds = view.entry_codes(PLATFORM_ACCOUNT, normals)
            if shareds.any():
                codes, shift = codes << 16 | shareds, 0
        codes[invalid] = 0  # its code is the placeholder's
        _address_answers(view, account_id, normals, codes, answers, table=table, shift=shift,
                         transactional=transactional, now=now)  # fmt: skip
        parts.append(answers)
    return table.decisions, np.concatenate(parts)


class _Numbered:
    """The distinct decisions of a batch, each numbered once, by identity: the steps hand
    out shared instances (the table holds them, so an id is not reused meanwhile)."""

    __slots__ = ("_numbers", "decisions")

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self._numbers: dict[int, int] = {}

    def number(self, decision: Decision | None) -> int:
        """Its position in ``decisions`` (added when new); -1 for None."""
        if decision is None:
            return -1
        number = self._numbers.get(id(decision))
        if number is None:
            number = self._numbers[id(decision)] = len(self.decisions)
            self.decisions.append(decision)
        return number


def _address_answers(
    view: ListView,
    account_id: str,
    normals: list[str],
    codes: Ints,
    answers: Ints,
    *,
    table: _Numbered,
    shift: int,
    transactional: bool,
    now: datetime | None,
) -> None:
    """Steps 1 to 3 over a chunk's codes (``own << 16 | shared``, or ``own`` alone when
    ``shift`` is 16: the platform holds none of them), their answers' numbers written
    into ``answers`` where they speak: each distinct code is looked up once; only
    entries that need reading (a negative code) are taken one by one."""
    listed = np.flatnonzero(codes)
    if not listed.size:
        return
    distinct, inverse = np.unique(codes[listed], return_inverse=True)
    found = np.array([table.number(_code_answer(transactional, code << shift)) if code > 0
                      else -1 for code in distinct.tolist()], np.int64)  # fmt: skip
    got = found[inverse]
    if distinct[0] < 0:  # own or shared below zero
        for k in np.flatnonzero(codes[listed] < 0).tolist():
            got[k] = table.number(
                _entries_answer(view, account_id, normals[listed[k]], transactional, now)
            )
    speaks = got >= 0
    answers[listed[speaks]] = got[speaks]


def _domain_answers(
    view: ListView,
    account_id: str,
    addresses: list[str],
    domains: dict[str, Decision | None],
    table: _Numbered,
) -> tuple[Ints, list[str], list[int]]:
    """The number of each address's answer were it on no list, its normal form ("" for
    none), and the positions of those with none.

    ``domains`` keeps, per domain, its domain steps' answer (None: not a normal form). A
    chunk of plain addresses is answered a domain at a time (``_plain_answers``); only
    the others are normalised one by one.
    """
    data = _clean(addresses)
    plain = None if data is None else _plain_answers(view, account_id, data, domains, table)
    if plain is not None:
        answers, alone = plain
        if not alone:
            return answers, addresses, []
    else:
        answers, alone = np.zeros(len(addresses), np.int64), list(range(len(addresses)))
    normals = list(addresses)
    invalid: list[int] = []
    for j in alone:
        normal = normalize_fast(addresses[j])
        if normal is None:
            normals[j] = ""
            invalid.append(j)
            answers[j] = table.number(_INVALID_ADDRESS)
        else:
            normals[j] = normal
            answers[j] = table.number(_cached_domain_step(view, account_id, domain_of(normal)))
    return answers, normals, invalid


def _plain_answers(
    view: ListView,
    account_id: str,
    data: bytes,
    domains: dict[str, Decision | None],
    table: _Numbered,
) -> tuple[Ints, list[int]] | None:
    """The number of the domain answer of each address of a clean chunk (``_clean``'s
    bytes), and the positions of those to look at alone; None when some line is not one
    '@' between a local part of 1 to 64 characters and a domain, within the length limit.

    The lines are grouped by their domain's length and first and last 8 bytes, each
    domain is checked byte for byte against its group's first (a differing one is
    looked at alone), and each group's domain is decoded and answered once.
    """
    text = np.frombuffer(data + b"\n" + bytes(8), np.uint8)
    ends = np.flatnonzero(text == _NEWLINE)
    ats = np.flatnonzero(text == _AT)
    if len(ats) != len(ends):
        return None
    starts = np.concatenate(([0], ends[:-1] + 1))
    local = ats - starts
    if not (
        (ats < ends).all()
        and local.min() >= 1
        and local.max() <= MAX_LOCAL_LENGTH
        and (ends - starts).max() <= MAX_ADDRESS_LENGTH
    ):
        return None
    firsts, lengths = ats + 1, ends - ats - 1
    words = words_of(text)
    key = words[firsts] & KEEP[np.minimum(lengths, 8)]
    key ^= np.where(lengths > 8, words[np.maximum(ends - 8, 0)], 0) * _MIX
    key ^= lengths.astype(np.uint64) << _LENGTH_BITS
    _keys, heads, groups = np.unique(key, return_index=True, return_inverse=True)
    mine = heads[groups]
    same = same_bytes(text, firsts, text, firsts[mine], lengths) & (lengths == lengths[mine])
    numbers: list[int] = []
    for first, length in zip(firsts[heads].tolist(), lengths[heads].tolist(), strict=True):
        domain = data[first : first + length].decode()
        answer = domains.get(domain, _MISSING)
        if answer is _MISSING:
            if len(domains) >= _MAX_ANSWERS:
                domains.clear()
            answer = domains[domain] = (
                _domain_step(view, account_id, domain)
                if _DOMAIN_FORM.fullmatch(domain) is not None
                else None
            )
        numbers.append(table.number(answer))
    answers = np.array(numbers, np.int64)[groups]
    alone = np.flatnonzero(~same | (answers < 0)).tolist()
    return answers, alone


_NEWLINE, _AT = ord("\n"), ord("@")
_MIX = np.uint64(0x9E3779B97F4A7C15)  # spreads the last word over the first's bits
_LENGTH_BITS = np.uint64(56)
_MISSING = Decision(False, "")  # a key not seen yet
_CODE_ANSWERS: tuple[dict[int, Decision | None], dict[int, Decision | None]] = ({}, {})


def _code_answer(transactional: bool, codes: int) -> Decision | None:
    """Steps 1 to 3 for two plain entry codes (``own << 16 | shared``); None: go on.

    A table filled on first use by ``_address_steps`` itself, on the entries the codes
    stand for, so the fast paths and the entries give one answer.
    """
    table = _CODE_ANSWERS[transactional]
    answer = table.get(codes, _MISSING)
    if answer is _MISSING:
        own, shared = _entries_of_code(codes >> 16), _entries_of_code(codes & 0xFFFF)
        answer = table[codes] = _address_steps(own, shared, transactional, None)
    return answer


def _entries_answer(
    view: ListView, account_id: str, address: str, transactional: bool, now: datetime | None
) -> Decision | None:
    """Steps 1 to 3 on the entries themselves (several on one address, or temporary)."""
    own = view.address_entries(account_id, address)
    shared = (
        view.address_entries(PLATFORM_ACCOUNT, address) if account_id != PLATFORM_ACCOUNT else ()
    )
    return _address_steps(own, shared, transactional, now)


def _entries_of_code(code: int) -> tuple[AddressEntry, ...]:
    """The entry a plain code stands for, as far as a decision reads it."""
    if code == ENTRY_NONE:
        return ()
    flags, reason = (code - 1) & 0xFF, (code - 1) >> 8
    return (AddressEntry(LIST_CODES[flags & 0x0F], 1, bool(flags & ENTRY_ACTIVE),
                         Reason(reason) if reason else None, None, None, None),)  # fmt: skip


def _address_steps(
    own: tuple[AddressEntry, ...],
    shared: tuple[AddressEntry, ...],
    transactional: bool,
    now: datetime | None,
) -> Decision | None:
    """Steps 1 to 3 on the account's and the platform's entries; None: go on."""
    allowed_address = False
    for entry in own:
        if entry.active:
            if entry.list is ListName.RECIPIENT_ALLOW:
                return _RECIPIENT_ALLOWLIST
            allowed_address = allowed_address or entry.list is ListName.ADDRESS_ALLOW
    denying = _DENYING[transactional]
    hit = _suppression(own, denying, now) if own else None
    if hit is None and shared:
        hit = _suppression(shared, denying, now)
    if hit is not None:
        return _SUPPRESSED[hit.reason if hit.reason is not None else Reason.MANUAL]
    if allowed_address:
        return _ADDRESS_ALLOW
    return None


def _domain_step(view: ListView, account_id: str, domain: str) -> Decision:
    """Steps 4 to 6: the domain allow list, then domain rules, then the default."""
    lists = view.account_lists(account_id)
    if lists is not None and not domain_allowed(lists.domain_allow, domain):
        return _DOMAIN_ALLOW_LIST
    platform = view.account_lists(PLATFORM_ACCOUNT)
    if lists is None and platform is None:
        return _DEFAULT
    match = domain_rule_for(
        lists.domain_rules if lists is not None else None,
        platform.domain_rules if platform is not None else None,
        domain,
        Mechanism.SEND,
    )
    if match is None:
        return _DEFAULT
    if match.is_platform:
        return _PLATFORM_DOMAIN_BLOCK
    return _DOMAIN_BLOCK[match.rule.reason]


def _suppression(
    entries: tuple[AddressEntry, ...], denying: dict[ListName, int], now: datetime | None
) -> AddressEntry | None:
    """The highest-ranked active entry that denies on this stream, if any."""
    best: AddressEntry | None = None
    for entry in entries:
        rank = denying.get(entry.list)
        if rank is None or not entry.active:
            continue
        if entry.expires_at is not None and now is not None and entry.expires_at <= now:
            continue
        if best is None or rank < denying[best.list]:
            best = entry
    return best
