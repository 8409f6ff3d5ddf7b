"""Building signed provider calls for the API tests, and the app that takes them.

``Calls`` knows each provider's credentials (generated or fixed test secrets) and turns
a fixture file into (path, body, headers) as that provider would send it; ``webhook_app``
is the real app over a real ``KafkaSink`` on the test's topics, with a local SNS
certificate store and a recording SNS confirmer, so nothing reaches the network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests.api.memory import MemoryLists
from tests.ingest.webhooks.signing import (
    MAILGUN_KEY,
    TOPIC_ARN,
    SendGridSigner,
    SnsSigner,
    fixture_bytes,
    mailgun_body,
)
from workers.api.app import create_app
from workers.api.event_sink import KafkaSink
from workers.api.webhook_service import WebhookService
from workers.settings import Settings

__all__ = ["UNSUBSCRIBE_KEYS", "Calls", "event_ids", "webhook_app", "webhook_settings"]

POSTMARK = {"acme": "hooks:pm-acme-secret", "beta": "hooks:pm-beta-secret"}
SPARKPOST_TOKEN = "sp-token-of-acme-0123"
UNSUBSCRIBE_KEYS = "k1=the-unsubscribe-secret-of-tests-01"


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@dataclass
class Calls:
    """Signed calls per provider, as each provider sends them."""

    sns: SnsSigner = field(default_factory=SnsSigner)
    sendgrid: SendGridSigner = field(default_factory=SendGridSigner)

    def secrets(self) -> dict[str, str]:
        """The settings that make the app trust these calls."""
        return {
            "webhook_ses_topics": f"acme={TOPIC_ARN},*={TOPIC_ARN}",
            "webhook_sendgrid_keys": f"acme={self.sendgrid.public},*={self.sendgrid.public}",
            "webhook_mailgun_keys": f"acme={MAILGUN_KEY},*={MAILGUN_KEY}",
            "webhook_postmark_credentials": ",".join(f"{a}={c}" for a, c in POSTMARK.items()),
            "webhook_sparkpost_credentials": f"acme={SPARKPOST_TOKEN}",
            "unsubscribe_keys": UNSUBSCRIBE_KEYS,
        }

    def call(
        self, name: str, account: str | None = "acme", **options: Any
    ) -> tuple[str, bytes, dict[str, str]]:
        """(path, body, headers) of the fixture ``name`` sent by its provider."""
        provider = name.split("/", maxsplit=1)[0]
        path = f"/webhooks/{provider}" + (f"/{account}" if account else "")
        if provider == "ses":
            message = fixture_bytes(name).decode()
            envelope = self.sns.envelope(message, message_id=options.get("message_id", name))
            return path, json.dumps(envelope).encode(), {"Content-Type": "text/plain"}
        if provider == "mailgun":
            body = mailgun_body(name, token=options.get("token"))
            return path, body, {"Content-Type": "application/json"}
        body = fixture_bytes(name)
        if provider == "sendgrid":
            return path, body, self.sendgrid.headers(body)
        if provider == "postmark":
            auth = _basic(POSTMARK[account or "acme"])
            return path, body, {"Authorization": auth, "Content-Type": "application/json"}
        return path, body, {"X-MessageSystems-Webhook-Token": SPARKPOST_TOKEN}


def webhook_settings(base: Settings, calls: Calls, **overrides: Any) -> Settings:
    return base.with_(**calls.secrets(), **overrides)


@contextmanager
def webhook_app(
    settings: Settings, calls: Calls, confirmed: list[str] | None = None
) -> Iterator[TestClient]:
    """The real app, its webhook sink on the real broker, SNS certificates from a local store."""
    seen = confirmed if confirmed is not None else []

    def confirm(url: str) -> int:
        """Record the URL; one naming ``unreachable`` fails as a network error would."""
        if "unreachable" in url:
            raise OSError("SNS is unreachable")
        seen.append(url)
        return 200

    sink = KafkaSink(settings)
    service = WebhookService.from_settings(
        settings, sink=sink, certificates=calls.sns.store, confirm=confirm
    )
    lists = MemoryLists()
    try:
        with TestClient(create_app(settings, client=lists, writer=lists, webhooks=service)) as api:
            yield api
    finally:
        sink.close()


def event_ids(records: list[Any]) -> list[str]:
    """The event ids of delivery-events records."""
    return [orjson.loads(r.value)["event_id"] for r in records if r.value]
