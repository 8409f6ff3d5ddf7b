"""The README's main command, `suppressor demo`, end to end against the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers.devkit.net_ports import free_port
from workers.settings import Settings

pytestmark = pytest.mark.broker


def test_demo_runs_every_rule_and_explains_it(kafka_bootstrap: str, tmp_path: Path) -> None:
    """The demo exits 0 and its summary shows the gate, the DLQ, decisions and an expiry."""
    settings = Settings.from_env(
        bootstrap_servers=kafka_bootstrap,
        data_dir=tmp_path / "data",
        metrics_port=free_port(),
        app_id="demo-test",
    )
    env = {**os.environ, **settings.to_env()}
    env.pop("SUPPRESSOR_TOPIC_PREFIX", None)
    result = subprocess.run(
        [sys.executable, "-m", "workers", "demo", "--events", "300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    flat = " ".join(out.split())  # column widths are presentation
    for expected in (
        "customer events accepted: 303; rejected: 4",
        "delivery-events.dlq: 3",
        "acme gone@gmail.com marketing -> DENY suppressed reason 1",
        "acme bye@gmail.com transactional -> allow default",
        "globex bob@yahoo.com marketing -> DENY domain_allow_list",
        "acme x@mail.throwaway.example transactional -> DENY platform_domain_block reason 99",
        "Postfix DSN, 550 5.1.1 user unknown -> 250 stored",
        "forged bounce (bad VERP tag) -> 550 5.7.1",
        "relay attempt -> 550 5.7.1 Relay denied",
        "acme lost@example.org marketing -> DENY suppressed reason 1",
        "acme annoyed@example.org marketing -> DENY suppressed reason 6",
        "acme away@example.org marketing -> allow default",
        "released ",
        "demo topics deleted",
    ):
        assert " ".join(expected.split()) in flat, f"{expected!r} missing from:\n{out}"
