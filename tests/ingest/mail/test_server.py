"""The SMTP server's own rules, in-process and with no broker behind it: relay refused,
forged VERP refused, size and connection bounds, STARTTLS, and 451 when Kafka is away."""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from workers.devkit.net_ports import free_port
from workers.ingest.mail.samples import dsn_bounce
from workers.ingest.mail.server import MailServer
from workers.ingest.mail.verp import VerpTemplate
from workers.settings import Settings

TEMPLATE = "b+{account}.{delivery}.{tag}@bounces.test.example"
SECRET = "unit-secret"
VERP = VerpTemplate.parse(TEMPLATE, SECRET)


@pytest.fixture
def serve() -> Iterator[Callable[..., MailServer]]:
    """Start in-process servers whose Kafka is a closed port; all are stopped afterwards."""
    started: list[MailServer] = []

    def start(**overrides: Any) -> MailServer:
        settings = Settings.from_env(
            **{
                "bootstrap_servers": f"127.0.0.1:{free_port()}",  # nothing listens there
                "mail_port": free_port(),
                "mail_verp_template": TEMPLATE,
                "mail_verp_secret": SECRET,
                "mail_ack_timeout": timedelta(seconds=1),
                **overrides,
            }
        )
        server = MailServer(settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _client(server: MailServer) -> smtplib.SMTP:
    return smtplib.SMTP(server.settings.mail_host, server.settings.mail_port, timeout=30)


def test_other_domains_are_refused_as_relaying(serve: Callable[..., MailServer]) -> None:
    """RCPT TO a domain that is not a bounce domain gets 550 5.7.1 relay denied (counted)."""
    before = _count("suppressor_mail_refused_total", reason="relay")
    with _client(serve()) as smtp:
        smtp.ehlo("mx.test")
        smtp.mail("")
        code, reply = smtp.rcpt("someone@elsewhere.example")
        assert code == 550 and b"5.7.1" in reply and b"relay denied" in reply.lower()
        code, _reply = smtp.rcpt("bounce@bounces.test.example")
        assert code == 250
    assert _count("suppressor_mail_refused_total", reason="relay") == before + 1


def test_a_forged_verp_tag_is_refused_at_rcpt(serve: Callable[..., MailServer]) -> None:
    """A recipient of the template's shape whose tag does not verify gets 550 5.7.1."""
    good = VERP.build("acme", "d-1")
    local, _, domain = good.partition("@")
    forged = f"{local.rsplit('.', 1)[0]}.{'0' * 16}@{domain}"
    with _client(serve()) as smtp:
        smtp.ehlo("mx.test")
        smtp.mail("")
        code, reply = smtp.rcpt(forged)
        assert code == 550 and b"5.7.1" in reply and b"Forged" in reply
        assert smtp.rcpt(good)[0] == 250


def test_kafka_away_gives_451_so_the_sender_retries(serve: Callable[..., MailServer]) -> None:
    """With no broker acknowledging, DATA is answered 451 4.3.0, never 250 (counted)."""
    before = _count("suppressor_mail_refused_total", reason="kafka_unavailable")
    received = _count("suppressor_mail_received_total")
    path = VERP.build("acme", "d-1")
    with _client(serve()) as smtp, pytest.raises(smtplib.SMTPDataError) as refused:
        smtp.sendmail("", [path], dsn_bounce(path, "gone@example.net"))
    assert refused.value.smtp_code == 451 and b"4.3.0" in refused.value.smtp_error
    assert _count("suppressor_mail_refused_total", reason="kafka_unavailable") == before + 1
    assert _count("suppressor_mail_received_total") == received + 1


def test_messages_over_the_size_bound_get_552(serve: Callable[..., MailServer]) -> None:
    """SIZE is advertised; a larger message is refused with 552 (MAIL FROM SIZE= or DATA)."""
    server = serve(mail_max_bytes=2000)
    path = VERP.build("acme", "d-1")
    big = dsn_bounce(path, "gone@example.net") + b"\r\n".join([b"x" * 70] * 100)
    with _client(server) as smtp:
        smtp.ehlo("mx.test")
        assert smtp.has_extn("size") and smtp.esmtp_features["size"] == "2000"
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("", [path], big)
        assert refused.value.smtp_code == 552
    with _client(server) as smtp:  # a client that does not declare SIZE: refused at DATA
        smtp.helo("mx.test")
        smtp.mail("")
        smtp.rcpt(path)
        code, _reply = smtp.data(big)
        assert code == 552


def test_connections_over_the_bound_get_421(serve: Callable[..., MailServer]) -> None:
    """With two connections open, a third is greeted 421 and closed; a slot frees on QUIT."""
    server = serve(mail_max_connections=2)
    first, second = _client(server), _client(server)
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            _client(server)
        assert refused.value.smtp_code == 421
        first.quit()
        third = _client(server)
        assert third.noop()[0] == 250
        third.quit()
    finally:
        second.quit()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=bounces.test.example", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_starttls_is_offered_when_a_certificate_is_configured(
    serve: Callable[..., MailServer], tmp_path: Path
) -> None:
    """With a certificate STARTTLS is advertised and works; without one it is not offered."""
    cert, key = _self_signed(tmp_path)
    server = serve(mail_tls_cert=str(cert), mail_tls_key=str(key))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with _client(server) as smtp:
        smtp.ehlo("mx.test")
        assert smtp.has_extn("starttls")
        assert smtp.starttls(context=context)[0] == 220
        smtp.ehlo("mx.test")
        smtp.mail("")
        assert smtp.rcpt("bounce@bounces.test.example")[0] == 250
    with _client(serve()) as smtp:
        smtp.ehlo("mx.test")
        assert not smtp.has_extn("starttls")


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A port that takes TCP connections (the kernel's backlog) and never answers a byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("broker", ["nothing listens", "connects, never answers"])
def test_a_silent_broker_gives_451_within_the_bound_while_others_are_served(
    serve: Callable[..., MailServer], silent_broker: str, broker: str
) -> None:
    """While one message waits for acks that never come (no broker on the port, or one that
    takes the connection and never answers), another connection is answered at every step;
    each waiting message gets 451 4.3.0 once the ack bound passed, not later."""
    ack = 2.0
    overrides: dict[str, Any] = {"mail_ack_timeout": timedelta(seconds=ack)}
    if broker == "connects, never answers":
        overrides["bootstrap_servers"] = silent_broker
    server = serve(**overrides)
    path = VERP.build("acme", "d-1")
    received = _count("suppressor_mail_received_total")
    answers: list[tuple[int, float]] = []

    def send_waiting() -> None:
        with _client(server) as smtp:
            smtp.ehlo("mx.test")
            smtp.mail("")
            smtp.rcpt(path)
            started = time.monotonic()
            code, _reply = smtp.data(dsn_bounce(path, "first@example.net"))
            answers.append((code, time.monotonic() - started))

    waiting = threading.Thread(target=send_waiting)
    waiting.start()
    deadline = time.monotonic() + 30
    while _count("suppressor_mail_received_total") == received:  # its DATA is in
        assert time.monotonic() < deadline, "the first message never reached DATA"
        time.sleep(0.01)
    with _client(server) as smtp:
        assert smtp.ehlo("mx.test")[0] == 250
        assert smtp.mail("")[0] == 250
        assert smtp.rcpt(path)[0] == 250
        assert smtp.noop()[0] == 250
        assert not answers, "the other connection waited for the first message's answer"
        started = time.monotonic()
        code, reply = smtp.data(dsn_bounce(path, "second@example.net"))
        took = time.monotonic() - started
    waiting.join(timeout=60)
    assert code == 451 and b"4.3.0" in reply
    assert [c for c, _ in answers] == [451]
    for seconds in (took, answers[0][1]):
        assert ack * 0.5 <= seconds <= ack + 5.0  # the ack bound, plus room for a busy machine


def test_a_message_being_parsed_does_not_stall_other_connections(
    serve: Callable[..., MailServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing runs off the SMTP event loop: while one message's parse is held, another
    connection is answered at every step. (Parsed on the loop, the second connection's
    EHLO would wait for the held parse, and the hold would run out first.)"""
    from workers.ingest.mail import server as server_module

    held, released_by_test = threading.Event(), threading.Event()
    real_parse = server_module.process_message

    def held_parse(*args: Any, **kwargs: Any) -> Any:
        held.set()
        released_by_test.wait(timeout=10)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(server_module, "process_message", held_parse)
    server = serve()
    path = VERP.build("acme", "d-1")
    answers: list[int] = []

    def send_held() -> None:
        with _client(server) as smtp:
            smtp.ehlo("mx.test")
            smtp.mail("")
            smtp.rcpt(path)
            answers.append(smtp.data(dsn_bounce(path, "first@example.net"))[0])

    first = threading.Thread(target=send_held)
    first.start()
    assert held.wait(timeout=30), "the first message never reached its parse"
    try:
        with smtplib.SMTP(server.settings.mail_host, server.settings.mail_port, timeout=5) as smtp:
            assert smtp.ehlo("mx.test")[0] == 250
            assert smtp.noop()[0] == 250
        assert not released_by_test.is_set(), "the parse hold ran out before the answers"
    finally:
        released_by_test.set()
        first.join(timeout=60)
    assert answers == [451]  # nothing acknowledges in this fixture: the sender retries
