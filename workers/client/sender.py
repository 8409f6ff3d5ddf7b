"""The worker's view of the sender library: ``suppressor_client.SenderClient`` built from settings.

The library itself (``clients/python``, distribution ``suppressor-client``) takes a
``ClientConfig``; the worker, its API and its tools hold one ``Settings`` value, so this
adapter maps the one onto the other and keeps the settings at hand for the command writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

from suppressor_client.config import ClientConfig
from suppressor_client.feed import FeedError
from suppressor_client.sender import DECISION_LISTS, SenderOptions, Staleness
from suppressor_client.sender import SenderClient as _LibraryClient

from workers.kafka.topics import SUPPRESSIONS
from workers.settings import Settings

__all__ = ["DECISION_LISTS", "FeedError", "SenderClient", "Staleness", "client_config"]


def client_config(settings: Settings) -> ClientConfig:
    """The library's configuration from the worker's settings."""
    return ClientConfig(
        bootstrap_servers=settings.bootstrap_servers,
        topic=settings.topic(SUPPRESSIONS),
        snapshot_path=Path(settings.snapshot_path) if settings.snapshot_path else None,
        snapshot_interval=settings.snapshot_interval,
        snapshot_max_age=settings.snapshot_max_age,
        cold_start_processes=settings.cold_start_processes,
    )


class SenderClient(_LibraryClient):
    """``suppressor_client.SenderClient`` configured from ``Settings``."""

    def __init__(self, settings: Settings, **options: Unpack[SenderOptions]) -> None:
        super().__init__(client_config(settings), **options)
        self.settings = settings
