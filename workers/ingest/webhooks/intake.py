"""One webhook call, from raw bytes and headers to a verdict: who sent it, what it says.

The route hands over the provider, the URL's account, the raw body and the headers; this
module checks the credentials the provider uses, decodes, maps, and answers with a
``Verdict``: the events to produce, the status to answer, whether the body belongs on
``webhooks.dlq``. No Kafka here and no clock: ``now`` is passed in; the SNS certificate
source is injected. The production source may fetch over the network (once per
certificate URL), so the route calls ``handle`` from a thread.

Order matters. Credentials first, so an unauthenticated caller gets 401/403 and nothing
else (not even whether its JSON parsed); only a call whose sender is proven can put a
body on the DLQ. Mailgun and SNS sign *inside* the body, so a body of theirs that is
not even JSON cannot be proven and is refused (400) without a DLQ record.

Credentials: on ``/webhooks/{provider}/{account}`` the account's own secret (or the
provider-wide ``*`` one); on ``/webhooks/{provider}`` only the ``*`` secret, and the
account comes from the message's metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from suppressor_client.errors import InputError

from workers.ingest.webhooks import mailgun, postmark, sendgrid, ses, sns, sparkpost
from workers.ingest.webhooks.mapping import AccountMismatch, Mapped, NotUnderstood, Routing
from workers.ingest.webhooks.signatures import (
    MissingCredentials,
    ReplayGuard,
    SignatureRefused,
    WebhookSecrets,
    check_basic_or_token,
    check_mailgun,
    check_sendgrid,
)

__all__ = ["PROVIDERS", "Intake", "Verdict", "decode"]

PROVIDERS = ("ses", "sendgrid", "mailgun", "postmark", "sparkpost")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one call: produce ``events`` then answer ``status``; or refuse."""

    status: int
    outcome: str  # accepted, ignored, confirmed, bad_payload, unauthorized, forbidden...
    events: tuple[dict[str, Any], ...] = ()
    skipped: tuple[str, ...] = ()
    error: InputError | None = None
    dead_letter: bool = False  # keep the raw body on webhooks.dlq with the error
    confirm_url: str | None = None  # SNS SubscriptionConfirmation: GET this to confirm
    replay_token: str | None = None  # Mailgun: remember once the call succeeded


@dataclass(frozen=True)
class Intake:
    """The configuration every call needs: secrets per provider, routing, bounds."""

    secrets: Mapping[str, WebhookSecrets]
    routing: Routing
    max_age: timedelta
    certificates: sns.CertificateSource
    replays: ReplayGuard = field(default_factory=lambda: ReplayGuard(timedelta(minutes=10)))

    def handle(
        self,
        provider: str,
        account: str | None,
        body: bytes,
        headers: Mapping[str, str],
        now: datetime,
    ) -> Verdict:
        """The verdict on one call (``headers`` with lower-case names)."""
        routing = Routing(
            account,
            self.routing.account_field,
            self.routing.delivery_field,
            self.routing.stream_field,
        )
        try:
            return _HANDLERS[provider](self, routing, body, headers, now)
        except MissingCredentials as error:
            return Verdict(401, "unauthorized", error=error)
        except (SignatureRefused, AccountMismatch) as error:
            return Verdict(403, "forbidden", error=error)
        except NotUnderstood as error:
            return Verdict(400, "bad_payload", error=error, dead_letter=True)

    def secret(self, provider: str, account: str | None) -> str:
        """The secret vouching for ``account`` (``*`` only, without one); 403 when none."""
        secrets = self.secrets.get(provider, WebhookSecrets())
        found = secrets.for_account(account) if account is not None else secrets.for_account("*")
        if found is None:
            raise SignatureRefused(f"no {provider} webhook credentials are configured for this URL")
        return found


def decode(body: bytes) -> Any:
    """The JSON of a body, or ``NotUnderstood``."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise NotUnderstood(f"the body is not JSON: {error}") from None


def _accepted(mapped: Mapped, **extra: Any) -> Verdict:
    outcome = "accepted" if mapped.events else "ignored"
    return Verdict(200, outcome, mapped.events, mapped.skipped, **extra)


def _ses(
    intake: Intake, routing: Routing, body: bytes, headers: Mapping[str, str], now: datetime
) -> Verdict:
    try:
        message = sns.parse_envelope(decode(body))
    except NotUnderstood as error:  # unsigned (or unreadable) bytes: nothing proves SNS sent them
        return Verdict(400, "bad_payload", error=error)
    # The topic first: a call naming a topic this URL does not take is refused before its
    # SigningCertURL is fetched, so forged calls cannot make us fetch certificates at will.
    allowed = intake.secret("ses", routing.account)
    if message.topic_arn not in allowed.split():
        raise SignatureRefused("this SNS topic is not configured for this URL")
    sns.verify(message, intake.certificates)
    if message.type == "SubscriptionConfirmation":
        url = message.subscribe_url
        if url is None or not sns.trusted_cert_url(url, pem=False):
            raise SignatureRefused("SubscribeURL is not an https URL on an SNS host")
        return Verdict(200, "confirmed", confirm_url=url)
    if message.type == "UnsubscribeConfirmation":
        return Verdict(200, "unsubscribed_topic")
    return _accepted(
        ses.map_ses(decode(message.message.encode("utf-8")), message.message_id, routing)
    )


def _sendgrid(
    intake: Intake, routing: Routing, body: bytes, headers: Mapping[str, str], now: datetime
) -> Verdict:
    check_sendgrid(
        body,
        signature=headers.get("x-twilio-email-event-webhook-signature"),
        timestamp=headers.get("x-twilio-email-event-webhook-timestamp"),
        public_key=intake.secret("sendgrid", routing.account),
        now=now,
        max_age=intake.max_age,
    )
    return _accepted(sendgrid.map_sendgrid(decode(body), routing))


def _mailgun(
    intake: Intake, routing: Routing, body: bytes, headers: Mapping[str, str], now: datetime
) -> Verdict:
    try:
        payload = decode(body)
    except NotUnderstood as error:
        return Verdict(400, "bad_payload", error=error)
    signature = payload.get("signature") if isinstance(payload, dict) else None
    if not isinstance(signature, dict):
        raise MissingCredentials("a Mailgun webhook carries its signature object")
    token = check_mailgun(
        timestamp=signature.get("timestamp"),
        token=signature.get("token"),
        signature=signature.get("signature"),
        signing_key=intake.secret("mailgun", routing.account),
        now=now,
        max_age=intake.max_age,
        replays=intake.replays,
    )
    mapped = mailgun.map_mailgun(payload, routing)
    return _accepted(mapped, replay_token=token)


def _basic(provider: str, token_header: str | None) -> Callable[..., Verdict]:
    mapper: Callable[[object, Routing], Mapped] = (
        postmark.map_postmark if provider == "postmark" else sparkpost.map_sparkpost
    )

    def handle(
        intake: Intake, routing: Routing, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> Verdict:
        check_basic_or_token(
            headers.get("authorization"),
            headers.get(token_header) if token_header else None,
            intake.secret(provider, routing.account),
            provider,
        )
        return _accepted(mapper(decode(body), routing))

    return handle


_HANDLERS: dict[str, Callable[..., Verdict]] = {
    "ses": _ses,
    "sendgrid": _sendgrid,
    "mailgun": _mailgun,
    "postmark": _basic("postmark", None),
    "sparkpost": _basic("sparkpost", "x-messagesystems-webhook-token"),
}
"""Provider -> its credential check and mapping."""
