"""Every Prometheus metric of the worker, defined once, each with its kind and meaning.

The worker's two processes share these through prometheus-client's multiprocess mode
(each gauge says how the processes' values combine). Label values are bounded: topic
names, event types, rule and error codes, reason codes and categories. Addresses never
appear; domains only in ``ENTRIES_BY_DOMAIN``, which carries a bounded top-N
(everything else is summed under ``other``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "EVENTS_IN",
    "GATE_DECISIONS",
    "DLQ_RECORDS",
    "SUPPRESSION_CHANGES",
    "LADDER_TRANSITIONS",
    "EXPIRIES",
    "ENTRIES",
    "ENTRIES_BY_DOMAIN",
    "ENTRIES_DUE",
    "PROCESSING_LATENCY",
    "CONSUMER_LAG",
    "TABLE_KEYS",
    "WORKER_READY",
    "FRONT_READY",
    "TOP_DOMAINS",
    "UNSUBSCRIBE_CALLS",
    "WEBHOOK_CALLS",
    "WEBHOOK_EVENTS",
    "WEBHOOK_SECONDS",
    "MAIL_RECEIVED",
    "MAIL_PARSED",
    "MAIL_UNRESOLVED",
    "MAIL_REFUSED",
    "MAIL_REPORTS",
    "set_entries",
    "set_lag",
]

TOP_DOMAINS = 20
"""How many domains ``ENTRIES_BY_DOMAIN`` names; the rest are summed as ``other``."""

EVENTS_IN = Counter(
    "suppressor_events_in_total",
    "Input records read, by input topic (without prefix) and event type.",
    ["topic", "type"],
)
GATE_DECISIONS = Counter(
    "suppressor_customer_events_total",
    "Customer events through the collection gate, by outcome (accepted/rejected) and rule.",
    ["outcome", "rule"],
)
DLQ_RECORDS = Counter(
    "suppressor_dlq_records_total",
    "Input records sent to a dead-letter topic, by input topic and error code.",
    ["topic", "error"],
)
SUPPRESSION_CHANGES = Counter(
    "suppressor_suppression_changes_total",
    "Records published to the suppressions topic, by list, operation and reason code.",
    ["list", "op", "reason"],
)
LADDER_TRANSITIONS = Counter(
    "suppressor_ladder_transitions_total",
    "Bounce ladder outcomes per bounce, by classification outcome and resulting step.",
    ["outcome", "step"],
)
EXPIRIES = Counter(
    "suppressor_expiries_total",
    "Temporary entries released because their expires_at passed.",
)
ENTRIES = Gauge(
    "suppressor_entries",
    "Current suppression entries held by this worker's partitions, by reason and category.",
    ["reason", "category"],
    multiprocess_mode="livesum",
)
ENTRIES_BY_DOMAIN = Gauge(
    "suppressor_entries_by_domain",
    f"Current suppression entries of this worker by domain: the top {TOP_DOMAINS}, then other.",
    ["domain"],
    multiprocess_mode="livesum",
)
ENTRIES_DUE = Gauge(
    "suppressor_entries_due",
    "Temporary entries whose expires_at has passed but that are not yet released.",
    multiprocess_mode="livesum",
)
PROCESSING_LATENCY = Histogram(
    "suppressor_processing_latency_seconds",
    "From the input record's broker timestamp to the end of its processing, by input topic.",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CONSUMER_LAG = Gauge(
    "suppressor_consumer_lag_records",
    "Records not yet processed on this worker's assigned partitions, by topic.",
    ["topic"],
    multiprocess_mode="livesum",
)
TABLE_KEYS = Gauge(
    "suppressor_table_keys",
    "Keys held in each table on this worker's active partitions.",
    ["table"],
    multiprocess_mode="livesum",
)
FRONT_READY = Gauge(
    "suppressor_front_ready",
    "1 once the front stage (gate and routers) joined its group and holds its partitions.",
    multiprocess_mode="livemax",
)
WORKER_READY = Gauge(
    "suppressor_worker_ready",
    "1 once the worker recovered its tables and processes records, else 0.",
    multiprocess_mode="livemax",
)
WEBHOOK_CALLS = Counter(
    "suppressor_webhook_calls_total",
    "Provider webhook calls answered, by provider and outcome (accepted, ignored, bad_payload, "
    "unauthorized, forbidden, broker_unavailable, too_large, confirmed...).",
    ["provider", "outcome"],
)
WEBHOOK_EVENTS = Counter(
    "suppressor_webhook_events_total",
    "Delivery events from provider webhooks, acknowledged by Kafka, by provider and type.",
    ["provider", "type"],
)
WEBHOOK_SECONDS = Histogram(
    "suppressor_webhook_seconds",
    "Time to answer a provider webhook call, Kafka acknowledgements included, by provider.",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNSUBSCRIBE_CALLS = Counter(
    "suppressor_unsubscribe_calls_total",
    "One-click unsubscribe requests, by method (GET page, POST one-click) and outcome.",
    ["method", "outcome"],
)

# --- the bounce mail server (``suppressor mail serve``, its own process and /metrics) ---
MAIL_RECEIVED = Counter(
    "suppressor_mail_received_total",
    "Mail messages the SMTP server received in full (after DATA).",
)
MAIL_PARSED = Counter(
    "suppressor_mail_parsed_total",
    "Received messages whose every report became an event or was rightly ignored.",
)
MAIL_UNRESOLVED = Counter(
    "suppressor_mail_unresolved_total",
    "Received messages sent whole to bounce-mail.dlq, by the first error code "
    "(unparsed, no_account, no_recipient, forged_verp, invalid_address...).",
    ["error"],
)
MAIL_REFUSED = Counter(
    "suppressor_mail_refused_total",
    "SMTP commands or messages refused, by reason (relay, forged_verp, too_large, "
    "too_many_connections, kafka_unavailable).",
    ["reason"],
)
MAIL_REPORTS = Counter(
    "suppressor_mail_reports_total",
    "Recipient reports of received messages, by kind (bounce, complaint, auto_reply...) and "
    "outcome (nonexistent, condition, policy, unknown, ignored, complaint, unsubscribe).",
    ["kind", "outcome"],
)


def set_entries(totals: dict[str, int]) -> None:
    """Set the entry gauges from counters named ``c|<reason>|<category>|<domain>``."""
    by_reason: dict[tuple[str, str], int] = {}
    by_domain: dict[str, int] = {}
    for name, value in totals.items():
        _kind, reason, category, domain = name.split("|", 3)
        by_reason[reason, category] = by_reason.get((reason, category), 0) + value
        by_domain[domain] = by_domain.get(domain, 0) + value
    _set_all(ENTRIES, {labels: float(v) for labels, v in by_reason.items()})
    ranked = sorted(by_domain.items(), key=lambda item: (-item[1], item[0]))
    top: dict[tuple[str, ...], float] = {
        (domain,): float(value) for domain, value in ranked[:TOP_DOMAINS]
    }
    top["other",] = float(sum(value for _d, value in ranked[TOP_DOMAINS:]))
    _set_all(ENTRIES_BY_DOMAIN, top)


def set_lag(lag: dict[str, int]) -> None:
    """Set the lag of this process's topics; topics it no longer reads read 0."""
    _set_all(CONSUMER_LAG, {(topic,): float(value) for topic, value in lag.items()})


_shown: dict[str, set[tuple[str, ...]]] = {}


def _set_all(gauge: Gauge, values: dict[tuple[str, ...], float]) -> None:
    """Set a labelled gauge to exactly these series; ones no longer present read 0.

    Zeroing rather than removing keeps the gauge right when several processes share
    the metrics files (multiprocess mode has no way to remove a series).
    """
    shown = _shown.setdefault(gauge._name, set())  # the metric name: one entry per gauge
    for labels in shown - values.keys():
        gauge.labels(*labels).set(0)
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
    shown.update(values)
