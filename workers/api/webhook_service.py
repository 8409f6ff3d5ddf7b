"""What the webhook and unsubscribe routes share: intake, sink, clock, SNS confirmation.

Built from settings by ``WebhookService.from_settings``; tests pass their own certificate
store, HTTP getter (for SNS ``SubscribeURL``) and clock, so nothing reaches the network.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request

from workers.api.event_sink import EventSink, KafkaSink
from workers.ingest.webhooks.intake import PROVIDERS, Intake
from workers.ingest.webhooks.mapping import Routing
from workers.ingest.webhooks.signatures import ReplayGuard, WebhookSecrets
from workers.ingest.webhooks.sns import CertificateSource
from workers.ingest.webhooks.sns_certs import CachedCertificates
from workers.ingest.webhooks.unsubscribe import UnsubscribeKeys
from workers.settings import Settings

__all__ = ["WebhookService", "https_confirm", "secrets_of", "webhook_service"]

HttpGet = Callable[[str], int]
"""GET a URL, return the status (SNS SubscribeURL confirmation)."""


def https_confirm(url: str, timeout: float = 5.0) -> int:
    """GET an SNS SubscribeURL over verified https (redirects not followed)."""
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(
        parts.hostname or "", 443, timeout=timeout, context=ssl.create_default_context()
    )
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target or "/")
        answer = connection.getresponse()
        answer.read(64 * 1024)
        return answer.status
    finally:
        connection.close()


def secrets_of(settings: Settings) -> dict[str, WebhookSecrets]:
    """Each provider's credentials from its setting (``ValueError`` names the variable)."""
    raw = {
        "ses": ("SUPPRESSOR_WEBHOOK_SES_TOPICS", settings.webhook_ses_topics),
        "sendgrid": ("SUPPRESSOR_WEBHOOK_SENDGRID_KEYS", settings.webhook_sendgrid_keys),
        "mailgun": ("SUPPRESSOR_WEBHOOK_MAILGUN_KEYS", settings.webhook_mailgun_keys),
        "postmark": (
            "SUPPRESSOR_WEBHOOK_POSTMARK_CREDENTIALS",
            settings.webhook_postmark_credentials,
        ),
        "sparkpost": (
            "SUPPRESSOR_WEBHOOK_SPARKPOST_CREDENTIALS",
            settings.webhook_sparkpost_credentials,
        ),
    }
    assert set(raw) == set(PROVIDERS)
    return {p: WebhookSecrets.parse(text, env) for p, (env, text) in raw.items()}


@dataclass
class WebhookService:
    """The intake (credentials, mapping), the sink, and the injectable edges."""

    settings: Settings
    intake: Intake
    sink: EventSink
    unsubscribe_keys: UnsubscribeKeys
    confirm: HttpGet = https_confirm
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @staticmethod
    def check(settings: Settings) -> None:
        """Read every webhook and unsubscribe secret once: ``ValueError`` names a bad one."""
        secrets_of(settings)
        UnsubscribeKeys.parse(settings.unsubscribe_keys)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        sink: EventSink | None = None,
        certificates: CertificateSource | None = None,
        confirm: HttpGet = https_confirm,
        clock: Callable[[], datetime] | None = None,
    ) -> WebhookService:
        """The service the settings describe; tests replace the network-facing parts."""
        intake = Intake(
            secrets=secrets_of(settings),
            routing=Routing(
                account_field=settings.webhook_account_field,
                delivery_field=settings.webhook_delivery_field,
                stream_field=settings.webhook_stream_field,
            ),
            max_age=settings.webhook_max_age,
            certificates=certificates if certificates is not None else CachedCertificates(),
            replays=ReplayGuard(settings.webhook_max_age * 2),
        )
        return cls(
            settings,
            intake,
            sink if sink is not None else KafkaSink(settings),
            UnsubscribeKeys.parse(settings.unsubscribe_keys),
            confirm,
            clock or (lambda: datetime.now(UTC)),
        )


_building = threading.Lock()


def webhook_service(request: Request) -> WebhookService:
    """The app's service; built from settings on first use, so an app that never takes a
    webhook never opens a producer (the app closes it when it stops)."""
    state = request.app.state
    with _building:
        if state.webhooks is None:
            state.webhooks = WebhookService.from_settings(state.settings)
            state.own_webhooks = True
    found: WebhookService = state.webhooks
    return found
