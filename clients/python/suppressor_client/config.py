"""Where a sender reads from and how it keeps its snapshot: the client's whole configuration.

The client takes these values as arguments (a sender has its own configuration system);
the worker's settings (``SUPPRESSOR_*`` variables) build one from the environment and
take their defaults from here, so each default is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

__all__ = [
    "DEFAULT_SNAPSHOT_INTERVAL",
    "DEFAULT_SNAPSHOT_MAX_AGE",
    "DEFAULT_TOPIC",
    "ClientConfig",
]

DEFAULT_TOPIC = "suppressions"
DEFAULT_SNAPSHOT_INTERVAL = timedelta(minutes=5)
DEFAULT_SNAPSHOT_MAX_AGE = timedelta(hours=12)
"""Below the topic's ``delete.retention.ms`` (a day): an older snapshot may miss a release."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The brokers, the topic, the snapshot file (None: no snapshot), and how many
    processes read a compact view's cold start (0: two, or one on a single core; 1: off)."""

    bootstrap_servers: str
    topic: str = DEFAULT_TOPIC
    snapshot_path: Path | None = None
    snapshot_interval: timedelta = DEFAULT_SNAPSHOT_INTERVAL
    snapshot_max_age: timedelta = DEFAULT_SNAPSHOT_MAX_AGE
    cold_start_processes: int = 0
