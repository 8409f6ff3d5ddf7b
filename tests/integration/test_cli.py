"""The `suppressor` list tools run for real: the real broker, a real worker, the real commands."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from workers.cli.main import app
from workers.devkit.worker_process import WorkerProcess
from workers.settings import Settings

pytestmark = pytest.mark.broker

Run = Callable[..., Result]
JANE = "jane@example.com"


@pytest.fixture
def run(topics: Settings) -> Run:
    """Run `suppressor ARGS...` with the test's settings in the environment."""
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), env=topics.to_env(), input=stdin)

    return invoke


def ok(result: Result) -> Result:
    """The result, after asserting the command succeeded."""
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
    return result


def test_block_import_export_filter_through_a_worker(
    run: Run, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Writes return once visible: block, import with bad rows, export, filter counts."""
    start_worker()
    out = ok(run("address", "block", "Jane@Example.com", "-a", "acme", "--notes", "asked")).stdout
    assert "jane@example.com: blocked" in out
    out = ok(run("check", "jane@example.com", "bob@example.com", "-a", "acme")).stdout
    assert "jane@example.com  denied  suppressed  reason 2 (manual intervention)" in out
    assert "bob@example.com  allowed  default" in out

    csv = tmp_path / "list.csv"
    csv.write_text(
        'email;notes\r\nann@x.example;"vip; keep"\r\nnot-an-address\r\njane@example.com\r\n'
        'zed@x.example;;10\r\nbob@example.com;"x";7\r\n',
        encoding="utf-8",
    )
    out = ok(run("import", str(csv), "-a", "acme")).stdout
    assert "2 added, 1 already present, 2 invalid" in out
    assert "line 3: invalid_address" in out
    assert "line 6: invalid_reason" in out
    assert "line 4: already present: jane@example.com" in out

    exported = tmp_path / "out.csv"
    ok(run("export", "-a", "acme", "-o", str(exported)))
    again = ok(run("import", str(exported), "-a", "acme")).stdout  # the round trip
    assert "0 added, 3 already present, 0 invalid" in again
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "email;domain;date;reason;category;expires_at;delivery_id;notes"
    by_address = {line.split(";")[0]: line.split(";") for line in lines[1:]}
    assert set(by_address) == {"ann@x.example", "jane@example.com", "zed@x.example"}
    assert by_address["ann@x.example"][1:2] + by_address["ann@x.example"][3:5] == [
        "x.example",
        "2",
        "block",
    ]
    assert by_address["zed@x.example"][3:5] == ["10", "bounce"]
    assert lines[1].endswith('"vip; keep"')  # notes keep their separator, quoted

    group = "ann@x.example\nfree@y.example\n\nbroken\nzed@x.example\nfoo@allegro.pl\n"
    result = ok(run("filter", "-a", "acme", stdin=group))
    assert result.stdout.split() == ["free@y.example", "foo@allegro.pl"]
    assert "5 addresses: 2 allowed, 3 excluded" in result.stderr
    assert "1  suppressed 2 (manual intervention)" in result.stderr
    assert "1  suppressed 10 (non-existent mailbox (legacy code))" in result.stderr
    assert "1  invalid_address" in result.stderr

    ok(run("address", "unblock", "jane@example.com", "-a", "acme"))
    assert "jane@example.com  allowed  default" in ok(run("check", JANE, "-a", "acme")).stdout


def test_domain_uri_allowlist_account_through_a_worker(
    run: Run, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Domain rules, URI patterns, the allowlist and account creation, each seen by check."""
    start_worker()
    ok(run("account", "create", "shop"))
    second = ok(run("account", "create", "shop")).stdout
    assert "shop: already exists (3 domain rules, 0 allowed domains); nothing written" in second
    platform = ok(run("address", "block", "spam@trap.example", "-a", "*")).stdout
    assert "blocked platform-wide (reason 99)" in platform
    shared = ok(run("check", "spam@trap.example", "-a", "shop")).stdout
    assert "denied  suppressed  reason 99" in shared
    listed = ok(run("domain", "list", "-a", "shop")).stdout
    assert "rule   allegro.com  send+collection" in listed
    assert "denied  domain_block  reason 2" in ok(run("check", "a@allegro.pl", "-a", "shop")).stdout

    ok(run("domain", "block", "*.spam.example", "-a", "shop", "--collection"))
    out = ok(run("check", "x@mx.spam.example", "-a", "shop", "--stream", "transactional")).stdout
    assert "denied  domain_block  reason 2" in out
    ok(run("address", "allow", "x@mx.spam.example", "-a", "shop"))
    assert "allowed  address_allow" in ok(run("check", "x@mx.spam.example", "-a", "shop")).stdout

    ok(run("address", "block", JANE, "-a", "shop"))
    ok(run("allowlist", "add", JANE, "-a", "shop"))
    assert "allowed  recipient_allowlist" in ok(run("check", JANE, "-a", "shop")).stdout

    ok(run("uri", "add", r"^https://shop\.example/", "-a", "shop"))
    assert ok(run("uri", "list", "-a", "shop")).stdout.strip() == r"^https://shop\.example/"
    body = tmp_path / "body.html"
    body.write_text('<a href="https://shop.example/x">ok</a>', encoding="utf-8")
    assert ok(run("uri", "check", str(body), "-a", "shop")).stdout.strip() == "allowed"
    body.write_text('<a href="https://evil.example/">no</a>', encoding="utf-8")
    rejected = run("uri", "check", str(body), "-a", "shop")
    assert rejected.exit_code == 1
    assert "https://evil.example/" in rejected.stdout

    stats = ok(run("stats", "-a", "shop")).stdout
    assert '"uri-pattern": 1' in stats
    assert '"ready": true' in stats


def test_errors_exit_non_zero_with_a_message(run: Run, topics: Settings, tmp_path: Path) -> None:
    """Bad input, bulk allowlisting, a missing file or topic, and no worker all fail clearly."""
    bulk = run("allowlist", "add", "a@x.example", "b@x.example", "-a", "acme")
    assert bulk.exit_code == 2
    assert "one address at a time, by design" in bulk.stderr

    bad = run("address", "block", "not-an-address", "-a", "acme")
    assert bad.exit_code == 1
    assert "invalid_address" in bad.stderr

    unanchored = run("uri", "add", "shop", "-a", "acme")
    assert unanchored.exit_code == 1
    assert "anchored" in unanchored.stderr

    missing = run("import", str(tmp_path / "nope.csv"), "-a", "acme")
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr

    column = run("filter", "-a", "acme", "--column", "mail", stdin="email\na@x.example\n")
    assert column.exit_code == 1
    assert "no column 'mail'" in column.stderr

    no_account = run("check", "a@x.example")
    assert no_account.exit_code == 2

    no_worker = run("address", "block", JANE, "-a", "acme", "--timeout", "2")
    assert no_worker.exit_code == 3
    assert "timed out" in no_worker.stderr

    runner = CliRunner()
    elsewhere = topics.with_(topic_prefix="missing-prefix.").to_env()
    no_topic = runner.invoke(app, ["check", JANE, "-a", "acme"], env=elsewhere)
    assert no_topic.exit_code == 1
    assert "does not exist" in no_topic.stderr

    for group in ("check", "filter", "import", "export", "domain", "address", "allowlist", "uri"):
        assert "Usage" in ok(run(group, "--help")).stdout


def test_a_second_create_of_an_account_whose_lists_were_all_removed_answers_at_once(
    run: Run, start_worker: Callable[..., WorkerProcess]
) -> None:
    """The view shows nothing of the account any more, but the keyed stage holds it as
    created: the second create says so at once instead of waiting for an effect the
    worker (which takes it as a no-op) never shows."""
    start_worker()
    ok(run("account", "create", "gone"))
    for domain in ("allegro.pl", "allegromail.pl", "allegro.com"):
        ok(run("domain", "unblock", domain, "-a", "gone"))
    assert ok(run("domain", "list", "-a", "gone")).stdout.strip() == ""
    started = time.monotonic()
    second = ok(run("account", "create", "gone", "--timeout", "20")).stdout
    assert "gone: already exists (created " in second
    assert "no domain rules or allowed domains now); nothing written" in second
    assert time.monotonic() - started < 15
    fresh = ok(run("account", "create", "new-one")).stdout  # never created: written as before
    assert "created" in fresh and "already" not in fresh
