"""The SNS certificate source under forged calls: the topic is checked before any fetch,
a failed fetch is remembered for a while, and one URL is fetched by one caller at a time;
the largest webhooks.dlq record fits the producer's message size."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.ingest.webhooks.signing import CERT_URL, TOPIC_ARN, SnsSigner
from workers.ingest.webhooks.dead_letter import MAX_RECORD_BYTES, encode_webhook_dlq
from workers.ingest.webhooks.intake import Intake
from workers.ingest.webhooks.mapping import NotUnderstood, Routing
from workers.ingest.webhooks.signatures import SignatureRefused, WebhookSecrets
from workers.ingest.webhooks.sns import parse_envelope, verify
from workers.ingest.webhooks.sns_certs import FAILURE_TTL, CachedCertificates

NOW = datetime(2026, 1, 27, 12, 0, tzinfo=UTC)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sns() -> SnsSigner:
    return SnsSigner()


def test_a_forged_call_for_another_topic_is_refused_before_the_certificate_is_fetched(
    sns: SnsSigner,
) -> None:
    """An SES call naming a topic the URL does not take is 403 and its SigningCertURL is
    never fetched; a call for the configured topic is verified (one fetch)."""
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return sns.pem

    intake = Intake(
        secrets={"ses": WebhookSecrets.parse(f"*={TOPIC_ARN}", "SUPPRESSOR_WEBHOOK_SES_TOPICS")},
        routing=Routing(),
        max_age=timedelta(minutes=5),
        certificates=CachedCertificates(fetch),
    )
    other = "arn:aws:sns:eu-west-1:000000000000:someone-elses-topic"
    forged = json.dumps(sns.envelope('{"a": 1}', topic=other)).encode()
    verdict = intake.handle("ses", None, forged, {}, NOW)
    assert verdict.status == 403 and fetched == []
    ours = json.dumps(sns.envelope("{}", kind="UnsubscribeConfirmation")).encode()
    assert intake.handle("ses", None, ours, {}, NOW).status == 200
    assert fetched == [CERT_URL]


def test_a_failed_fetch_is_remembered_for_a_while_then_tried_again(sns: SnsSigner) -> None:
    """A certificate URL that does not answer is fetched once for any number of calls within
    FAILURE_TTL, each refused (403, never 500); after it, the next call fetches again."""
    attempts: list[str] = []
    clock = Clock()

    def fetch(url: str) -> bytes:
        attempts.append(url)
        raise TimeoutError("timed out")  # an OSError, as http.client raises it

    source = CachedCertificates(fetch, clock=clock)
    message = parse_envelope(sns.envelope('{"a": 1}'))
    for _ in range(50):
        with pytest.raises(SignatureRefused, match="could not fetch"):
            verify(message, source)
    assert attempts == [CERT_URL]
    clock.now += FAILURE_TTL + 1
    with pytest.raises(SignatureRefused):
        verify(message, source)
    assert attempts == [CERT_URL, CERT_URL]


def test_concurrent_callers_of_one_url_share_one_fetch(sns: SnsSigner) -> None:
    """While one thread fetches a certificate, others asking for the same URL wait for its
    result instead of fetching it again."""
    started, release = threading.Event(), threading.Event()
    attempts: list[str] = []

    def fetch(url: str) -> bytes:
        attempts.append(url)
        started.set()
        release.wait(10)
        return sns.pem

    source = CachedCertificates(fetch)
    got: list[bytes] = []
    first = threading.Thread(target=lambda: got.append(source(CERT_URL)))
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=lambda: got.append(source(CERT_URL))) for _ in range(8)]
    for thread in others:
        thread.start()
    release.set()
    for thread in (first, *others):
        thread.join(10)
    assert attempts == [CERT_URL] and got == [sns.pem] * 9


def test_the_largest_dead_letter_record_fits_the_producers_message_size() -> None:
    """Whatever the body (3 MiB of any bytes) and however long the error, path and content
    type, the webhooks.dlq record stays under MAX_RECORD_BYTES and says it was cut."""
    body = bytes(range(256)) * (3 * 1024 * 1024 // 256)
    error = NotUnderstood("é" * 20_000, path="p" * 20_000)
    record = encode_webhook_dlq(
        provider="sparkpost",
        account="a" * 128,
        error=error,
        body=body,
        content_type="x" * 20_000,
        failed_at=NOW,
    )
    assert len(record) < MAX_RECORD_BYTES
    kept = orjson.loads(record)
    assert kept["original_truncated"] is True and kept["original_size"] == len(body)
