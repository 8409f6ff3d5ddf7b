"""``suppressor mail parse``: PATHs (files, mboxes, Maildirs, stdin) and the JSON contract."""

from __future__ import annotations

import mailbox
import subprocess
import sys
from pathlib import Path

import orjson

from tests.ingest.mail.helpers import FIXTURES, fixture
from workers.ingest.mail.sources import count_messages, read_sources

CONTRACT = {"source", "email", "kind", "outcome", "evidence", "event"}
GOOD = ["exim-text.eml", "exchange-2010-ndr.eml", "yahoo-text.eml"]  # each names its account


def _mbox(path: Path, names: list[str]) -> Path:
    box = mailbox.mbox(str(path))
    for name in names:
        box.add(mailbox.mboxMessage(fixture(name)))
    box.flush()
    box.close()
    return path


def _run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    import os

    return subprocess.run(
        [sys.executable, "-m", "workers", "mail", "parse", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_mbox_messages_are_named_path_hash_n(tmp_path: Path) -> None:
    """Each message of an mbox is read whole and named PATH#N from 1."""
    box = _mbox(tmp_path / "in.mbox", GOOD)
    messages = list(read_sources([str(box)]))
    assert [m.source for m in messages] == [f"{box}#1", f"{box}#2", f"{box}#3"]
    assert count_messages([str(box)]) == 3
    assert b"Mail delivery failed" in messages[0].raw


def test_maildir_and_plain_folders_are_read(tmp_path: Path) -> None:
    """A Maildir gives PATH#KEY per message; a plain folder gives each file."""
    box = mailbox.Maildir(str(tmp_path / "Maildir"))
    keys = sorted(box.add(fixture(name)) for name in GOOD[:2])
    messages = list(read_sources([str(tmp_path / "Maildir")]))
    assert [m.source for m in messages] == [f"{tmp_path / 'Maildir'}#{k}" for k in keys]
    assert count_messages([str(tmp_path / "Maildir")]) == 2
    assert len(list(read_sources([str(FIXTURES)]))) == len(list(FIXTURES.glob("*.eml")))


def test_parse_prints_the_contract_and_exits_0_when_all_understood(tmp_path: Path) -> None:
    """One JSON line per report with the contract's fields; exit 0 if every message resolved."""
    box = _mbox(tmp_path / "good.mbox", GOOD)
    result = _run(str(box))
    assert result.returncode == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert line.keys() >= CONTRACT
        assert line["kind"] == "bounce" and line["outcome"] == "nonexistent"
        assert line["event"]["type"] == "bounce"
    assert [line["source"] for line in lines] == [f"{box}#{n}" for n in (1, 2, 3)]


def test_parse_exits_1_when_a_message_is_not_understood() -> None:
    """A person's reply is reported as unparsed (event null) and makes the exit code 1."""
    result = _run(str(FIXTURES / "human-reply.eml"), str(FIXTURES / "exim-text.eml"))
    assert result.returncode == 1
    kinds = [orjson.loads(line)["kind"] for line in result.stdout.splitlines()]
    assert kinds == ["unparsed", "bounce"]


def test_parse_reads_one_message_from_stdin() -> None:
    """``-`` reads one message from stdin and names it ``-``."""
    result = _run("-", stdin=fixture("vacation-auto-submitted.eml"))
    (line,) = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert (line["source"], line["kind"], line["outcome"], line["event"]) == (
        "-",
        "auto_reply",
        "ignored",
        None,
    )
    assert result.returncode == 0


def test_parse_uses_the_verp_settings(tmp_path: Path) -> None:
    """With a VERP template, a bounce to a forged path is refused (kind forged, exit 1)."""
    env = {
        "SUPPRESSOR_MAIL_VERP_TEMPLATE": "b+{account}.{delivery}.{tag}@bounces.example.com",
        "SUPPRESSOR_MAIL_VERP_SECRET": "s3cret",
    }
    result = _run(str(FIXTURES / "qmail-text.eml"), env=env)  # tag 0000... is forged
    assert result.returncode == 1
    assert {orjson.loads(x)["kind"] for x in result.stdout.splitlines()} == {"forged"}


def test_a_missing_path_is_a_usage_error() -> None:
    """A PATH that does not exist exits 2 with a message naming it."""
    result = _run("/no/such/file.eml")
    assert result.returncode == 2 and b"/no/such/file.eml" in result.stderr


def test_a_bad_verp_template_is_a_settings_error() -> None:
    """A template without {tag} is refused before any message is read."""
    env = {
        "SUPPRESSOR_MAIL_VERP_TEMPLATE": "b+{account}@x.example",
        "SUPPRESSOR_MAIL_VERP_SECRET": "k",
    }
    result = _run(str(FIXTURES / "exim-text.eml"), env=env)
    assert result.returncode == 2 and b"{tag}" in result.stderr
