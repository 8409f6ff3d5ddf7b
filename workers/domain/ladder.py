"""The per-(account, address) state machine: bounce ladder, suppressions, allow lists.

The model (SPEC §6, seeds 002 and 003)
--------------------------------------
An address stands on at most one entry per suppression category (bounce, block,
complaint, unsubscribe) and may be on the address-allow and recipient-allow lists.
``step`` applies one input (a delivery event, or an address-level command) and returns
the new state with the *diff* of the lists as effects; ``expire`` releases temporary
entries once a given time has passed. Nothing here reads the clock.

Entries made by one event (``RULES`` below) are kept in ``AddressState.listed``, one
winner per category; the latest later entry per category is kept behind the winner, so
that an unblock arriving after them still leaves the right one.

The ladder folds the ladder-relevant events (counted condition bounces and deliveries)
in ``occurred_at`` order, so any permutation of the same events gives the same entry.
Its phases and moves are explicit values and ``LADDER`` is the transition table:

    phase       move           action    SPEC §6
    CLEAR       BOUNCE         CLIMB     1st consecutive condition bounce: 7 days
    CLIMBING    BOUNCE         CLIMB     2nd: 14 days, 3rd: 28 days, 4th: permanent (5)
    CLIMBING    QUIET_BOUNCE   RESTART   quiet period since the last counted bounce
    CLIMBING    DELIVERED      RESET     a delivery ends the streak
    any         ECHO           STAY      bounce inside an active temporary block
    PERMANENT   any            STAY      reason 5 stays until a manual unblock

The history is bounded: its oldest items are folded into ``base``. A delivery that finds
no streak and is later than every ladder event known changes nothing and is not recorded
(``inert``), so most deliveries leave no trace at all. Event ids are remembered in a
bounded window of hashes; a replay older than the window is recognised by what it would
change (docs/design.md, "Replays and the seen window").

Where the spec is silent: see docs/design.md, Decisions (entries, ladder, unblock, allowlist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from functools import reduce
from typing import Literal, TypeVar

from suppressor_client.types import (
    PLATFORM_ACCOUNT,
    Command,
    CommandType,
    DeliveryEvent,
    DeliveryType,
    ListChange,
    ListName,
    Outcome,
    Reason,
    Suppression,
)

from workers.domain.ladder_state import (
    AddressState,
    HistoryItem,
    LadderConfig,
    Mark,
    Rung,
    Toggle,
    changes,
    entries,
    id_hash,
    keep,
)

__all__ = [
    "ADDRESS_COMMANDS",
    "LADDER",
    "OUTCOME_RULES",
    "RULES",
    "Act",
    "AddressState",
    "LadderConfig",
    "LadderInput",
    "Move",
    "Phase",
    "Rule",
    "Stepped",
    "block_reason",
    "changes_nothing",
    "entries",
    "expire",
    "expire_entries",
    "inert",
    "inert_at",
    "next_expiry",
    "step",
    "step_entries",
]

LadderInput = DeliveryEvent | Command
_Moment = TypeVar("_Moment", datetime, int)


# --- what one delivery event does --------------------------------------------------


class Rule(Enum):
    """What a delivery event does besides listing a reason."""

    CLIMB = "climb"  # a counted condition bounce: the ladder decides
    DELIVERED = "delivered"  # ends the streak
    NOTHING = "nothing"  # lists nothing, whatever the state: not recorded at all


RULES: dict[DeliveryType, Reason | Rule] = {
    DeliveryType.BOUNCE: Rule.NOTHING,  # without an outcome: unknown
    DeliveryType.COMPLAINT: Reason.FEEDBACK_LOOP,
    DeliveryType.ABUSE: Reason.ABUSE,
    DeliveryType.UNSUBSCRIBE: Reason.UNSUBSCRIBE,
    DeliveryType.LIST_UNSUBSCRIBE: Reason.LIST_UNSUBSCRIBE,
    DeliveryType.DELIVERED: Rule.DELIVERED,
}
"""The rule of each event type when no classification outcome applies."""

OUTCOME_RULES: dict[Outcome, Reason | Rule] = {
    Outcome.NONEXISTENT: Reason.NONEXISTENT,
    Outcome.CONDITION: Rule.CLIMB,
    Outcome.POLICY: Rule.NOTHING,
    Outcome.UNKNOWN: Rule.NOTHING,
    Outcome.IGNORED: Rule.NOTHING,
    Outcome.COMPLAINT: Reason.FEEDBACK_LOOP,
    Outcome.UNSUBSCRIBE: Reason.UNSUBSCRIBE,
}
"""The rule of a classified event (bounce or complaint), by the classifier's outcome."""

_CLASSIFIED = frozenset({DeliveryType.BOUNCE, DeliveryType.COMPLAINT})


# --- the ladder's transition table -------------------------------------------------


class Phase(Enum):
    CLEAR = "clear"  # no streak
    CLIMBING = "climbing"  # a streak of counted condition bounces
    PERMANENT = "permanent"  # bounce limit reached (reason 5)


class Move(Enum):
    DELIVERED = "delivered"
    BOUNCE = "bounce"  # counts, continuing the streak
    QUIET_BOUNCE = "quiet_bounce"  # counts, after the quiet period: a new streak
    ECHO = "echo"  # inside an active temporary block: does not count


class Act(Enum):
    STAY = "stay"
    CLIMB = "climb"  # streak + 1
    RESTART = "restart"  # streak = 1
    RESET = "reset"  # streak = 0


LADDER: dict[tuple[Phase, Move], Act] = {
    (Phase.CLEAR, Move.DELIVERED): Act.STAY,
    (Phase.CLEAR, Move.BOUNCE): Act.CLIMB,
    (Phase.CLEAR, Move.QUIET_BOUNCE): Act.RESTART,
    (Phase.CLEAR, Move.ECHO): Act.STAY,
    (Phase.CLIMBING, Move.DELIVERED): Act.RESET,
    (Phase.CLIMBING, Move.BOUNCE): Act.CLIMB,
    (Phase.CLIMBING, Move.QUIET_BOUNCE): Act.RESTART,
    (Phase.CLIMBING, Move.ECHO): Act.STAY,
    **{(Phase.PERMANENT, move): Act.STAY for move in Move},
}


def _phase(rung: Rung) -> Phase:
    if rung.permanent is not None:
        return Phase.PERMANENT
    return Phase.CLIMBING if rung.streak else Phase.CLEAR


def _move(rung: Rung, item: HistoryItem, config: LadderConfig) -> Move:
    t = item.occurred_at
    if item.mark is Mark.DELIVERED:
        return Move.DELIVERED
    block = rung.temporary
    if block is not None and block.expires_at is not None and block.since <= t < block.expires_at:
        return Move.ECHO
    if rung.last_counted is not None and t - rung.last_counted >= config.quiet_period:
        return Move.QUIET_BOUNCE
    return Move.BOUNCE


def _counted(rung: Rung, item: HistoryItem, streak: int, config: LadderConfig) -> Rung:
    """The rung after the ``streak``-th consecutive counted bounce (folded through it).

    Once permanent, the temporary block is dropped: nothing reads it any more."""
    t = item.occurred_at
    if streak > len(config.steps):
        entry = Suppression(Reason.BOUNCE_LIMIT, t, None, item.event_id, item.delivery_id)
        return Rung(streak, t, None, entry, item)
    expires = t + config.steps[streak - 1]
    entry = Suppression(Reason.TEMPORARY, t, expires, item.event_id, item.delivery_id)
    return Rung(streak, t, entry, rung.permanent, item)


_ACTS: dict[Act, Callable[[Rung, HistoryItem, LadderConfig], Rung]] = {
    Act.STAY: lambda r, i, c: Rung(r.streak, r.last_counted, r.temporary, r.permanent, i),
    Act.CLIMB: lambda r, i, c: _counted(r, i, r.streak + 1, c),
    Act.RESTART: lambda r, i, c: _counted(r, i, 1, c),
    Act.RESET: lambda r, i, c: Rung(0, r.last_counted, r.temporary, r.permanent, i),
}
"""Each act gives the rung folded through the item."""


def _fold(rung: Rung, item: HistoryItem, config: LadderConfig) -> Rung:
    return _ACTS[LADDER[_phase(rung), _move(rung, item, config)]](rung, item, config)


def _ladder(
    state: AddressState, base: Rung, history: tuple[HistoryItem, ...], config: LadderConfig
) -> AddressState:
    """The state with this base and history, and their fold cached (one ``replace``)."""
    rung = reduce(lambda r, i: _fold(r, i, config), history, base)
    climbing = _phase(rung) is Phase.CLIMBING
    return replace(state, base=base, history=history, climbed=rung.entry, climbing=climbing)


# --- applying inputs ---------------------------------------------------------------


def _covered(state: AddressState, when: Suppression | HistoryItem) -> bool:
    """Whether a manual unblock already decided about this moment."""
    at = when.since if isinstance(when, Suppression) else when.occurred_at
    return state.unblocked_at is not None and at <= state.unblocked_at


def _list(state: AddressState, entry: Suppression, config: LadderConfig) -> AddressState:
    if state.allowlisted or _covered(state, entry):
        return state
    return replace(state, listed=keep((*state.listed, entry), config.candidates_limit))


def _record(state: AddressState, item: HistoryItem, config: LadderConfig) -> AddressState:
    """Insert a ladder event in time order, fold the overflow into the base, refold."""
    if item.mark is Mark.BOUNCE and state.allowlisted:
        return state
    horizon = state.base.through
    if _covered(state, item) or (horizon is not None and item.key <= horizon.key):
        return state
    if item.mark is Mark.DELIVERED and not _interrupts_streak(state, item, config):
        return state  # as if it had arrived in time order: then it was not recorded (inert)
    history = tuple(sorted((*state.history, item), key=lambda i: i.key))
    base = state.base
    overflow = len(history) - config.history_limit
    if overflow > 0:
        base = reduce(lambda r, i: _fold(r, i, config), history[:overflow], base)
        base = replace(base, through=history[overflow - 1].bare)
        history = history[overflow:]
    return _ladder(state, base, history, config)


def _interrupts_streak(state: AddressState, item: HistoryItem, config: LadderConfig) -> bool:
    """Whether a delivery placed at its time falls inside a streak of counted bounces; one
    that does not changes no fold (``Act.STAY``), so it needs no place in the history."""
    before = (i for i in state.history if i.key < item.key)
    return _phase(reduce(lambda r, i: _fold(r, i, config), before, state.base)) is Phase.CLIMBING


def _rule(event: DeliveryEvent, outcome: Outcome | None) -> Reason | Rule:
    if outcome is not None and event.type in _CLASSIFIED:
        return OUTCOME_RULES[outcome]
    return RULES[event.type]


def _apply_delivery(
    state: AddressState, event: DeliveryEvent, config: LadderConfig, outcome: Outcome | None
) -> AddressState:
    rule = _rule(event, outcome)
    if isinstance(rule, Reason):
        entry = Suppression(rule, event.occurred_at, None, event.event_id, event.delivery_id)
        return _list(state, entry, config)
    mark = Mark.BOUNCE if rule is Rule.CLIMB else Mark.DELIVERED
    return _record(
        state, HistoryItem.of(event.occurred_at, mark, event.event_id, event.delivery_id), config
    )


def block_reason(kind: CommandType, given: Reason | None, account_id: str) -> Reason:
    """The reason of a manual block (2) or an import row (its own); on the platform
    account (``*``) a manual block is the shared blacklist, reason 99 (SPEC §5, §6)."""
    reason = Reason.MANUAL
    if kind is CommandType.IMPORT_ROW and given is not None and given is not Reason.TEMPORARY:
        reason = given  # reason 8: see docs/design.md, Decisions (ladder)
    if reason is Reason.MANUAL and account_id == PLATFORM_ACCOUNT:
        reason = Reason.SHARED
    return reason


def _block(state: AddressState, cmd: Command, config: LadderConfig) -> AddressState:
    """A manual block or an import row: an entry with ``block_reason``."""
    reason = block_reason(cmd.type, cmd.reason, cmd.account_id)
    entry = Suppression(reason, cmd.occurred_at, None, cmd.event_id, cmd.delivery_id, cmd.notes)
    return _list(state, entry, config)


def _unblock(state: AddressState, cmd: Command, config: LadderConfig) -> AddressState:
    at = cmd.occurred_at
    if state.unblocked_at is not None and at <= state.unblocked_at:
        return state
    state = replace(state, unblocked_at=at)
    horizon = state.base.through
    base = Rung() if horizon is None or horizon.occurred_at <= at else state.base
    listed = tuple(s for s in state.listed if not _covered(state, s))
    history = tuple(i for i in state.history if not _covered(state, i))
    return _ladder(replace(state, listed=listed), base, history, config)


def _toggler(
    name: Literal["allowlist", "address_allow"], on: bool
) -> Callable[[AddressState, Command, LadderConfig], AddressState]:
    def apply(state: AddressState, cmd: Command, config: LadderConfig) -> AddressState:
        toggle = Toggle(on, cmd.occurred_at, cmd.event_id)
        if not toggle.newer_than(getattr(state, name)):
            return state
        if name == "allowlist":
            return replace(state, allowlist=toggle)
        return replace(state, address_allow=toggle)

    return apply


ADDRESS_COMMANDS: dict[
    CommandType, Callable[[AddressState, Command, LadderConfig], AddressState]
] = {
    CommandType.ADDRESS_BLOCK: _block,
    CommandType.IMPORT_ROW: _block,
    CommandType.ADDRESS_UNBLOCK: _unblock,
    CommandType.ADDRESS_ALLOW: _toggler("address_allow", True),
    CommandType.ADDRESS_DISALLOW: _toggler("address_allow", False),
    CommandType.ALLOWLIST_ADD: _toggler("allowlist", True),
    CommandType.ALLOWLIST_REMOVE: _toggler("allowlist", False),
}


# --- reading the lists and the public steps ----------------------------------------


def _kept(state: AddressState, event_id: str, tag: int) -> bool:
    """Whether the history or an entry holds this event: it needs no place in ``seen``."""
    return any(i.tag == tag for i in state.history) or any(
        s.event_id == event_id for s in state.listed
    )


def _already_seen(state: AddressState, event_id: str, tag: int) -> bool:
    """In the window of seen ids, or kept in the history or an entry (see the module doc)."""
    return tag in state.seen or _kept(state, event_id, tag)


def inert_at(
    latest: tuple[_Moment, int, int] | None, climbing: bool, at: _Moment, event_id: str
) -> bool:
    """Whether a ``delivered`` event (at ``at``, with ``event_id``) can change nothing, and
    so is not recorded.

    That is a delivery that finds no streak of counted bounces (``climbing``) and is later
    than the latest ladder event known for the address, whose key (``HistoryItem.key``) is
    ``latest``, with its time in the unit of ``at``: a datetime, or microseconds as the
    stored record's header has it (docs/design.md, "Deliveries that change nothing"). An
    address nothing has happened to answers True.
    """
    if latest is None:
        return True
    if at < latest[0] or (at == latest[0] and (0, id_hash(event_id)) <= latest[1:]):
        return False  # a late delivery: placed in time order, it may end a streak
    return not climbing


def changes_nothing(event: LadderInput, outcome: Outcome | None) -> bool:
    """Whether an event lists nothing whatever the state (``Rule.NOTHING``: a policy,
    unknown or ignored outcome), and so is not recorded at all, like an inert delivery."""
    return isinstance(event, DeliveryEvent) and _rule(event, outcome) is Rule.NOTHING


def inert(state: AddressState, event: LadderInput) -> bool:
    """``inert_at`` for an event and a state (its latest ladder event, its cached streak)."""
    if not isinstance(event, DeliveryEvent) or event.type is not DeliveryType.DELIVERED:
        return False
    tip = state.tip
    return inert_at(tip.key if tip else None, state.climbing, event.occurred_at, event.event_id)


Held = dict[ListName, Suppression | None]


@dataclass(frozen=True, slots=True)
class Stepped:
    """One input applied, with the entries of both sides (each computed once)."""

    state: AddressState
    changes: list[ListChange]
    before: Held
    after: Held


def step_entries(
    state: AddressState, event: LadderInput, config: LadderConfig, outcome: Outcome | None = None
) -> Stepped:
    """``step``, with the entries before and after for a caller that needs them too.

    A duplicate, or an event that changes nothing (``changes_nothing``, ``inert``),
    returns ``state`` itself."""
    if isinstance(event, Command) and event.type not in ADDRESS_COMMANDS:
        raise ValueError(f"{event.type.value} is not an address-level command")
    tag = id_hash(event.event_id)
    if (
        changes_nothing(event, outcome)
        or inert(state, event)
        or _already_seen(state, event.event_id, tag)
    ):
        held = entries(state)
        return Stepped(state, [], held, held)
    address = event.email or state.address
    if not address:
        raise ValueError(f"{event.event_id}: an address-level input needs an email")
    after = state if address == state.address else replace(state, address=address)
    if isinstance(event, DeliveryEvent):
        after = _apply_delivery(after, event, config, outcome)
    else:
        after = ADDRESS_COMMANDS[event.type](after, event, config)
    if after is state or not _kept(after, event.event_id, tag):  # else known by where it is
        after = replace(after, seen=(*state.seen, tag)[-config.seen_ids_limit :])
    before, now = entries(state), entries(after)  # entries do not read the address
    return Stepped(after, changes(before, now, address), before, now)


def step(
    state: AddressState, event: LadderInput, config: LadderConfig, outcome: Outcome | None = None
) -> tuple[AddressState, list[ListChange]]:
    """Apply one input; ``outcome`` is the classification of a bounce or complaint."""
    stepped = step_entries(state, event, config, outcome)
    return stepped.state, stepped.changes


def expire_entries(state: AddressState, now: datetime) -> Stepped:
    """``expire``, with the entries before and after (a tick that is not later: ``state``)."""
    before = entries(state)
    if state.expired_through is not None and now <= state.expired_through:
        return Stepped(state, [], before, before)
    after = replace(state, expired_through=now)
    held = entries(after)
    return Stepped(after, changes(before, held, after.address), before, held)


def expire(
    state: AddressState, now: datetime, config: LadderConfig
) -> tuple[AddressState, list[ListChange]]:
    """Release temporary entries whose ``expires_at <= now``; ``now`` is never read here."""
    stepped = expire_entries(state, now)
    return stepped.state, stepped.changes


def next_expiry(state: AddressState) -> datetime | None:
    """When the worker must call ``expire`` next (None: nothing temporary is published)."""
    bounce = entries(state).get(ListName.BOUNCE)
    return bounce.expires_at if bounce is not None else None
