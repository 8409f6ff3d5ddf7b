"""What the API needs from the sender client and the command writer, as protocols.

The real ``SenderClient`` and ``CommandWriter`` satisfy them; tests pass an in-memory
pair that applies commands to a ``ListView`` through the worker's own pure handlers,
so every route runs without a broker and the broker tests cover the real path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from suppressor_client.decision import Decision
from suppressor_client.types import Stream
from suppressor_client.view import ListView

__all__ = ["Reader", "StalenessLike", "Writer", "WriteResultLike"]


class StalenessLike(Protocol):
    @property
    def lag(self) -> int: ...
    @property
    def seconds_since_record(self) -> float | None: ...
    @property
    def ready(self) -> bool: ...


class Reader(Protocol):
    """The sender client: a view kept from the topic, and decisions from it."""

    @property
    def view(self) -> ListView: ...

    @property
    def ready(self) -> bool: ...

    @property
    def lock(self) -> threading.Condition: ...

    def staleness(self) -> StalenessLike: ...

    def decide_many(
        self,
        account_id: str,
        addresses: Iterable[str],
        stream: Stream | str = ...,
        now: datetime | None = ...,
    ) -> list[Decision]: ...


class WriteResultLike(Protocol):
    @property
    def event_id(self) -> str: ...
    @property
    def visible(self) -> bool: ...
    @property
    def waited_s(self) -> float: ...


class Writer(Protocol):
    """The command writer: produce a command, then wait until readers see it."""

    def submit(
        self, command: Mapping[str, Any], *, wait: float | None = ...
    ) -> WriteResultLike: ...

    def submit_many(
        self,
        commands: Iterable[Mapping[str, Any]],
        *,
        wait: float | None,
        progress: Callable[[int], None] | None = ...,
    ) -> Sequence[WriteResultLike]: ...
