"""The product's topics (SPEC §2-3) and one idempotent command that creates them.

Faust creates its own internal topics (changelogs, repartition topics); this module owns
the topics other systems read or write, so their configuration is explicit and reviewed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from workers.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "CUSTOMER_EVENTS",
    "DELIVERY_EVENTS",
    "COMMANDS",
    "ACCEPTED",
    "REJECTED",
    "SUPPRESSIONS",
    "WEBHOOKS_DLQ",
    "BOUNCE_MAIL_DLQ",
    "BOUNCE_MAIL_DLQ_MAX_BYTES",
    "INPUTS",
    "ADDRESS_OPS",
    "ACCOUNT_OPS",
    "ADDRESS_TABLE",
    "ACCOUNT_TABLE",
    "EXPIRY_TABLE",
    "COUNTS_TABLE",
    "ops_specs",
    "ops_topic",
    "changelog_topic",
    "partition_count",
    "TopicMismatch",
    "TopicSpec",
    "TopicReport",
    "topic_specs",
    "dlq_of",
    "create_missing",
    "ensure_ops_topics",
    "ensure_topics",
    "admin_client",
    "wait_visible",
]

CUSTOMER_EVENTS = "customer-events"
DELIVERY_EVENTS = "delivery-events"
COMMANDS = "suppression-commands"
ACCEPTED = "customer-events.accepted"
REJECTED = "customer-events.rejected"
SUPPRESSIONS = "suppressions"
WEBHOOKS_DLQ = "webhooks.dlq"
"""Provider webhook bodies the API could not understand, with the reason (not an input's DLQ)."""
BOUNCE_MAIL_DLQ = "bounce-mail.dlq"  # bounce and complaint mail that could not become events
BOUNCE_MAIL_DLQ_MAX_BYTES = 16 * 1024 * 1024
"""Largest record on ``bounce-mail.dlq`` (the topic's ``max.message.bytes``): a 10 MiB
mail in base64 with its envelope fits; a larger one is cut and says so."""
INPUTS = (CUSTOMER_EVENTS, DELIVERY_EVENTS, COMMANDS)

# The keyed stage's internal topics: the front stage re-keys delivery events and commands
# onto them (by account and address, or by account) for the faust agents.
ADDRESS_OPS = "address-ops"
ACCOUNT_OPS = "account-ops"

# The keyed stage's RocksDB tables (faust names their changelogs: ``changelog_topic``).
ADDRESS_TABLE = "address-state"
ACCOUNT_TABLE = "account-state"
EXPIRY_TABLE = "expiry-index"
COUNTS_TABLE = "entry-counts"

_DAY_MS = 24 * 3600 * 1000


def ops_topic(settings: Settings, name: str) -> str:
    """The real name of an internal ops topic (shared by the front stage and the faust app)."""
    return f"{settings.app_id}-{name}"


def changelog_topic(settings: Settings, table: str) -> str:
    """The changelog of one of the keyed stage's tables, as faust names it."""
    return f"{settings.app_id}-{table}-changelog"


def dlq_of(input_topic: str) -> str:
    """Dead-letter topic of an input topic (SPEC §3: ``<input>.dlq``)."""
    return f"{input_topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class TopicReport:
    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # found, but with other settings


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic with its configuration, names prefixed as the settings say."""
    n, r = settings.partitions, settings.replication
    specs = [TopicSpec(settings.topic(name), n, r) for name in (*INPUTS, ACCEPTED, REJECTED)]
    specs.append(
        TopicSpec(
            settings.topic(SUPPRESSIONS),
            n,
            r,
            {
                # One record per (account, list, subject) survives: senders rebuild from it.
                "cleanup.policy": "compact",
                # Tombstones stay a day, so a sender that was away for hours still sees releases.
                "delete.retention.ms": str(_DAY_MS),
                "min.compaction.lag.ms": "60000",
                "segment.ms": str(_DAY_MS),
                "min.cleanable.dirty.ratio": "0.25",
            },
        )
    )
    specs.extend(
        TopicSpec(settings.topic(dlq_of(name)), n, r, {"retention.ms": str(30 * _DAY_MS)})
        for name in INPUTS
    )
    specs.append(TopicSpec(settings.topic(WEBHOOKS_DLQ), n, r, {"retention.ms": str(30 * _DAY_MS)}))
    specs.append(
        TopicSpec(
            settings.topic(BOUNCE_MAIL_DLQ),
            n,
            r,
            # Whole raw mails (base64): up to a 10 MiB message with its record around it.
            {
                "retention.ms": str(30 * _DAY_MS),
                "max.message.bytes": str(BOUNCE_MAIL_DLQ_MAX_BYTES),
            },
        )
    )
    return specs


def create_missing(admin: AdminClient, specs: list[TopicSpec], timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; returns the names created (races are fine)."""
    existing = admin.list_topics(timeout=timeout).topics
    missing = [s for s in specs if s.name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, s.partitions, s.replication, config=s.config) for s in missing],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # a concurrent creator won
                raise
            continue
        created.append(name)
    return created


def partition_count(client: Any, topic: str, wait: float, *, min_request: float = 0.1) -> int:
    """A topic's partition count, read until the metadata shows one or ``wait`` ran out
    (a topic just created can show none for a while, and murmur2 over 0 raises).

    ``client`` is a producer or admin client (``list_topics``); each read waits what is
    left of ``wait``, at least ``min_request``. Raises ``RuntimeError`` when no partition
    showed, so a caller fails loudly or falls back, never partitions by 0.
    """
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        try:
            meta = client.list_topics(topic, timeout=max(min_request, remaining)).topics.get(topic)
            count = len(meta.partitions) if meta is not None else 0
        except KafkaException as exc:
            log.info("metadata of %s not read yet: %s", topic, exc)
            count = 0
        if count > 0:
            return count
        if time.monotonic() >= deadline:
            raise RuntimeError(f"{topic} shows no partitions after {wait:.0f} s")
        log.info("%s shows no partitions yet; reading its metadata again", topic)
        time.sleep(0.5)


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})


def ensure_topics(
    settings: Settings, say: Callable[[str], None] = print, timeout: float = 30.0
) -> TopicReport:
    """Create every missing topic; report what was created and what was already there.

    Returns once the broker's metadata shows the created topics whole: a client that
    starts right after (a sender's feed, a test) must not find them missing.
    """
    admin = admin_client(settings)
    existing = admin.list_topics(timeout=timeout).topics
    report = TopicReport()
    missing: list[TopicSpec] = []
    for spec in topic_specs(settings):
        meta = existing.get(spec.name)
        if meta is None:
            missing.append(spec)
            continue
        report.found.append(spec.name)
        if len(meta.partitions) != spec.partitions:
            report.mismatched.append(spec.name)
            say(
                f"found  {spec.name} with {len(meta.partitions)} partitions "
                f"(settings say {spec.partitions}; left as it is)"
            )
        else:
            say(f"found  {spec.name}")
    created = set(create_missing(admin, missing, timeout)) if missing else set()
    for spec in missing:
        if spec.name in created:
            report.created.append(spec.name)
            say(f"created {spec.name}")
        else:
            report.found.append(spec.name)
            say(f"found  {spec.name}")
    if created:
        wait_visible(settings, timeout, [spec for spec in missing if spec.name in created])
    return report


def ops_specs(settings: Settings) -> list[TopicSpec]:
    """The keyed stage's internal ops topics (faust's app and the front stage share them)."""
    return [
        TopicSpec(ops_topic(settings, name), settings.partitions, settings.replication)
        for name in (ADDRESS_OPS, ACCOUNT_OPS)
    ]


def ensure_ops_topics(settings: Settings, timeout: float = 30.0) -> None:
    """Create the ops topics if needed and wait until the metadata shows them whole.

    Run before the faust worker joins its group: faust declares them itself only as its
    agents start, and a consumer whose first metadata lacks them is assigned none of
    their partitions until its next metadata refresh (aiokafka ignores a missing topic;
    seen: a keyed stage that stood idle for five minutes while the front stage filled
    the ops topics).
    """
    specs = ops_specs(settings)
    admin = admin_client(settings)
    create_missing(admin, specs, timeout)
    found = admin.list_topics(timeout=timeout).topics
    for spec in specs:
        meta = found.get(spec.name)
        if meta is not None and meta.error is None and 0 < len(meta.partitions) != spec.partitions:
            raise TopicMismatch(
                f"{spec.name} has {len(meta.partitions)} partitions, the settings say "
                f"{spec.partitions} (SUPPRESSOR_PARTITIONS): the keyed stage's tables are "
                "kept per partition, so set it back, or re-partition with a new app id"
            )
    wait_visible(settings, timeout, specs)


class TopicMismatch(RuntimeError):
    """An existing topic does not match the settings; waiting will not change that."""


def wait_visible(
    settings: Settings, timeout: float = 30.0, specs: list[TopicSpec] | None = None
) -> None:
    """Wait until the broker's metadata shows every topic (of ``specs``, else the
    product's) with all its partitions.

    A topic just created can be missing from a busy broker's metadata for a moment; a
    faust worker that joins its group then is assigned nothing of it, and never reads it
    until the next rebalance (seen on a loaded machine: the keyed stage stood idle). So
    every partition must also have a leader: aiokafka leaves out those that have none.
    """
    admin = admin_client(settings)
    wanted = {spec.name: spec.partitions for spec in specs or topic_specs(settings)}
    deadline = time.monotonic() + timeout
    while True:
        found = admin.list_topics(timeout=timeout).topics
        if all(_ready(found.get(name), n) for name, n in wanted.items()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible after {timeout:.0f}s")
        time.sleep(0.2)


def _ready(meta: Any, partitions: int) -> bool:
    """A topic's metadata with all its partitions, each with a leader and no error."""
    if meta is None or meta.error is not None or len(meta.partitions) < partitions:
        return False
    return all(p.leader >= 0 and p.error is None for p in meta.partitions.values())
