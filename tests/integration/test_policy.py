"""`suppressor policy` as a process: the real broker, Postfix's protocol and HTTP on sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from suppressor_client.records import encode_key, encode_record
from suppressor_client.types import ListKey, ListName, ListRecord, Reason

from tests.kafka_helpers import produce
from workers.devkit.net_ports import free_port
from workers.kafka.topics import SUPPRESSIONS
from workers.settings import Settings

pytestmark = pytest.mark.broker

BLOCKED = "jane@example.com"


def _ask(port: int, recipient: str) -> bytes:
    """One Postfix policy request on a fresh connection; the answer."""
    request = (
        "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=news@shop.example\n"
        f"recipient={recipient}\nsasl_username=acme\n\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while not answer.endswith(b"\n\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


def test_policy_process_answers_postfix_and_http(topics: Settings, tmp_path: Path) -> None:
    """A blocked recipient is rejected, others get DUNNO, HTTP agrees; SIGTERM saves a snapshot."""
    key = ListKey("acme", ListName.BLOCK, BLOCKED)
    since = datetime(2025, 1, 1, tzinfo=UTC)
    record = ListRecord(key, 1, True, reason=Reason.MANUAL, since=since)
    produce(topics.bootstrap_servers, topics.topic(SUPPRESSIONS),
            [(encode_key(key), encode_record(record))])  # fmt: skip
    port, http_port = free_port(), free_port()
    snapshot = tmp_path / "policy.snap"
    env = {**os.environ, **topics.to_env(), "SUPPRESSOR_POLICY_PORT": str(port),
           "SUPPRESSOR_POLICY_HTTP_PORT": str(http_port),
           "SUPPRESSOR_SNAPSHOT_PATH": str(snapshot)}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "workers", "policy"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        answer = b""
        while time.monotonic() < deadline:
            try:
                answer = _ask(port, BLOCKED)
                if not answer.startswith(b"action=DEFER"):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert answer.startswith(b"action=REJECT 5.7.1 recipient suppressed: suppressed, reason 2")
        assert _ask(port, "ann@example.com") == b"action=DUNNO\n\n"
        url = f"http://127.0.0.1:{http_port}/decide?account=acme&address={BLOCKED}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert orjson.loads(response.read()) == {
                "allowed": False,
                "rule": "suppressed",
                "reason": 2,
            }
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert snapshot.exists()  # written on the way out: the next start reads only the tail
