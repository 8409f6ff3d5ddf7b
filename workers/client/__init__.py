"""The sender client library: the suppressions topic as a local view, and command writes.

Importing it never imports faust (a sender process must stay small).
"""

from workers.client.commands import CommandError, CommandWriter, WriteResult, effect_visible
from workers.client.sender import FeedError, SenderClient, Staleness

__all__ = [
    "CommandError",
    "CommandWriter",
    "FeedError",
    "SenderClient",
    "Staleness",
    "WriteResult",
    "effect_visible",
]
