"""One settings object, read from environment variables, with laptop-friendly defaults.

Every component (worker, tools, client, tests) takes a ``Settings`` value rather than
reading the environment itself, so a test can build one with its own topic prefix.
The configuration table in docs/operations.md is generated from ``FIELDS`` and checked by a test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from suppressor_client.config import DEFAULT_SNAPSHOT_INTERVAL, DEFAULT_SNAPSHOT_MAX_AGE

from workers.domain.ladder_state import LadderConfig

__all__ = ["Settings", "SettingsError", "parse_duration", "format_duration", "FIELDS"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class SettingsError(ValueError):
    """A setting in the environment that cannot be used; the message names the variable."""


def parse_duration(text: str) -> timedelta:
    """Parse ``90d``, ``12h``, ``30s``, ``250ms`` or plain seconds into a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 12h, 7d)")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit or "s"])


def parse_durations(text: str) -> tuple[timedelta, ...]:
    steps = tuple(parse_duration(part) for part in text.split(",") if part.strip())
    if not steps:
        raise ValueError("at least one duration is needed")
    return steps


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must be at least 0, got {value}")
    return value


def _guarantee(text: str) -> str:
    if text not in {"at_least_once", "exactly_once"}:
        raise ValueError("must be at_least_once or exactly_once")
    return text


def _policy_action(text: str) -> str:
    action = text.strip().upper()
    if action not in {"REJECT", "DEFER", "HOLD"}:
        raise ValueError("must be REJECT, DEFER or HOLD")
    return action


def _policy_account(text: str) -> str:
    if text not in {"sasl_username", "sender", "sender_domain", "map"}:
        raise ValueError("must be sasl_username, sender, sender_domain or map")
    return text


@dataclass(frozen=True, slots=True)
class _Field:
    env: str
    parse: Callable[[str], Any]
    help: str


def _setting(
    env: str, default: Any, parse: Callable[[str], Any], help: str, *, secret: bool = False
) -> Any:
    """A field bound to ``env``; a ``secret`` one is left out of the value's ``repr``."""
    return field(default=default, repr=not secret, metadata={"spec": _Field(env, parse, help)})


@dataclass(frozen=True)
class Settings:
    """Everything configurable, each field bound to one environment variable."""

    bootstrap_servers: str = _setting(
        "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", str, "Kafka brokers, host:port[,host:port]"
    )
    topic_prefix: str = _setting(
        "SUPPRESSOR_TOPIC_PREFIX", "", str, "Prefix for every topic name (tests use one per test)"
    )
    app_id: str = _setting(
        "SUPPRESSOR_APP_ID", "suppressor", str, "faust app id: consumer group and changelog names"
    )
    partitions: int = _setting(
        "SUPPRESSOR_PARTITIONS", 4, _positive_int, "Partitions of every topic the project creates"
    )
    replication: int = _setting(
        "SUPPRESSOR_REPLICATION", 1, _positive_int, "Replication factor of the project's topics"
    )
    data_dir: Path = _setting(
        "SUPPRESSOR_DATA_DIR", Path(".data/worker"), Path, "Where the worker keeps RocksDB tables"
    )
    processing_guarantee: str = _setting(
        "SUPPRESSOR_PROCESSING_GUARANTEE",
        "at_least_once",
        _guarantee,
        "faust processing guarantee (outputs are idempotent by key and version either way)",
    )
    session_timeout: timedelta = _setting(
        "SUPPRESSOR_SESSION_TIMEOUT",
        timedelta(seconds=10),
        parse_duration,
        "How long a silent worker keeps its partitions before the group hands them on",
    )
    metrics_port: int = _setting(
        "SUPPRESSOR_METRICS_PORT", 9464, int, "Port of the worker's Prometheus /metrics (0: off)"
    )
    default_domain_pool: str = _setting(
        "SUPPRESSOR_DEFAULT_DOMAIN_POOL",
        "allegro.pl:send,allegromail.pl:send,allegro.com:send+collection",
        str,
        "Domain rules a new account starts with (domain:send, :collection or :send+collection)",
    )
    ladder_steps: tuple[timedelta, ...] = _setting(
        "SUPPRESSOR_LADDER_STEPS",
        (timedelta(days=7), timedelta(days=14), timedelta(days=28)),
        parse_durations,
        "Temporary block durations of consecutive condition bounces; the next one is permanent",
    )
    quiet_period: timedelta = _setting(
        "SUPPRESSOR_QUIET_PERIOD",
        timedelta(days=90),
        parse_duration,
        "Time since the last counted bounce after which the streak starts again",
    )
    expiry_interval: timedelta = _setting(
        "SUPPRESSOR_EXPIRY_INTERVAL",
        timedelta(seconds=1),
        parse_duration,
        "How often the worker releases temporary entries that have expired",
    )
    max_record_bytes: int = _setting(
        "SUPPRESSOR_MAX_RECORD_BYTES",
        65536,
        _positive_int,
        "Larger input records go to the DLQ as too_large",
    )
    api_host: str = _setting("SUPPRESSOR_API_HOST", "127.0.0.1", str, "HTTP API listen address")
    api_port: int = _setting("SUPPRESSOR_API_PORT", 8080, int, "HTTP API port")
    import_stream_max_bytes: int = _setting(
        "SUPPRESSOR_IMPORT_STREAM_MAX_BYTES",
        256 * 1024 * 1024,
        _positive_int,
        "Body bound of the streamed HTTP import (POST .../import/stream), in bytes",
    )
    import_window_rows: int = _setting(
        "SUPPRESSOR_IMPORT_WINDOW_ROWS",
        10_000,
        _positive_int,
        "Rows an import may have written and not yet visible: what bounces and commands on "
        "the same worker may queue behind",
    )
    api_keys: str = _setting(
        "SUPPRESSOR_API_KEYS",
        "",
        str,
        "Per-account API keys as account:sha256-hex pairs, comma-separated",
    )
    webhook_ses_topics: str = _setting(
        "SUPPRESSOR_WEBHOOK_SES_TOPICS",
        "",
        str,
        "SES webhooks: account=SNS-topic-ARN pairs (ARNs space-separated); '*' for any account",
    )
    webhook_sendgrid_keys: str = _setting(
        "SUPPRESSOR_WEBHOOK_SENDGRID_KEYS",
        "",
        str,
        "SendGrid webhooks: account=verification-key (base64) pairs; '*' for any account",
        secret=True,
    )
    webhook_mailgun_keys: str = _setting(
        "SUPPRESSOR_WEBHOOK_MAILGUN_KEYS",
        "",
        str,
        "Mailgun webhooks: account=webhook-signing-key pairs; '*' for any account",
        secret=True,
    )
    webhook_postmark_credentials: str = _setting(
        "SUPPRESSOR_WEBHOOK_POSTMARK_CREDENTIALS",
        "",
        str,
        "Postmark webhooks: account=user:password (Basic auth) pairs; '*' for any account",
        secret=True,
    )
    webhook_sparkpost_credentials: str = _setting(
        "SUPPRESSOR_WEBHOOK_SPARKPOST_CREDENTIALS",
        "",
        str,
        "SparkPost webhooks: account=user:password (Basic) or account=auth-token pairs",
        secret=True,
    )
    webhook_account_field: str = _setting(
        "SUPPRESSOR_WEBHOOK_ACCOUNT_FIELD",
        "account_id",
        str,
        "Metadata field (SES tag, custom arg, user variable...) naming the account",
    )
    webhook_delivery_field: str = _setting(
        "SUPPRESSOR_WEBHOOK_DELIVERY_FIELD",
        "delivery_id",
        str,
        "Metadata field naming the platform's delivery id (else the provider's message id)",
    )
    webhook_stream_field: str = _setting(
        "SUPPRESSOR_WEBHOOK_STREAM_FIELD",
        "stream",
        str,
        "Metadata field naming the stream (marketing or transactional; default marketing)",
    )
    webhook_max_age: timedelta = _setting(
        "SUPPRESSOR_WEBHOOK_MAX_AGE",
        timedelta(minutes=5),
        parse_duration,
        "Signed webhook timestamps (SendGrid, Mailgun) older than this are refused",
    )
    webhook_max_body_bytes: int = _setting(
        "SUPPRESSOR_WEBHOOK_MAX_BODY_BYTES",
        2 * 1024 * 1024,
        _positive_int,
        "Larger webhook bodies are refused (413)",
    )
    webhook_ack_timeout: timedelta = _setting(
        "SUPPRESSOR_WEBHOOK_ACK_TIMEOUT",
        timedelta(seconds=10),
        parse_duration,
        "How long a webhook call waits for Kafka to acknowledge its events before a 503",
    )
    unsubscribe_keys: str = _setting(
        "SUPPRESSOR_UNSUBSCRIBE_KEYS",
        "",
        str,
        "One-click unsubscribe token keys as id=secret pairs; the first signs new links",
        secret=True,
    )
    unsubscribe_base_url: str = _setting(
        "SUPPRESSOR_UNSUBSCRIBE_BASE_URL",
        "http://127.0.0.1:8080",
        str,
        "Public base URL of the API for unsubscribe links (https in production)",
    )
    unsubscribe_mailto: str = _setting(
        "SUPPRESSOR_UNSUBSCRIBE_MAILTO",
        "",
        str,
        "Optional mailto address added to List-Unsubscribe",
    )
    unsubscribe_max_age: timedelta = _setting(
        "SUPPRESSOR_UNSUBSCRIBE_MAX_AGE",
        timedelta(days=400),
        parse_duration,
        "How long an unsubscribe link keeps working after it was issued",
    )
    mail_host: str = _setting(
        "SUPPRESSOR_MAIL_HOST", "127.0.0.1", str, "Listen address of `suppressor mail serve` (SMTP)"
    )
    mail_port: int = _setting("SUPPRESSOR_MAIL_PORT", 2525, int, "SMTP port of the bounce server")
    mail_domains: str = _setting(
        "SUPPRESSOR_MAIL_DOMAINS",
        "",
        str,
        "Bounce domains the SMTP server accepts mail for, comma-separated (empty: the VERP "
        "template's domain); every other domain is refused as relaying",
    )
    mail_verp_template: str = _setting(
        "SUPPRESSOR_MAIL_VERP_TEMPLATE",
        "",
        str,
        "Return-path template, e.g. b+{account}.{delivery}.{tag}@bounces.example.com (empty: off)",
    )
    mail_verp_secret: str = _setting(
        "SUPPRESSOR_MAIL_VERP_SECRET",
        "",
        str,
        "HMAC secret of the VERP {tag} (needed with a template)",
    )
    mail_account_header: str = _setting(
        "SUPPRESSOR_MAIL_ACCOUNT_HEADER",
        "X-Suppressor-Account",
        str,
        "Header of the returned original that names the account when there is no VERP path",
    )
    mail_delivery_header: str = _setting(
        "SUPPRESSOR_MAIL_DELIVERY_HEADER",
        "X-Suppressor-Delivery",
        str,
        "Header of the returned original that names the delivery id when there is no VERP path",
    )
    mail_stream_header: str = _setting(
        "SUPPRESSOR_MAIL_STREAM_HEADER",
        "X-Suppressor-Stream",
        str,
        "Header of the returned original that names the stream (marketing or transactional) "
        "of the events a bounce makes (empty: they name none)",
    )
    mail_default_account: str = _setting(
        "SUPPRESSOR_MAIL_DEFAULT_ACCOUNT",
        "",
        str,
        "Account of bounces that name none (empty: such bounces go to bounce-mail.dlq)",
    )
    mail_max_bytes: int = _setting(
        "SUPPRESSOR_MAIL_MAX_BYTES",
        10_485_760,
        _positive_int,
        "Largest message the SMTP server takes (SIZE; larger ones get 552)",
    )
    mail_max_connections: int = _setting(
        "SUPPRESSOR_MAIL_MAX_CONNECTIONS",
        100,
        _positive_int,
        "SMTP connections served at once; more get 421 and are closed",
    )
    mail_tls_cert: str = _setting(
        "SUPPRESSOR_MAIL_TLS_CERT", "", str, "PEM certificate for STARTTLS (empty: no STARTTLS)"
    )
    mail_tls_key: str = _setting(
        "SUPPRESSOR_MAIL_TLS_KEY", "", str, "PEM private key of the STARTTLS certificate"
    )
    mail_ack_timeout: timedelta = _setting(
        "SUPPRESSOR_MAIL_ACK_TIMEOUT",
        timedelta(seconds=15),
        parse_duration,
        "How long the SMTP server waits for Kafka's acknowledgement before answering 451",
    )
    mail_metrics_port: int = _setting(
        "SUPPRESSOR_MAIL_METRICS_PORT", 9465, int, "Port of the SMTP server's /metrics (0: off)"
    )
    local_kafka_version: str = _setting(
        "SUPPRESSOR_KAFKA_VERSION", "3.9.1", str, "Apache Kafka version of the local broker"
    )
    local_kafka_port: int = _setting(
        "SUPPRESSOR_LOCAL_KAFKA_PORT", 9092, int, "Port of the local broker (controller: +1)"
    )
    cache_dir: Path = _setting(
        "SUPPRESSOR_CACHE_DIR",
        Path(".cache"),
        Path,
        "Git-ignored cache: Kafka jars and the local broker's data and logs",
    )
    log_level: str = _setting("SUPPRESSOR_LOG_LEVEL", "info", str, "Log level of the worker")
    snapshot_path: str = _setting(
        "SUPPRESSOR_SNAPSHOT_PATH",
        "",
        str,
        "File where a decide-only sender keeps its view between restarts (empty: none)",
    )
    snapshot_interval: timedelta = _setting(
        "SUPPRESSOR_SNAPSHOT_INTERVAL",
        DEFAULT_SNAPSHOT_INTERVAL,
        parse_duration,
        "How often a sender with a snapshot file writes it again",
    )
    snapshot_max_age: timedelta = _setting(
        "SUPPRESSOR_SNAPSHOT_MAX_AGE",
        DEFAULT_SNAPSHOT_MAX_AGE,
        parse_duration,
        "An older snapshot is not used (below the topic's 1d delete.retention.ms)",
    )
    cold_start_processes: int = _setting(
        "SUPPRESSOR_COLD_START_PROCESSES",
        0,
        _non_negative_int,
        "Processes reading a decide-only sender's topic when it starts without a snapshot "
        "(0: two, one on a single core; 1: off)",
    )
    policy_host: str = _setting(
        "SUPPRESSOR_POLICY_HOST", "127.0.0.1", str, "Listen address of suppressor policy"
    )
    policy_port: int = _setting(
        "SUPPRESSOR_POLICY_PORT", 10040, int, "Port of the Postfix policy delegation service"
    )
    policy_http_port: int = _setting(
        "SUPPRESSOR_POLICY_HTTP_PORT", 10041, int, "Port of the policy's local HTTP decide (0: off)"
    )
    policy_action: str = _setting(
        "SUPPRESSOR_POLICY_ACTION",
        "REJECT",
        _policy_action,
        "What the policy answers for a suppressed recipient: REJECT, DEFER or HOLD",
    )
    policy_account: str = _setting(
        "SUPPRESSOR_POLICY_ACCOUNT",
        "sasl_username",
        _policy_account,
        "Where the policy reads the account: sasl_username, sender, sender_domain or map",
    )
    policy_account_map: str = _setting(
        "SUPPRESSOR_POLICY_ACCOUNT_MAP",
        "",
        str,
        "With policy account map: sender domains or logins to accounts, key=account,...",
    )
    policy_stream: str = _setting(
        "SUPPRESSOR_POLICY_STREAM",
        "marketing",
        str,
        "Stream the policy decides for (marketing, transactional)",
    )
    policy_max_connections: int = _setting(
        "SUPPRESSOR_POLICY_MAX_CONNECTIONS",
        200,
        _positive_int,
        "Connections the policy serves at once; one more is closed (Postfix then defers)",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every field from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            spec: _Field = f.metadata["spec"]
            raw = env.get(spec.env)
            if raw is None:
                continue
            try:
                values[f.name] = spec.parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{spec.env}={raw!r}: {exc}") from exc
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, the demo)."""
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment variables that make ``from_env`` rebuild exactly this value."""
        return {f.metadata["spec"].env: _show(getattr(self, f.name)) for f in fields(self)}

    def ladder(self) -> LadderConfig:
        """The bounce ladder these settings configure (the state bounds keep their defaults)."""
        return LadderConfig(steps=self.ladder_steps, quiet_period=self.quiet_period)

    def topic(self, name: str) -> str:
        """The real name of one of the product's topics, with the configured prefix."""
        return f"{self.topic_prefix}{name}"


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration in the units ``parse_duration`` reads."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m", "s"):
        count = seconds / _UNIT_SECONDS[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{round(seconds * 1000)}ms"


def _show(value: Any) -> str:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return ",".join(_show(v) for v in value)
    return str(value)


FIELDS: tuple[tuple[str, str, str], ...] = tuple(
    (f.metadata["spec"].env, _show(f.default), f.metadata["spec"].help) for f in fields(Settings)
)
"""(variable, default, meaning) rows for the configuration table in docs/operations.md."""
