"""``suppressor unsubscribe-link ACCOUNT ADDRESS``: the one-click headers for one message.

Senders that cannot call the library (``unsubscribe_headers``) from their own code can
shell out to this. It prints the two header lines ready to paste into a message, or a
JSON object with ``--json``; the link works under ``SUPPRESSOR_UNSUBSCRIBE_BASE_URL``
with the keys of ``SUPPRESSOR_UNSUBSCRIBE_KEYS``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import typer
from suppressor_client.errors import InputError

from workers.cli.common import fail, load_settings
from workers.ingest.webhooks.unsubscribe import Claims, UnsubscribeKeys, unsubscribe_headers

__all__ = ["register"]


def unsubscribe_link(
    account: str = typer.Argument(..., help="The account that sends the message."),
    address: str = typer.Argument(..., help="The recipient's address."),
    stream: str = typer.Option("marketing", help="marketing or transactional."),
    delivery_id: str = typer.Option("", "--delivery-id", help="The message's delivery id."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object of the headers."),
) -> None:
    """Print List-Unsubscribe and List-Unsubscribe-Post (RFC 2369, RFC 8058) for one message."""
    settings = load_settings()
    try:
        keys = UnsubscribeKeys.parse(settings.unsubscribe_keys)
        claims = Claims(account, address, stream, datetime.now(UTC).date(), delivery_id or None)
        headers = unsubscribe_headers(
            keys, settings.unsubscribe_base_url, claims, settings.unsubscribe_mailto or None
        )
    except InputError as error:
        raise fail(f"{error.message} (check the address)", 2) from error
    except ValueError as error:
        raise fail(f"{error}; set SUPPRESSOR_UNSUBSCRIBE_KEYS to id=secret pairs", 2) from error
    if as_json:
        typer.echo(orjson.dumps(headers).decode())
        return
    for name, value in headers.items():
        typer.echo(f"{name}: {value}")


def register(app: typer.Typer) -> None:
    """Add ``unsubscribe-link`` to the ``suppressor`` command."""
    app.command("unsubscribe-link")(unsubscribe_link)
