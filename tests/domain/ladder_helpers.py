"""Builders for ladder inputs, shared by the table tests and the property tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from suppressor_client.types import (
    Command,
    CommandType,
    DeliveryEvent,
    DeliveryType,
    DomainRule,
    ListChange,
    ListEntry,
    ListName,
    Outcome,
    Reason,
    Suppression,
)

from workers.domain.ladder import (
    AddressState,
    LadderConfig,
    LadderInput,
    entries,
    step,
)
from workers.settings import Settings

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ADDRESS = "jane@example.com"
Input = tuple[LadderInput, Outcome | None]


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, as the stored and ops records carry times."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def delivery(
    kind: DeliveryType, event_id: str, days: float, outcome: Outcome | None = None
) -> Input:
    """A delivery event ``days`` after T0, with its classification outcome."""
    event = DeliveryEvent(event_id, "acme", at(days), kind, ADDRESS, delivery_id=f"d-{event_id}")
    return event, outcome


def bounce(event_id: str, days: float, outcome: Outcome | None = Outcome.CONDITION) -> Input:
    return delivery(DeliveryType.BOUNCE, event_id, days, outcome)


def delivered(event_id: str, days: float) -> Input:
    return delivery(DeliveryType.DELIVERED, event_id, days)


def command(
    kind: CommandType,
    event_id: str,
    days: float,
    *,
    reason: Reason | None = None,
    notes: str | None = None,
) -> Input:
    """An address-level command ``days`` after T0."""
    cmd = Command(event_id, "acme", at(days), kind, email=ADDRESS, reason=reason, notes=notes)
    return cmd, None


def run(
    inputs: Iterable[Input],
    config: LadderConfig | None = None,
    state: AddressState | None = None,
) -> tuple[AddressState, list[ListChange]]:
    """Apply inputs in the given order; return the final state and every effect."""
    config = config or Settings().ladder()
    state = state or AddressState.empty()
    effects: list[ListChange] = []
    for event, outcome in inputs:
        state, out = step(state, event, config, outcome)
        effects.extend(out)
    return state, effects


def apply_effects(
    view: dict[ListName, Suppression | None], effects: Iterable[ListChange]
) -> dict[ListName, Suppression | None]:
    """What a subscriber holds after reading the effects: the view they must reproduce."""
    view = dict(view)
    for effect in effects:
        assert effect.subject == ADDRESS
        if effect.active:
            assert not isinstance(effect.payload, DomainRule | ListEntry)
            view[effect.list] = effect.payload
        else:
            view.pop(effect.list)
    return view


def suppressions(state: AddressState) -> dict[ListName, Suppression | None]:
    """The suppression lists only (not the allow lists)."""
    allow = {ListName.ADDRESS_ALLOW, ListName.RECIPIENT_ALLOW}
    return {k: v for k, v in entries(state).items() if k not in allow}
