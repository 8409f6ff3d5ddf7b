"""``suppressor demo``: the whole product on one laptop, explained as it runs.

Starts the local broker if none answers, creates a fresh set of topics, starts a worker
with short ladder durations, sends a scripted scenario that touches every rule plus a
background load, then reads what came out and prints it: the gate's verdicts, the
suppression records, the DLQ, a few send decisions with their rule and reason, and a
temporary entry being released when it expires.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka.admin import AdminClient
from suppressor_client.decision import decide
from suppressor_client.feed import SuppressionFeed
from suppressor_client.records import decode_key
from suppressor_client.types import ListName, Stream

from workers.devkit import loadgen
from workers.devkit.loadgen import bounce, command, customer_event, delivery
from workers.devkit.local_broker import BrokerError, LocalBroker, broker_answers
from workers.devkit.net_ports import free_port
from workers.devkit.worker_process import WorkerExited, WorkerProcess
from workers.kafka.topics import (
    ACCEPTED,
    COMMANDS,
    CUSTOMER_EVENTS,
    DELIVERY_EVENTS,
    REJECTED,
    SUPPRESSIONS,
    dlq_of,
    ensure_topics,
    topic_specs,
)
from workers.settings import Settings, parse_durations

__all__ = ["run_demo"]

TEMP_STEPS = "15s,30s,60s"
ACME, GLOBEX = "acme", "globex"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _broker(settings: Settings) -> tuple[str, LocalBroker | None]:
    """A broker that answers: the configured one, else a local one started here."""
    if broker_answers(settings.bootstrap_servers):
        _say(f"- using the Kafka broker at {settings.bootstrap_servers}")
        return settings.bootstrap_servers, None
    _say(f"- no broker answers at {settings.bootstrap_servers}: starting the local one")
    broker = LocalBroker.from_settings(settings, say=lambda line: _say(f"  {line}"))
    return broker.start(), broker


def _scenario(now: datetime) -> dict[str, list[Any]]:
    """The scripted input: every rule of SPEC §5-7 at least once."""
    ago = now - timedelta(minutes=5)
    bad = [
        b"{not json",
        orjson.dumps(delivery(ACME, "not-an-address", "bounce", smtp_status="5.1.1")),
        orjson.dumps({"event_id": "x", "account_id": ACME, "occurred_at": "2026-01-01T00:00:00Z"}),
    ]
    return {
        COMMANDS: [
            command(ACME, "account.create"),
            command(GLOBEX, "account.create"),
            command(ACME, "domain.rule.set", domain="bots.example", collection_block=True),
            command(
                "*",
                "domain.rule.set",
                domain="*.throwaway.example",
                send_block=True,
                collection_block=True,
                notes="platform-wide: disposable addresses",
            ),
            command(GLOBEX, "domain.allow.add", domain="gmail.com"),
            command(GLOBEX, "address.allow", email="ceo@partner.example"),
            command(ACME, "allowlist.add", email="qa@acme.example"),
            command(ACME, "address.block", email="angry@gmail.com", notes="asked by phone"),
            b"[1, 2, 3]",
        ],
        CUSTOMER_EVENTS: [
            customer_event(ACME, "jane@gmail.com", "storefront"),
            customer_event(ACME, "buyer@allegro.com", "storefront"),
            customer_event(ACME, "buyer@allegro.com", "import"),
            customer_event(ACME, "bot1@bots.example", "popup"),
            customer_event(ACME, "bot2@bots.example", "api"),
            customer_event(GLOBEX, "x@mail.throwaway.example", "api"),
            customer_event(GLOBEX, "anna@gmail.com", "popup"),
        ],
        DELIVERY_EVENTS: [
            bounce(ACME, "gone@gmail.com", "nonexistent", when=ago),
            bounce(ACME, "full@yahoo.com", "condition", when=now),
            bounce(ACME, "spamblocked@outlook.com", "policy", when=ago),
            bounce(ACME, "mystery@example.org", "unknown", when=ago),
            delivery(ACME, "hater@gmail.com", "complaint", when=ago, feedback_type="abuse"),
            delivery(ACME, "bye@gmail.com", "unsubscribe", when=ago),
            delivery(ACME, "oneclick@gmail.com", "list_unsubscribe", when=ago),
            delivery(ACME, "abuse@yahoo.com", "abuse", when=ago),
            bounce(ACME, "qa@acme.example", "nonexistent", when=ago),
            *bad,
        ],
    }


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def _count(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "demo-count", "log_level": 0})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        )
    finally:
        consumer.close()


def _read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    from confluent_kafka import Consumer, TopicPartition

    total = _count(bootstrap, topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "demo-read", "log_level": 0})
    out: list[tuple[bytes | None, bytes | None]] = []
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        deadline = time.monotonic() + 30
        while len(out) < total and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error() is None:
                    out.append((msg.key(), msg.value()))
    finally:
        consumer.close()
    return out


def run_demo(base: Settings, *, events: int, keep_running: bool) -> int:
    """Run the demo; returns the exit code."""
    stamp = datetime.now(UTC).strftime("%H%M%S")
    _say("Suppressor demo")
    _say("===============")
    try:
        bootstrap, local = _broker(base)
    except BrokerError as exc:
        _say(f"error: {exc}")
        return 1
    settings = base.with_(
        bootstrap_servers=bootstrap,
        topic_prefix=base.topic_prefix or f"demo{stamp}.",
        app_id=f"{base.app_id}-demo{stamp}",
        data_dir=base.data_dir / f"demo{stamp}",
        ladder_steps=parse_durations(TEMP_STEPS),
    )
    _say(f"- creating topics with prefix {settings.topic_prefix!r}")
    report = ensure_topics(settings, say=lambda _line: None)
    _say(f"  {len(report.created)} created, {len(report.found)} already there")
    log_path = settings.data_dir.parent / f"demo{stamp}-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _say(f"- starting a worker (ladder steps {TEMP_STEPS}; log: {log_path})")
    worker = WorkerProcess(settings, log_path)
    try:
        worker.start(timeout=120)
        _say(f"  ready; metrics on http://127.0.0.1:{settings.metrics_port}/metrics")
        return _play(settings, events)
    except (TimeoutError, WorkerExited) as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        if keep_running and worker.proc is not None:
            pid = worker.proc.pid
            _say(f"- worker left running (pid {pid}); stop it with: kill {pid}")
        else:
            worker.stop()
            _delete_topics(settings)
            if local is not None:
                local.stop()


def _delete_topics(settings: Settings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    names = [spec.name for spec in topic_specs(settings)]
    for future in admin.delete_topics(names, operation_timeout=30).values():
        try:
            future.result(timeout=30)
        except Exception:
            continue
    _say(f"- demo topics deleted ({len(names)})")


def _play(settings: Settings, events: int) -> int:
    bootstrap = settings.bootstrap_servers
    t = settings.topic
    scenario = _scenario(datetime.now(UTC))
    _say("- sending the scenario: account set-up and rules first")
    loadgen.produce_all(bootstrap, t(COMMANDS), scenario[COMMANDS])
    feed = SuppressionFeed(bootstrap, t(SUPPRESSIONS)).start()
    try:
        _wait(lambda: feed.view.account_lists("*") is not None, 30, "the platform-wide rule")
        _wait(lambda: feed.view.account_lists(GLOBEX) is not None, 30, "globex's domain rules")
        time.sleep(3.0)  # the worker's gate reads the same rules from the same topic
        _say(f"- then customer events, delivery events and {events} background customer events")
        loadgen.produce_all(bootstrap, t(CUSTOMER_EVENTS), scenario[CUSTOMER_EVENTS])
        loadgen.produce_all(bootstrap, t(DELIVERY_EVENTS), scenario[DELIVERY_EVENTS])
        load = loadgen.produce_all(
            bootstrap, t(CUSTOMER_EVENTS), loadgen.mixed_customer_events(events)
        )
        _say(f"  background load: {load.sent} events in {load.seconds:.1f}s")
        expected = len(scenario[CUSTOMER_EVENTS]) + events
        _wait(
            lambda: _count(bootstrap, t(ACCEPTED)) + _count(bootstrap, t(REJECTED)) >= expected,
            120,
            "the gate to handle every customer event",
        )
        _wait(lambda: feed.view.stats().get("unsubscribe", 0) >= 2, 60, "the delivery events")
        time.sleep(1.0)
        _summary(settings, feed)
        _mail(settings, feed)
        _expiry(settings, feed)
    finally:
        feed.stop()
    return 0


def _summary(settings: Settings, feed: SuppressionFeed) -> None:
    bootstrap, t = settings.bootstrap_servers, settings.topic
    _say()
    _say("What came out")
    _say("-------------")
    accepted = _count(bootstrap, t(ACCEPTED))
    rejected = _read_all(bootstrap, t(REJECTED))
    rules = Counter(orjson.loads(v)["rule"] for _k, v in rejected if v)
    _say(f"customer events accepted: {accepted}; rejected: {len(rejected)} {dict(rules)}")
    for name in (CUSTOMER_EVENTS, DELIVERY_EVENTS, COMMANDS):
        dlq = _read_all(bootstrap, t(dlq_of(name)))
        codes = Counter(orjson.loads(v)["error"]["code"] for _k, v in dlq if v)
        if dlq:
            _say(f"{dlq_of(name)}: {len(dlq)} {dict(codes)}")
    records = _read_all(bootstrap, t(SUPPRESSIONS))
    lists = Counter(decode_key(k).list.value for k, v in records if k and v)
    _say(f"suppressions records: {len(records)} {dict(lists)}")
    _say()
    _say("Send decisions (account, address, stream -> verdict, rule, reason)")
    _say("------------------------------------------------------------------")
    checks = [
        (ACME, "gone@gmail.com", Stream.MARKETING),
        (ACME, "full@yahoo.com", Stream.MARKETING),
        (ACME, "spamblocked@outlook.com", Stream.MARKETING),
        (ACME, "bye@gmail.com", Stream.MARKETING),
        (ACME, "bye@gmail.com", Stream.TRANSACTIONAL),
        (ACME, "qa@acme.example", Stream.MARKETING),
        (ACME, "angry@gmail.com", Stream.TRANSACTIONAL),
        (ACME, "someone@allegro.pl", Stream.MARKETING),
        (GLOBEX, "anna@gmail.com", Stream.MARKETING),
        (GLOBEX, "bob@yahoo.com", Stream.MARKETING),
        (GLOBEX, "ceo@partner.example", Stream.MARKETING),
        (ACME, "x@mail.throwaway.example", Stream.TRANSACTIONAL),
    ]
    now = datetime.now(UTC)
    for account, address, stream in checks:
        d = decide(feed.view, account, address, stream, now)
        verdict = "allow" if d.allowed else "DENY "
        reason = f"reason {int(d.reason)}" if d.reason is not None else ""
        _say(f"{account:7} {address:28} {stream.value:13} -> {verdict} {d.rule:22} {reason}")


DEMO_VERP = "b+{account}.{delivery}.{tag}@bounces.demo.localhost"
_VACATION = (
    b"From: Anna <anna@partner.example>\r\nTo: {rcpt}\r\nSubject: Out of office: offers\r\n"
    b"Auto-Submitted: auto-replied\r\nMessage-ID: <ooo-demo@partner.example>\r\n\r\n"
    b"I am out of the office until Monday.\r\n"
)


def _mail(settings: Settings, feed: SuppressionFeed) -> None:
    """Bounce and ARF mails sent over SMTP to ``suppressor mail serve`` end up suppressed."""
    import smtplib

    from workers.devkit.mail_server_process import MailServerProcess, smtp_answers
    from workers.ingest.mail.config import verp_template
    from workers.ingest.mail.samples import arf_complaint, dsn_bounce

    _say()
    _say("Bounce and complaint mail over SMTP (suppressor mail serve)")
    _say("-----------------------------------------------------------")
    port = settings.mail_port
    if smtp_answers(settings.mail_host, port, timeout=0.5):
        port = free_port()  # something already serves the configured port
    mail = settings.with_(
        mail_port=port,
        mail_metrics_port=0,
        mail_domains="",
        mail_verp_template=DEMO_VERP,
        mail_verp_secret=f"demo-secret-{settings.app_id}",
    )
    verp = verp_template(mail)
    assert verp is not None
    log_path = settings.data_dir.parent / f"{settings.app_id}-mail.log"
    server = MailServerProcess(mail, log_path).start()
    _say(f"- SMTP server on {mail.mail_host}:{port} for {verp.domain}; VERP {DEMO_VERP}")
    lost, busy, annoyed, away = (f"{name}@example.org" for name in _MAIL_DEMO)
    paths = {name: verp.build(ACME, f"demo-{name}") for name in _MAIL_DEMO}
    vacation = _VACATION.replace(b"{rcpt}", paths["away"].encode())
    good = paths["lost"].partition("@")
    forged = f"{good[0].rsplit('.', 1)[0]}.{'0' * 16}@{good[2]}"
    mails = [
        ("Postfix DSN, 550 5.1.1 user unknown", paths["lost"], dsn_bounce(paths["lost"], lost)),
        ("DSN, 552 5.2.2 mailbox full", paths["busy"], dsn_bounce(paths["busy"], busy,
         status="5.2.2", diagnostic="552 5.2.2 Mailbox full, quota exceeded")),
        ("ARF abuse report", f"fbl@{verp.domain}", arf_complaint(paths["annoyed"], annoyed)),
        ("out-of-office reply", paths["away"], vacation),
        ("forged bounce (bad VERP tag)", forged, dsn_bounce(forged, "victim@example.org")),
        ("relay attempt", "someone@elsewhere.example", dsn_bounce(forged, "x@example.org")),
    ]  # fmt: skip
    try:
        with smtplib.SMTP(mail.mail_host, port, timeout=60) as smtp:
            for label, rcpt, raw in mails:
                try:
                    smtp.sendmail("", [rcpt], raw)
                    answer = "250 stored"
                except smtplib.SMTPRecipientsRefused as exc:
                    code, words = next(iter(exc.recipients.values()))
                    answer = f"{code} {_text(words)}"
                except smtplib.SMTPResponseException as exc:
                    answer = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                _say(f"  {label:36} -> {answer}")
    finally:
        server.stop()

    def listed() -> bool:
        held = {e.list for e in feed.view.address_entries(ACME, lost)}
        complained = {e.list for e in feed.view.address_entries(ACME, annoyed)}
        return ListName.BOUNCE in held and ListName.COMPLAINT in complained

    _wait(listed, 60, "the mail's suppressions")
    now = datetime.now(UTC)
    for address in (lost, busy, annoyed, away, "victim@example.org"):
        d = decide(feed.view, ACME, address, Stream.MARKETING, now)
        verdict = "allow" if d.allowed else "DENY "
        reason = f"reason {int(d.reason)}" if d.reason is not None else ""
        _say(f"{ACME:7} {address:28} {'marketing':13} -> {verdict} {d.rule:22} {reason}")


_MAIL_DEMO = ("lost", "busy", "annoyed", "away")


def _text(words: bytes | str) -> str:
    return words.decode(errors="replace") if isinstance(words, bytes) else words


def _expiry(settings: Settings, feed: SuppressionFeed) -> None:
    held = feed.view.address_entries(ACME, "full@yahoo.com")
    temp = next((e for e in held if e.list is ListName.BOUNCE and e.expires_at), None)
    if temp is None or temp.expires_at is None:
        _say("no temporary entry to watch expire")
        return
    _say()
    wait = max(0.0, (temp.expires_at - datetime.now(UTC)).total_seconds())
    _say(f"full@yahoo.com is blocked until {temp.expires_at:%H:%M:%S} (first condition bounce);")
    _say(f"waiting {wait:.0f}s for the worker to release it ...")
    _wait(lambda: not any(e.list is ListName.BOUNCE for e in
                          feed.view.address_entries(ACME, "full@yahoo.com")),
          wait + 30, "the release of the temporary entry")  # fmt: skip
    late = (datetime.now(UTC) - temp.expires_at).total_seconds()
    _say(f"released {late:.1f}s after expires_at; decision now: "
         f"{decide(feed.view, ACME, 'full@yahoo.com', Stream.MARKETING).rule}")  # fmt: skip
