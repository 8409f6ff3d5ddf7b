"""Every dashboard query and alert expression, evaluated by a real Prometheus that scrapes
a real worker and a real bounce mail server (each under its own job of the compose stack's
config) under a short demo load: each is valid, and each panel query returns data."""

from __future__ import annotations

import json
import math
import smtplib
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_worker_rules import send, suppressions_until
from tests.ops.ops_files import (
    ALERTS,
    PROMETHEUS_YML,
    PanelQuery,
    alert_rules,
    dashboards,
    load_yaml,
    panel_queries,
    require_binary,
    substitute,
)
from workers.devkit.loadgen import BOUNCES, bounce, command, customer_event, delivery
from workers.devkit.mail_server_process import MailServerProcess
from workers.devkit.net_ports import free_port
from workers.devkit.worker_process import WorkerProcess
from workers.ingest.mail.samples import dsn_bounce
from workers.ingest.mail.verp import VerpTemplate
from workers.kafka.topics import COMMANDS, CUSTOMER_EVENTS, DELIVERY_EVENTS
from workers.settings import Settings

pytestmark = pytest.mark.broker

VERP_TEMPLATE = "b+{account}.{delivery}.{tag}@bounces.test.example"
VERP = VerpTemplate.parse(VERP_TEMPLATE, "ops-test-secret")

SHORT = (timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8))
"""Ladder steps short enough that a condition bounce expires during the test."""


class PromQLError(AssertionError):
    """Prometheus refused a query; the message has its error."""


class Prometheus:
    """A Prometheus server process on loopback, asked through its HTTP API."""

    def __init__(self, binary: str, workdir: Path, ports: dict[str, int]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        config = load_yaml(PROMETHEUS_YML)  # the compose file's config, pointed at these ports
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["rule_files"] = [str(ALERTS)]
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        assert jobs.keys() == ports.keys(), f"scrape jobs {sorted(jobs)}, ports for {sorted(ports)}"
        for name, port in ports.items():
            jobs[name]["static_configs"] = [{"targets": [f"127.0.0.1:{port}"]}]
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_file}",
                    f"--storage.tsdb.path={workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.url}{path}?{urlencode(params)}" if params else f"{self.url}{path}"
        try:
            with urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except HTTPError as exc:  # 400/422: the body says why
            body = json.loads(exc.read() or b"{}")
            raise PromQLError(f"{params.get('query', path)}: {body.get('error', exc)}") from None

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar as one sample) of ``expr``; PromQLError if invalid."""
        body = self.get("/api/v1/query", query=expr)
        if body.get("status") != "success":
            raise PromQLError(f"{expr}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] in {"scalar", "string"}:
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log.read_text()[-2000:]}")
            try:
                with urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (URLError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready after {timeout:.0f}s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _has_data(result: list[dict[str, Any]]) -> bool:
    """At least one series with a finite value (NaN from a quantile of nothing is no data)."""
    return any(math.isfinite(float(series["value"][1])) for series in result)


def _create_account(settings: Settings) -> None:
    """An account with the default domain pool, seen by the gate before any customer event."""
    send(settings, COMMANDS, [command("acme", "account.create")])
    suppressions_until(settings, lambda s: len(s) >= 3)
    time.sleep(1.0)  # the gate reads the rules from the suppressions topic


def _demo_load(settings: Settings, wave: int) -> None:
    """Commands, customer events (one rejected), deliveries of every kind, a DLQ record and a
    condition bounce whose short ladder step expires while the test runs."""
    now = datetime.now(UTC)
    send(
        settings,
        COMMANDS,
        [command("acme", "address.block", email=f"blocked{wave}@gmail.com", notes="ops test")],
    )
    send(
        settings,
        CUSTOMER_EVENTS,
        [
            customer_event("acme", f"jane{wave}@gmail.com", "storefront"),
            customer_event("acme", f"buyer{wave}@allegro.com", "import"),
            customer_event("acme", f"buyer{wave}@allegro.com", "popup"),  # collection-blocked
        ],
    )
    send(
        settings,
        DELIVERY_EVENTS,
        [
            *(bounce("acme", f"{kind}{wave}@yahoo.com", kind, when=now) for kind in BOUNCES),
            bounce("acme", f"soon{wave}@gmail.com", "condition", when=now),
            delivery("acme", f"ok{wave}@gmail.com", "delivered", when=now),
            delivery("acme", f"bye{wave}@outlook.com", "unsubscribe", when=now),
            delivery(
                "acme", f"angry{wave}@gmail.com", "complaint", when=now, feedback_type="abuse"
            ),
            b"{this is not json",
        ],
    )


def _mail_load(mail: MailServerProcess, wave: int) -> None:
    """Over SMTP: a bounce (an event), a mail nobody can read (bounce-mail.dlq) and a relay
    attempt (refused), so every mail panel's series exists."""
    path = VERP.build("acme", f"d-{wave}")
    settings = mail.settings
    with smtplib.SMTP(settings.mail_host, settings.mail_port, timeout=60) as smtp:
        assert smtp.sendmail("", [path], dsn_bounce(path, f"gone{wave}@yahoo.com")) == {}
        assert smtp.sendmail("", [path], b"Subject: hello\r\n\r\nnot a bounce\r\n") == {}
        smtp.mail("")
        assert smtp.rcpt(f"postmaster{wave}@not-ours.example")[0] == 550
        smtp.rset()


def _processed(worker: WorkerProcess) -> float:
    """Records the worker finished processing, from its own /metrics (all topics)."""
    url = f"http://127.0.0.1:{worker.settings.metrics_port}/metrics"
    with urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "suppressor_processing_latency_seconds_count"
    )


def _first_wave_scraped(worker: WorkerProcess, prom: Prometheus) -> bool:
    """The worker processed the first wave (its count stands still) and Prometheus has it."""
    before = _processed(worker)
    time.sleep(1.5)
    after = _processed(worker)
    seen = prom.query('sum(suppressor_processing_latency_seconds_count{job="suppressor-worker"})')
    return 0 < before == after and _has_data(seen) and float(seen[0]["value"][1]) == after


def _until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture
def mail_server(topics: Settings, tmp_path: Path) -> Iterator[MailServerProcess]:
    """`suppressor mail serve` with its /metrics, on the test's topics."""
    settings = topics.with_(
        mail_port=free_port(),
        mail_metrics_port=free_port(),
        mail_verp_template=VERP_TEMPLATE,
        mail_verp_secret="ops-test-secret",
    )
    server = MailServerProcess(settings, tmp_path / "mail.log").start()
    yield server
    server.stop()


@pytest.fixture
def prometheus_server(tmp_path: Path) -> Iterator[Callable[[dict[str, int]], Prometheus]]:
    binary = require_binary("prometheus")
    started: list[Prometheus] = []

    def start(ports: dict[str, int]) -> Prometheus:
        server = Prometheus(binary, tmp_path, ports)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


def _queries() -> list[tuple[PanelQuery, str]]:
    return [
        (query, substitute(query.expr, board))
        for board in dashboards().values()
        for query in panel_queries(board)
    ]


def test_every_panel_query_returns_data_and_every_alert_is_valid(
    start_worker: Callable[..., WorkerProcess],
    topics: Settings,
    prometheus_server: Callable[[dict[str, int]], Prometheus],
    mail_server: MailServerProcess,
) -> None:
    """With Prometheus scraping a worker and the bounce mail server every second under a
    demo load, every dashboard query is valid PromQL and returns data, every alert
    expression is valid, and Prometheus loads and evaluates the alert rules without error."""
    worker = start_worker(ladder_steps=SHORT)
    mail = mail_server
    prom = prometheus_server(
        {"suppressor-worker": worker.settings.metrics_port,
         "suppressor-mail": mail.settings.mail_metrics_port}
    )  # fmt: skip
    _create_account(topics)
    _demo_load(topics, 1)
    _mail_load(mail, 1)
    # A counter series is born at its first value, so rates (and latency quantiles) need a
    # second wave after Prometheus saw the whole first one: as under any continuous load.
    _until(lambda: _first_wave_scraped(worker, prom), "Prometheus to scrape the first wave", 40)
    _demo_load(topics, 2)
    _mail_load(mail, 2)
    queries = _queries()
    assert len(queries) > 20
    empty: list[str] = []
    deadline = time.monotonic() + 60
    while True:
        expired = prom.query('sum(suppressor_expiries_total{job="suppressor-worker"})')
        scrapes = prom.query('count_over_time(up{job="suppressor-worker"}[5m])')
        empty = [f"{q}: {expr}" for q, expr in queries if not _has_data(prom.query(expr))]
        settled = _has_data(expired) and float(expired[0]["value"][1]) >= 1
        if not empty and settled and float(scrapes[0]["value"][1]) >= 5:
            break
        if time.monotonic() > deadline:
            pytest.fail(
                "after 60s of scraping, these panel queries return no data:\n"
                + "\n".join(empty or ["(none; but no expiry was counted)"])
                + f"\nworker log:\n{worker.log_tail(15)}\nprometheus log:\n{prom.log_tail()}"
            )
        time.sleep(1.0)
    for rule in alert_rules():
        prom.query(rule.expr)  # raises PromQLError when Prometheus refuses it
    groups = prom.get("/api/v1/rules")["data"]["groups"]
    loaded = {r["name"]: r for group in groups for r in group["rules"]}
    assert loaded.keys() == {rule.name for rule in alert_rules()}
    broken = {name: r.get("lastError") for name, r in loaded.items() if r["health"] != "ok"}
    assert not broken, broken
