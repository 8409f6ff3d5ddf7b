"""suppressor-client: a sender's local copy of the suppression lists, and the send decision.

A sender builds one ``SenderClient`` from a ``ClientConfig``, starts it, and asks
``decide`` or ``decide_many`` locally, in microseconds, with no call to any service.
The same modules are the worker's own (normalisation, the record codec, the view, the
decision, the URI check), so a sender and the worker can never disagree. Reference:
``docs/senders.md``.
"""

from suppressor_client.compact_view import CompactView
from suppressor_client.config import ClientConfig
from suppressor_client.decision import RULES, Decision, decide, decide_many
from suppressor_client.feed import FeedError, SuppressionFeed
from suppressor_client.sender import DECISION_LISTS, SenderClient, Staleness
from suppressor_client.snapshot import SnapshotCorrupt, SnapshotError, SnapshotMismatch
from suppressor_client.types import PLATFORM_ACCOUNT, ListName, Reason, Stream
from suppressor_client.uri import UriCheck, check_body
from suppressor_client.view import ListView

__all__ = [
    "DECISION_LISTS",
    "PLATFORM_ACCOUNT",
    "RULES",
    "ClientConfig",
    "CompactView",
    "Decision",
    "FeedError",
    "ListName",
    "ListView",
    "Reason",
    "SenderClient",
    "SnapshotCorrupt",
    "SnapshotError",
    "SnapshotMismatch",
    "Staleness",
    "Stream",
    "SuppressionFeed",
    "UriCheck",
    "check_body",
    "decide",
    "decide_many",
]
