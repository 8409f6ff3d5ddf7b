"""Table tests of the address state machine against SPEC §6 (seeds 002 and 003)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from suppressor_client.types import (
    PLATFORM_ACCOUNT,
    Command,
    CommandType,
    DeliveryType,
    ListChange,
    ListName,
    Outcome,
    Reason,
    Suppression,
)

from tests.domain.ladder_helpers import (
    ADDRESS,
    Input,
    apply_effects,
    at,
    bounce,
    command,
    delivered,
    delivery,
    run,
    suppressions,
)
from workers.domain.ladder import (
    LADDER,
    AddressState,
    LadderConfig,
    Move,
    Phase,
    entries,
    expire,
    next_expiry,
    step,
)
from workers.domain.ladder_state import Mark, id_hash
from workers.settings import Settings

DAY = timedelta(days=1)
CONFIG = Settings().ladder()
CLIMB = [bounce("b1", 0), bounce("b2", 8), bounce("b3", 23), bounce("b4", 52)]  # after each block


def bounce_entry(inputs: list[Input], config: LadderConfig | None = None) -> Suppression:
    """The published bounce-category entry after the inputs (there must be one)."""
    state, _ = run(inputs, config)
    entry = entries(state)[ListName.BOUNCE]
    assert entry is not None
    return entry


# --- the ladder -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "reason", "duration"),
    [(1, Reason.TEMPORARY, 7), (2, Reason.TEMPORARY, 14), (3, Reason.TEMPORARY, 28), (4, 5, None)],
)
def test_each_consecutive_condition_bounce_climbs_one_step(
    count: int, reason: Reason, duration: int | None
) -> None:
    """Consecutive condition bounces block for 7, 14, 28 days; the 4th is permanent (reason 5)."""
    entry = bounce_entry(CLIMB[:count])
    last = CLIMB[count - 1][0]
    assert entry.reason == reason
    assert entry.since == last.occurred_at
    assert entry.event_id == last.event_id
    assert entry.delivery_id == f"d-{last.event_id}"
    expected = None if duration is None else last.occurred_at + duration * DAY
    assert entry.expires_at == expected


def test_bounces_after_the_permanent_step_change_nothing() -> None:
    """Once the bounce limit is reached (reason 5), further bounces publish nothing."""
    state, _ = run(CLIMB)
    _, effects = run([bounce("b5", 100), delivered("d1", 101), bounce("b6", 102)], state=state)
    assert effects == []


def test_a_delivery_ends_the_streak() -> None:
    """A delivered event between two condition bounces restarts the ladder at 7 days."""
    entry = bounce_entry([bounce("b1", 0), delivered("d1", 8), bounce("b2", 9)])
    assert entry.expires_at == at(9) + 7 * DAY


def test_a_late_delivery_that_interrupts_no_streak_is_not_recorded() -> None:
    """A delivery older than every bounce of the address, arriving (or replayed) after
    them, ends nothing: the state is the one of the bounces alone, as in time order; one
    inside a streak is placed and ends it."""
    alone, _ = run([bounce("b1", 1), bounce("b2", 2)])
    for late in ([delivered("d0", 0)], [delivered("d0", 0), delivered("d0", 0)]):
        state, effects = run(late, state=alone)
        assert (state.history, effects) == (alone.history, [])
    inside, _ = run([delivered("d1", 1.5)], state=alone)
    assert [i.mark for i in inside.history] == [Mark.BOUNCE, Mark.DELIVERED, Mark.BOUNCE]


def test_a_delivery_leaves_a_running_block_in_place() -> None:
    """A delivered event during a temporary block publishes nothing: the block runs out alone."""
    state, _ = run([bounce("b1", 0)])
    _, effects = run([delivered("d1", 2)], state=state)
    assert effects == []


@pytest.mark.parametrize(("gap", "days"), [(89, 28), (90, 7), (200, 7)])
def test_the_quiet_period_ends_the_streak(gap: int, days: int) -> None:
    """A bounce 90 days or more after the last counted one starts a new streak."""
    entry = bounce_entry([bounce("b1", 0), bounce("b2", 8), bounce("b3", 8 + gap)])
    assert entry.expires_at == at(8 + gap) + days * DAY


def test_bounces_inside_an_active_block_are_echoes() -> None:
    """Bounces that occurred inside a temporary block neither publish nor climb the ladder."""
    _, effects = run([bounce("b1", 0), bounce("e1", 1), bounce("e2", 6.9)])
    assert len(effects) == 1
    entry = bounce_entry([bounce("b1", 0), bounce("e1", 1), bounce("e2", 6.9), bounce("b2", 7)])
    assert entry.expires_at == at(7) + 14 * DAY


def test_two_bounces_at_the_same_instant_count_once() -> None:
    """A second bounce at the very instant a block starts is inside it: still the first step."""
    entry = bounce_entry([bounce("b2", 0), bounce("b1", 0)])
    assert entry.expires_at == at(7)
    assert bounce_entry([bounce("b1", 0), bounce("b2", 0)]) == entry  # not by arrival
    first = min(("b1", "b2"), key=id_hash)  # ties are broken by the event id's hash
    assert entry.event_id == first


def test_echo_after_a_delivery_still_does_not_count() -> None:
    """The block stays active after a delivery, so a bounce inside it is still an echo."""
    entry = bounce_entry([bounce("b1", 0), delivered("d1", 1), bounce("e1", 2), bounce("b2", 8)])
    assert entry.expires_at == at(8) + 7 * DAY


def test_durations_come_from_the_config() -> None:
    """Custom steps and quiet period replace the defaults; one past the last step is permanent."""
    config = LadderConfig(steps=(DAY, 2 * DAY), quiet_period=10 * DAY)
    assert bounce_entry([bounce("b1", 0)], config).expires_at == at(1)
    assert bounce_entry([bounce("b1", 0), bounce("b2", 1)], config).expires_at == at(3)
    permanent = bounce_entry([bounce("b1", 0), bounce("b2", 1), bounce("b3", 3)], config)
    assert permanent.reason == Reason.BOUNCE_LIMIT
    restarted = bounce_entry([bounce("b1", 0), bounce("b2", 1), bounce("b3", 11)], config)
    assert restarted.expires_at == at(12)


def test_out_of_order_bounces_fold_by_occurred_at() -> None:
    """The second bounce arriving before the first gives the in-order result."""
    in_order = bounce_entry([bounce("b1", 0), bounce("b2", 8)])
    reversed_ = bounce_entry([bounce("b2", 8), bounce("b1", 0)])
    assert reversed_ == in_order


def test_late_bounce_recomputes_the_block_and_publishes_the_diff() -> None:
    """A late earlier bounce turns the published block into the one of the later step."""
    state, _ = run([bounce("b2", 8)])
    _, effects = run([bounce("b1", 0)], state=state)
    [effect] = effects
    assert effect.active
    assert isinstance(effect.payload, Suppression)
    assert effect.payload.expires_at == at(8) + 14 * DAY


def test_every_phase_and_move_has_a_transition() -> None:
    """The ladder table is total: every (phase, move) pair has exactly one action."""
    assert set(LADDER) == {(p, m) for p in Phase for m in Move}


def test_config_rejects_an_empty_ladder() -> None:
    """A ladder without steps is a configuration error, caught at construction."""
    with pytest.raises(ValueError, match="steps"):
        LadderConfig(steps=(), quiet_period=DAY)


# --- single-event rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "outcome", "listed", "reason"),
    [
        (DeliveryType.BOUNCE, Outcome.NONEXISTENT, ListName.BOUNCE, Reason.NONEXISTENT),
        (DeliveryType.BOUNCE, Outcome.COMPLAINT, ListName.COMPLAINT, Reason.FEEDBACK_LOOP),
        (DeliveryType.BOUNCE, Outcome.UNSUBSCRIBE, ListName.UNSUBSCRIBE, Reason.UNSUBSCRIBE),
        (DeliveryType.COMPLAINT, None, ListName.COMPLAINT, Reason.FEEDBACK_LOOP),
        (DeliveryType.COMPLAINT, Outcome.COMPLAINT, ListName.COMPLAINT, Reason.FEEDBACK_LOOP),
        (DeliveryType.COMPLAINT, Outcome.UNSUBSCRIBE, ListName.UNSUBSCRIBE, Reason.UNSUBSCRIBE),
        (DeliveryType.ABUSE, None, ListName.COMPLAINT, Reason.ABUSE),
        (DeliveryType.UNSUBSCRIBE, None, ListName.UNSUBSCRIBE, Reason.UNSUBSCRIBE),
        (DeliveryType.LIST_UNSUBSCRIBE, None, ListName.UNSUBSCRIBE, Reason.LIST_UNSUBSCRIBE),
    ],
)
def test_single_events_list_a_permanent_entry(
    kind: DeliveryType, outcome: Outcome | None, listed: ListName, reason: Reason
) -> None:
    """Each event type (and outcome) lists its reason, permanent, with the event's fields."""
    state, effects = run([delivery(kind, "x1", 3, outcome)])
    expected = Suppression(reason, at(3), None, "x1", "d-x1")
    assert effects == [ListChange(listed, ADDRESS, expected)]
    assert entries(state) == {listed: expected}


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        (DeliveryType.BOUNCE, Outcome.POLICY),
        (DeliveryType.BOUNCE, Outcome.UNKNOWN),
        (DeliveryType.BOUNCE, Outcome.IGNORED),
        (DeliveryType.BOUNCE, None),
        (DeliveryType.COMPLAINT, Outcome.IGNORED),
    ],
)
def test_events_that_list_nothing(kind: DeliveryType, outcome: Outcome | None) -> None:
    """Policy, unknown and ignored outcomes list nothing, whatever the state, and leave no
    trace (docs/design.md, "Events that change nothing"): not even their id."""
    fresh = AddressState.empty(ADDRESS)
    assert step(fresh, delivery(kind, "x1", 3, outcome)[0], CONFIG, outcome) == (fresh, [])
    climbing, _ = run([bounce("b1", 0)])
    assert step(climbing, delivery(kind, "x2", 3, outcome)[0], CONFIG, outcome) == (climbing, [])


def test_a_delivery_that_finds_no_streak_leaves_no_trace() -> None:
    """A delivery to a fresh address, or after everything known with no streak running, is
    not recorded at all: the state stays the very same object (nothing to store)."""
    fresh = AddressState.empty(ADDRESS)
    state, effects = step(fresh, delivered("x1", 3)[0], CONFIG)
    assert state is fresh and effects == []
    after_streak, _ = run([bounce("b1", 0), delivered("d1", 1)])  # d1 ended the streak
    state, effects = step(after_streak, delivered("d2", 2)[0], CONFIG)
    assert state is after_streak and effects == []


def test_a_delivery_that_can_end_a_streak_is_recorded() -> None:
    """A delivery during a streak, or older than a known bounce, is recorded and ends the
    streak before the next bounce, as SPEC §6 says."""
    climbing, _ = run([bounce("b1", 0)])
    state, _ = step(climbing, delivered("d1", 1)[0], CONFIG)
    assert [i.tag for i in state.history] == [id_hash("b1"), id_hash("d1")]
    assert [i.event_id for i in state.history] == ["b1", None]  # a delivery keeps no ids
    late, _ = run([bounce("b1", 0), bounce("b2", 30)])
    state, _ = step(late, delivered("d0", 20)[0], CONFIG)
    assert [i.tag for i in state.history] == [id_hash(e) for e in ("b1", "d0", "b2")]
    assert bounce_entry([bounce("b1", 0), delivered("d0", 20), bounce("b2", 30)]).expires_at == (
        at(30) + 7 * DAY
    )


def test_a_bounce_older_than_a_dropped_delivery_counts_as_if_it_had_not_happened() -> None:
    """The rule's one consequence (docs/design.md): a delivery dropped for finding no streak
    does not end the streak of an older bounce that arrives after it."""
    in_order = bounce_entry([bounce("b0", 10), delivered("d1", 20), bounce("b2", 30)])
    assert in_order.expires_at == at(30) + 7 * DAY  # d1 ended b0's streak: b2 is the 1st
    dropped = bounce_entry([delivered("d1", 20), bounce("b0", 10), bounce("b2", 30)])
    assert dropped.expires_at == at(30) + 14 * DAY  # d1 found no streak: b2 is the 2nd


def test_policy_and_unknown_bounces_neither_count_nor_break_the_streak() -> None:
    """Uncounted bounces between two condition bounces leave the streak as it was."""
    noise = [bounce("p1", 9, Outcome.POLICY), bounce("u1", 10, Outcome.UNKNOWN)]
    entry = bounce_entry([bounce("b1", 0), *noise, bounce("b2", 11)])
    assert entry.expires_at == at(11) + 14 * DAY


def test_a_category_keeps_its_first_entry() -> None:
    """A later complaint changes nothing; an earlier one arriving late replaces the entry."""
    state, _ = run([delivery(DeliveryType.COMPLAINT, "c2", 5)])
    state, effects = run([delivery(DeliveryType.ABUSE, "c3", 9)], state=state)
    assert effects == []
    state, effects = run([delivery(DeliveryType.COMPLAINT, "c1", 1)], state=state)
    assert effects == [
        ListChange(
            ListName.COMPLAINT,
            ADDRESS,
            Suppression(Reason.FEEDBACK_LOOP, at(1), None, "c1", "d-c1"),
        )
    ]


def test_a_permanent_bounce_replaces_a_temporary_one() -> None:
    """A nonexistent bounce during a temporary block turns the entry into reason 1."""
    state, _ = run([bounce("b1", 0)])
    _, effects = run([bounce("n1", 2, Outcome.NONEXISTENT)], state=state)
    assert [e.payload.reason for e in effects if isinstance(e.payload, Suppression)] == [1]


def test_a_temporary_bounce_never_replaces_a_permanent_one() -> None:
    """Condition bounces after a nonexistent one leave reason 1 in place."""
    state, _ = run([bounce("n1", 0, Outcome.NONEXISTENT)])
    state, effects = run([bounce("b1", 1), bounce("b2", 9)], state=state)
    assert effects == []
    assert entries(state)[ListName.BOUNCE] == Suppression(1, at(0), None, "n1", "d-n1")  # type: ignore[arg-type]


def test_the_same_event_twice_changes_nothing() -> None:
    """A repeated event id returns the very same state and no effects."""
    state, _ = run([bounce("b1", 0), delivery(DeliveryType.UNSUBSCRIBE, "u1", 1)])
    again, effects = run(
        [bounce("b1", 0), delivery(DeliveryType.UNSUBSCRIBE, "u1", 1)], state=state
    )
    assert effects == []
    assert again == state


# --- commands ---------------------------------------------------------------------


def test_manual_block_lists_reason_2_with_notes() -> None:
    """ADDRESS_BLOCK puts the address on the block list with the command's notes."""
    _, effects = run([command(CommandType.ADDRESS_BLOCK, "m1", 2, notes="asked by phone")])
    expected = Suppression(Reason.MANUAL, at(2), None, "m1", None, "asked by phone")
    assert effects == [ListChange(ListName.BLOCK, ADDRESS, expected)]


@pytest.mark.parametrize("kind", [CommandType.ADDRESS_BLOCK, CommandType.IMPORT_ROW])
def test_a_platform_block_is_the_shared_blacklist(kind: CommandType) -> None:
    """A manual block or a default import row on account '*' carries reason 99, not 2."""
    cmd, _ = command(kind, "p1", 2)
    assert isinstance(cmd, Command)
    state, _ = run([(replace(cmd, account_id=PLATFORM_ACCOUNT), None)])
    assert entries(state) == {ListName.BLOCK: Suppression(Reason.SHARED, at(2), None, "p1")}


@pytest.mark.parametrize(
    ("reason", "listed", "expected"),
    [
        (None, ListName.BLOCK, Reason.MANUAL),
        (Reason.MANUAL, ListName.BLOCK, Reason.MANUAL),
        (Reason.NONEXISTENT_LEGACY, ListName.BOUNCE, Reason.NONEXISTENT_LEGACY),
        (Reason.TEMPORARY, ListName.BLOCK, Reason.MANUAL),  # a row has no expiry
    ],
)
def test_import_rows_list_their_reason_with_notes(
    reason: Reason | None, listed: ListName, expected: Reason
) -> None:
    """IMPORT_ROW lists the command's reason: manual by default, legacy 10 as a permanent bounce."""
    state, _ = run([command(CommandType.IMPORT_ROW, "i1", 2, reason=reason, notes="legacy")])
    assert entries(state) == {listed: Suppression(expected, at(2), None, "i1", None, "legacy")}


def test_legacy_import_outranks_a_temporary_block() -> None:
    """An imported reason 10 is permanent, so it replaces a running temporary block."""
    state, _ = run([bounce("b1", 0)])
    state, _ = run([command(CommandType.IMPORT_ROW, "i1", 3, reason=Reason(10))], state=state)
    assert entries(state)[ListName.BOUNCE].reason == Reason.NONEXISTENT_LEGACY  # type: ignore[union-attr]


def test_unblock_releases_every_entry_in_list_order() -> None:
    """ADDRESS_UNBLOCK releases bounce, block, complaint and unsubscribe entries, in list order."""
    state, _ = run(
        [
            delivery(DeliveryType.UNSUBSCRIBE, "u1", 0),
            delivery(DeliveryType.COMPLAINT, "c1", 0),
            command(CommandType.ADDRESS_BLOCK, "m1", 0),
            bounce("b1", 1),
        ]
    )
    state, effects = run([command(CommandType.ADDRESS_UNBLOCK, "x1", 2)], state=state)
    lists = [ListName.BOUNCE, ListName.BLOCK, ListName.COMPLAINT, ListName.UNSUBSCRIBE]
    assert effects == [ListChange.release(name, ADDRESS) for name in lists]
    assert entries(state) == {}


def test_unblock_resets_the_ladder() -> None:
    """After an unblock the next condition bounce is a first step again."""
    before = [bounce("b1", 0), bounce("b2", 8), bounce("b3", 23), bounce("b4", 52)]
    unblock = command(CommandType.ADDRESS_UNBLOCK, "x1", 53)
    assert bounce_entry([*before, unblock, bounce("b5", 54)]).expires_at == at(54) + 7 * DAY


def test_events_before_an_unblock_never_list_again() -> None:
    """A complaint or bounce that occurred before the unblock but arrives after it is ignored."""
    state, _ = run([command(CommandType.ADDRESS_UNBLOCK, "x1", 10)])
    late = [
        delivery(DeliveryType.COMPLAINT, "c1", 9),
        bounce("b1", 5),
        bounce("n1", 10, Outcome.NONEXISTENT),
    ]
    state, effects = run(late, state=state)
    assert effects == []
    state, effects = run([delivery(DeliveryType.COMPLAINT, "c2", 11)], state=state)
    assert [e.active for e in effects] == [True]


def test_recipient_allowlist_publishes_and_shields() -> None:
    """Allowlisting publishes an entry-less upsert; events meanwhile list nothing but are seen."""
    state, effects = run([command(CommandType.ALLOWLIST_ADD, "a1", 0)])
    assert effects == [ListChange(ListName.RECIPIENT_ALLOW, ADDRESS, None)]
    noise = [
        bounce("n1", 1, Outcome.NONEXISTENT),
        bounce("b1", 2),
        delivery(DeliveryType.COMPLAINT, "c1", 3),
        delivery(DeliveryType.LIST_UNSUBSCRIBE, "l1", 4),
        command(CommandType.ADDRESS_BLOCK, "m1", 5),
    ]
    state, effects = run(noise, state=state)
    assert effects == []
    assert {id_hash(e) for e in ("n1", "b1", "c1", "l1", "m1")} <= set(state.seen)
    state, effects = run([command(CommandType.ALLOWLIST_REMOVE, "a2", 6)], state=state)
    assert effects == [ListChange.release(ListName.RECIPIENT_ALLOW, ADDRESS)]
    _, effects = run(noise, state=state)
    assert effects == []  # what happened while allowlisted stays ignored


def test_allowlisting_keeps_existing_entries() -> None:
    """Entries made before the allowlist stay; the send decision puts the allowlist first."""
    state, _ = run(
        [delivery(DeliveryType.UNSUBSCRIBE, "u1", 0), command(CommandType.ALLOWLIST_ADD, "a1", 1)]
    )
    assert set(entries(state)) == {ListName.UNSUBSCRIBE, ListName.RECIPIENT_ALLOW}


def test_address_allow_is_a_list_of_its_own() -> None:
    """ADDRESS_ALLOW and DISALLOW upsert and release the address-allow entry, nothing else."""
    state, _ = run([bounce("n1", 0, Outcome.NONEXISTENT)])
    state, effects = run([command(CommandType.ADDRESS_ALLOW, "a1", 1)], state=state)
    assert effects == [ListChange(ListName.ADDRESS_ALLOW, ADDRESS, None)]
    _, effects = run([command(CommandType.ADDRESS_ALLOW, "a2", 2)], state=state)
    assert effects == []
    state, effects = run([command(CommandType.ADDRESS_DISALLOW, "a3", 3)], state=state)
    assert effects == [ListChange.release(ListName.ADDRESS_ALLOW, ADDRESS)]
    assert set(entries(state)) == {ListName.BOUNCE}


def test_an_older_toggle_arriving_late_loses() -> None:
    """Allow flags are last-writer-wins by occurred_at: a late older command is ignored."""
    state, _ = run(
        [
            command(CommandType.ADDRESS_ALLOW, "a2", 5),
            command(CommandType.ADDRESS_DISALLOW, "a1", 4),
        ]
    )
    assert state.address_allowed


def test_other_commands_are_refused() -> None:
    """Account-level commands are not the ladder's business: refusing them exposes mis-routing."""
    (cmd, _) = command(CommandType.DOMAIN_RULE_SET, "r1", 0)
    with pytest.raises(ValueError, match="address-level"):
        step(AddressState.empty(), cmd, Settings().ladder())  # type: ignore[arg-type]


# --- expiry -----------------------------------------------------------------------


def test_expire_releases_a_block_once_its_time_has_come() -> None:
    """expire() does nothing before expires_at and releases the entry at expires_at."""
    config = Settings().ladder()
    state, _ = run([bounce("b1", 0)])
    assert next_expiry(state) == at(7)
    same, effects = expire(state, at(6.9), config)
    assert effects == []
    assert next_expiry(same) == at(7)
    state, effects = expire(same, at(7), config)
    assert effects == [ListChange.release(ListName.BOUNCE, ADDRESS)]
    assert next_expiry(state) is None


def test_expire_leaves_permanent_entries() -> None:
    """Permanent entries have no expiry and survive any expire() call."""
    state, _ = run([bounce("n1", 0, Outcome.NONEXISTENT)])
    assert next_expiry(state) is None
    _, effects = expire(state, at(10_000), Settings().ladder())
    assert effects == []


def test_an_expired_block_is_not_published_again() -> None:
    """After expiry, unrelated events and late echoes do not republish the old block."""
    state, _ = run([bounce("b1", 0)])
    state, _ = expire(state, at(8), Settings().ladder())
    state, effects = run(
        [delivery(DeliveryType.UNSUBSCRIBE, "u1", 9), bounce("e1", 3)], state=state
    )
    assert [e.list for e in effects] == [ListName.UNSUBSCRIBE]


def test_expiry_keeps_the_streak() -> None:
    """An expired block still counts: the next condition bounce climbs to 14 days."""
    state, _ = run([bounce("b1", 0)])
    state, _ = expire(state, at(7), Settings().ladder())
    _, effects = run([bounce("b2", 10)], state=state)
    assert effects[0].payload.expires_at == at(10) + 14 * DAY  # type: ignore[union-attr]


def test_a_late_bounce_whose_block_already_expired_is_not_published() -> None:
    """A block computed for a bounce whose window expire() already passed is never upserted."""
    state, _ = expire(AddressState.empty(ADDRESS), at(100), Settings().ladder())
    _, effects = run([bounce("b1", 0)], state=state)
    assert effects == []


# --- bounds -----------------------------------------------------------------------


def test_a_bounce_older_than_the_history_horizon_is_ignored() -> None:
    """Past the bounded history, a too-late bounce cannot be placed and changes nothing."""
    config = replace(Settings().ladder(), history_limit=2)
    state, _ = run([bounce("b1", 5), delivered("d1", 10), bounce("b2", 20)], config)
    assert len(state.history) == 2
    assert state.base.through is not None
    _, effects = run([bounce("b0", 1)], config, state)
    assert effects == []


def test_a_bounce_behind_the_horizon_of_the_default_history() -> None:
    """With the default bound (the last 4 ladder events), a bounce that arrives after five
    newer ones is too late: the streak it began is one step shorter than in time order."""
    times = [0, 8, 22, 50, 51, 60]  # 7, 14, 28 days, then permanent; 51 and 60 are echoes
    in_order = bounce_entry([bounce(f"b{i}", t) for i, t in enumerate(times)])
    assert in_order.reason is Reason.BOUNCE_LIMIT
    state, _ = run([bounce(f"b{i}", t) for i, t in enumerate(times)][1:])
    assert state.base.through is not None  # the first of them is folded: the horizon
    late, effects = run([bounce("b0", 0)], state=state)
    assert late.history == state.history and effects == []
    late_entry = entries(late)[ListName.BOUNCE]
    assert late_entry is not None and late_entry.reason is Reason.TEMPORARY
    assert late_entry.expires_at == at(50) + 28 * DAY


def test_effects_rebuild_the_entries() -> None:
    """A subscriber applying every effect in order holds exactly entries(state)."""
    inputs = [
        *CLIMB[:2],
        command(CommandType.ALLOWLIST_ADD, "a1", 9),
        command(CommandType.ADDRESS_UNBLOCK, "x", 9),
    ]
    state, effects = run(inputs)
    assert apply_effects({}, effects) == entries(state)
    assert suppressions(state) == {}
