"""``suppressor unsubscribe-link``: headers a sender can paste, with a token the API accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from typer.testing import CliRunner

from workers.cli.main import app
from workers.ingest.webhooks.unsubscribe import UnsubscribeKeys, read_token

ENV = {
    "SUPPRESSOR_UNSUBSCRIBE_KEYS": "k1=a-secret-of-the-cli-test-0001",
    "SUPPRESSOR_UNSUBSCRIBE_BASE_URL": "https://u.example",
}


def test_the_headers_carry_a_token_for_the_account_and_address() -> None:
    """The printed List-Unsubscribe URL holds a token that reads back to the given claims."""
    result = CliRunner().invoke(
        app,
        ["unsubscribe-link", "acme", "Jane@Example.com", "--json", "--delivery-id", "d-9"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    headers = orjson.loads(result.stdout)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://u.example/unsubscribe/")
    keys = UnsubscribeKeys.parse(ENV["SUPPRESSOR_UNSUBSCRIBE_KEYS"])
    claims = read_token(keys, url.rsplit("/", 1)[1], datetime.now(UTC).date())
    assert (claims.account_id, claims.email, claims.delivery_id) == (
        "acme",
        "jane@example.com",
        "d-9",
    )


def test_without_keys_or_with_a_bad_address_it_says_what_to_do() -> None:
    """No key configured, or an address that is not one: exit 2 with a message, no headers."""
    missing = CliRunner().invoke(
        app, ["unsubscribe-link", "acme", "a@b.example"], env={"SUPPRESSOR_UNSUBSCRIBE_KEYS": ""}
    )
    assert missing.exit_code == 2 and "SUPPRESSOR_UNSUBSCRIBE_KEYS" in missing.output
    bad = CliRunner().invoke(app, ["unsubscribe-link", "acme", "not an address"], env=ENV)
    assert bad.exit_code == 2 and "List-Unsubscribe" not in bad.output
