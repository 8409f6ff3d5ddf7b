"""SMTP end to end against the real broker: a bounce and a complaint sent with smtplib to
``suppressor mail serve`` suppress their addresses through a real worker; a broker outage
gives 451 and, once the sender retries, nothing is lost; ``mail ingest`` is idempotent."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from suppressor_client.types import ListName

from tests.integration.test_worker_rules import suppressions_until
from tests.kafka_helpers import active_subjects, read_topic
from workers.devkit.local_broker import LocalBroker
from workers.devkit.mail_server_process import MailServerProcess
from workers.devkit.net_ports import free_port, free_port_pair
from workers.devkit.worker_process import WorkerProcess
from workers.ingest.mail.samples import arf_complaint, dsn_bounce
from workers.ingest.mail.verp import VerpTemplate
from workers.kafka.topics import BOUNCE_MAIL_DLQ, DELIVERY_EVENTS, ensure_topics
from workers.settings import Settings

pytestmark = pytest.mark.broker

TEMPLATE = "b+{account}.{delivery}.{tag}@bounces.test.example"
SECRET = "integration-secret"
VERP = VerpTemplate.parse(TEMPLATE, SECRET)


def _mail_settings(settings: Settings) -> Settings:
    return settings.with_(
        mail_port=free_port(),
        mail_metrics_port=free_port(),
        mail_verp_template=TEMPLATE,
        mail_verp_secret=SECRET,
        mail_ack_timeout=timedelta(seconds=5),
    )


@pytest.fixture
def mail_server(topics: Settings, tmp_path: Path) -> Iterator[MailServerProcess]:
    server = MailServerProcess(_mail_settings(topics), tmp_path / "mail.log").start()
    yield server
    server.stop()


def _send(server: MailServerProcess, rcpt: str, message: bytes) -> None:
    with smtplib.SMTP(server.settings.mail_host, server.settings.mail_port, timeout=60) as smtp:
        refused = smtp.sendmail("", [rcpt], message)
        assert refused == {}


def test_bounce_and_complaint_over_smtp_suppress_the_addresses(
    start_worker: Callable[..., WorkerProcess], topics: Settings, mail_server: MailServerProcess
) -> None:
    """A DSN to a VERP path lists its recipient (reason 1); an ARF abuse report lists its
    recipient as a complaint (reason 6); both for the account the VERP path names."""
    start_worker()
    bounce_path = VERP.build("acme", "d-100")
    _send(mail_server, bounce_path, dsn_bounce(bounce_path, "gone@example.net"))
    fbl_path = VERP.build("acme", "d-101")
    _send(mail_server, f"fbl@{VERP.domain}", arf_complaint(fbl_path, "angry@example.net"))
    state = suppressions_until(
        topics,
        lambda s: (
            "gone@example.net" in active_subjects(s, "acme", ListName.BOUNCE)
            and "angry@example.net" in active_subjects(s, "acme", ListName.COMPLAINT)
        ),
        timeout=90,
    )
    reasons = {(k.list, k.subject): int(v.reason or 0) for k, v in state.items()}
    assert reasons[ListName.BOUNCE, "gone@example.net"] == 1
    assert reasons[ListName.COMPLAINT, "angry@example.net"] == 6
    deliveries = {v.delivery_id for v in state.values()}
    assert {"d-100", "d-101"} <= deliveries


def test_relay_and_forged_tags_are_refused_by_the_running_server(
    mail_server: MailServerProcess,
) -> None:
    """The served process refuses other domains (relay) and forged VERP tags with 550 5.7.1."""
    local, _, domain = VERP.build("acme", "d-1").partition("@")
    forged = f"{local.rsplit('.', 1)[0]}.{'f' * 16}@{domain}"
    settings = mail_server.settings
    with smtplib.SMTP(settings.mail_host, settings.mail_port, timeout=30) as smtp:
        smtp.ehlo("mx.test")
        smtp.mail("")
        assert smtp.rcpt("postmaster@not-ours.example")[0] == 550
        code, reply = smtp.rcpt(forged)
        assert code == 550 and b"5.7.1" in reply


def _events(settings: Settings, want: int, what: str) -> list[dict[str, object]]:
    records = read_topic(
        settings.bootstrap_servers,
        settings.topic(DELIVERY_EVENTS),
        until=lambda rs: len(rs) >= want,
        timeout=60,
        what=what,
    )
    return [orjson.loads(r.value) for r in records if r.value]


def test_broker_outage_gives_451_and_nothing_is_lost(tmp_path: Path) -> None:
    """With a private broker stopped, DATA is answered 451 (not 250); the sender's retry
    after the broker is back is stored, and the message accepted before is still there."""
    private = Settings.from_env(
        local_kafka_port=free_port_pair(),
        cache_dir=LocalBroker.from_settings(Settings.from_env()).cache_dir,
    )
    broker = LocalBroker.from_settings(private)
    bootstrap = broker.start()
    server: MailServerProcess | None = None
    try:
        settings = _mail_settings(
            private.with_(bootstrap_servers=bootstrap, topic_prefix="mailout.", partitions=1)
        ).with_(mail_ack_timeout=timedelta(seconds=3))
        ensure_topics(settings, say=lambda _l: None)
        server = MailServerProcess(settings, tmp_path / "mail.log").start()
        first = VERP.build("acme", "d-1")
        _send(server, first, dsn_bounce(first, "before@example.net"))
        broker.stop()
        second = VERP.build("acme", "d-2")
        message = dsn_bounce(second, "during@example.net")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            _send(server, second, message)
        assert refused.value.smtp_code == 451
        assert broker.start() == bootstrap
        deadline = time.monotonic() + 90
        while True:  # the sending MTA retries until the server answers 250
            try:
                _send(server, second, message)
                break
            except smtplib.SMTPDataError as exc:
                assert exc.smtp_code == 451
                assert time.monotonic() < deadline, "still 451 long after the broker came back"
                time.sleep(1)
        events = _events(settings, 2, "both bounces on delivery-events")
        assert {e["email"] for e in events} >= {"before@example.net", "during@example.net"}
    finally:
        if server is not None:
            server.stop()
        broker.stop()


def test_mail_ingest_produces_events_and_dead_letters_and_is_idempotent(
    topics: Settings, tmp_path: Path
) -> None:
    """Ingesting a folder produces its events and dead letters; ingesting it again produces
    the same event ids (the worker drops the copies)."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = VERP.build("acme", "d-5")
    (folder / "a.eml").write_bytes(dsn_bounce(path, "first@example.net"))
    (folder / "b.eml").write_bytes(dsn_bounce(path, "second@example.net", status="4.2.2",
                                              diagnostic="452 4.2.2 Mailbox full"))  # fmt: skip
    (folder / "c.eml").write_bytes(b"From: someone@example.net\r\n\r\nhello\r\n")
    env = {**os.environ, **_mail_settings(topics).to_env()}
    command = [sys.executable, "-m", "workers", "mail", "ingest", "--quiet", str(folder)]
    for _ in range(2):
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 1, result.stderr  # c.eml is not understood
        assert (
            "2 events produced" in result.stderr
            and "1 messages to bounce-mail.dlq" in result.stderr
        )
    events = _events(topics, 4, "both ingests' events")
    ids = [e["event_id"] for e in events]
    assert len(ids) == 4 and len(set(ids)) == 2
    dlq = read_topic(topics.bootstrap_servers, topics.topic(BOUNCE_MAIL_DLQ),
                     until=lambda rs: len(rs) >= 2, timeout=60)  # fmt: skip
    record = orjson.loads(dlq[0].value or b"{}")
    assert record["error"]["code"] == "unparsed" and record["source"].endswith("c.eml")
