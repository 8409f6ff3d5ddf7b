"""Webhook routes against the real broker: what each call leaves on delivery-events or the DLQ."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from tests.api.webhook_support import (
    UNSUBSCRIBE_KEYS,
    Calls,
    event_ids,
    webhook_app,
    webhook_settings,
)
from tests.ingest.webhooks.signing import FIXTURES, TOPIC_ARN, fixture_bytes
from tests.kafka_helpers import Record, read_topic
from workers.api.event_sink import KafkaSink
from workers.ingest.webhooks.dead_letter import MAX_RECORD_BYTES
from workers.ingest.webhooks.unsubscribe import Claims, UnsubscribeKeys, issue_token
from workers.kafka.producing import ProduceFailed
from workers.kafka.topics import DELIVERY_EVENTS, WEBHOOKS_DLQ, ensure_topics
from workers.settings import Settings

pytestmark = pytest.mark.broker

CASES: dict[str, dict[str, int | None]] = json.loads((FIXTURES / "cases.json").read_text())


@pytest.fixture(scope="module")
def calls() -> Calls:
    """Generated SNS certificate and SendGrid key, shared by the module's calls."""
    return Calls()


@pytest.fixture(scope="module")
def hook_settings(
    kafka_bootstrap: str,
    test_topic_prefixes: list[str],
    calls: Calls,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """The module's own topics on the real broker, and webhook secrets the calls match."""
    tag = uuid.uuid4().hex[:10]
    test_topic_prefixes.append(f"w{tag}.")
    settings = Settings.from_env(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"w{tag}.",
        partitions=1,
        data_dir=Path(tmp_path_factory.mktemp("hooks")),
    )
    ensure_topics(settings, say=lambda _line: None)
    return webhook_settings(settings, calls, webhook_max_body_bytes=256 * 1024)


@pytest.fixture(scope="module")
def confirmed() -> list[str]:
    """SubscribeURLs the app confirmed (the injected getter records them)."""
    return []


@pytest.fixture(scope="module")
def api(hook_settings: Settings, calls: Calls, confirmed: list[str]) -> Iterator[TestClient]:
    """The app with its webhook sink on the module's topics."""
    with webhook_app(hook_settings, calls, confirmed) as client:
        yield client


def _read(settings: Settings, topic: str, wanted: set[str], key: str = "event_id") -> list[Record]:
    def done(records: list[Record]) -> bool:
        seen = {str(orjson.loads(r.value).get(key)) for r in records if r.value}
        return wanted <= seen

    return read_topic(settings.bootstrap_servers, settings.topic(topic), until=done, timeout=30)


def _calls(provider: str, outcome: str) -> float:
    """The webhook call counter of one provider and outcome."""
    labels = {"provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("suppressor_webhook_calls_total", labels) or 0.0


def _marker(api: TestClient, calls: Calls) -> str:
    """Send one good Postmark delivery with a fresh id and return that event's id."""
    body = json.loads(fixture_bytes("postmark/delivery.json"))
    body["MessageID"] = uuid.uuid4().hex
    path, _, headers = calls.call("postmark/delivery.json")
    answer = api.post(path, content=json.dumps(body), headers=headers)
    assert answer.status_code == 200, answer.text
    return f"postmark:delivery:{body['MessageID']}:pm-delivered@example.com"


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_documented_payload_is_acknowledged_on_delivery_events(
    api: TestClient, calls: Calls, hook_settings: Settings, name: str
) -> None:
    """A signed call of each fixture answers 200 once its events are on delivery-events."""
    path, body, headers = calls.call(name)
    answer = api.post(path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == len(CASES[name])
    records = _read(hook_settings, DELIVERY_EVENTS, set(CASES[name]), key="email")
    for record in records:
        event = orjson.loads(record.value or b"{}")
        if event.get("email") in CASES[name]:
            assert event["account_id"] == "acme" and event["event_id"].startswith(name[:3])


def test_the_account_may_come_from_metadata_on_the_provider_wide_url(
    api: TestClient, calls: Calls, hook_settings: Settings
) -> None:
    """On /webhooks/sendgrid (the '*' key) each event's account is its custom argument."""
    path, body, headers = calls.call("sendgrid/batch.json", account=None)
    assert path == "/webhooks/sendgrid"
    answer = api.post(path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"outcome": "accepted", "events": 7, "skipped": 1}


def _dlq_until_marker(api: TestClient, calls: Calls, settings: Settings) -> list[bytes]:
    """Put a marker body on webhooks.dlq and return the originals kept up to it."""
    path, _, headers = calls.call("postmark/delivery.json")
    nonce = uuid.uuid4().hex.encode()
    body = b'{"RecordType": "Marker", "Nonce": "' + nonce + b'"}'
    assert api.post(path, content=body, headers=headers).status_code == 400

    def originals(records: list[Record]) -> list[bytes]:
        return [base64.b64decode(orjson.loads(r.value)["original"]) for r in records if r.value]

    records = read_topic(
        settings.bootstrap_servers,
        settings.topic(WEBHOOKS_DLQ),
        until=lambda rs: any(nonce in o for o in originals(rs)),
        timeout=30,
    )
    return originals(records)


@pytest.mark.parametrize(
    "case",
    [
        ("ses/bounce-notification.json", lambda b, h: (b.replace(b"Bounce", b"Bounca"), h), 403),
        ("sendgrid/batch.json", lambda b, h: (b + b" ", h), 403),
        ("sendgrid/batch.json", lambda b, h: (b, {"Content-Type": "application/json"}), 401),
        (
            "mailgun/complained.json",
            lambda b, h: (b.replace(b'"token": "', b'"token": "x'), h),
            403,
        ),
        ("postmark/bounce-hard.json", lambda b, h: (b, {**h, "Authorization": "Basic eDp5"}), 403),
        ("sparkpost/batch.json", lambda b, h: (b, {}), 401),
    ],
)
def test_a_bad_signature_is_refused_and_produces_nothing(
    api: TestClient, calls: Calls, hook_settings: Settings, case: tuple[str, Any, int]
) -> None:
    """A spoiled signature or missing credentials answer 401/403; nothing reaches Kafka."""
    name, spoil, status = case
    path, body, headers = calls.call(name, message_id=f"spoiled-{uuid.uuid4().hex}")
    assert callable(spoil)
    bad_body, bad_headers = spoil(body, headers)
    answer = api.post(path, content=bad_body, headers=bad_headers)
    assert answer.status_code == status, answer.text
    marker = _marker(api, calls)
    records = _read(hook_settings, DELIVERY_EVENTS, {marker})
    assert not any(
        b"spoiled-" in (r.value or b"") or b"mg-spbm" in (r.value or b"") for r in records
    )
    kept = _dlq_until_marker(api, calls, hook_settings)
    assert not any(bad_body[:200] in original for original in kept)


def test_a_payload_it_cannot_understand_is_400_and_kept_on_the_dlq(
    api: TestClient, calls: Calls, hook_settings: Settings
) -> None:
    """A proven sender's unknown payload answers 400 and lands on webhooks.dlq with its bytes."""
    before = _calls("postmark", "bad_payload")
    path, _, headers = calls.call("postmark/delivery.json")
    body = json.dumps({"RecordType": "Teleport", "Nonce": uuid.uuid4().hex}).encode()
    answer = api.post(path, content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "webhook_payload"
    assert _calls("postmark", "bad_payload") == before + 1  # counted per provider and outcome
    records = _read(hook_settings, WEBHOOKS_DLQ, {"postmark"}, key="provider")
    kept = [orjson.loads(r.value) for r in records if r.value]
    mine = [k for k in kept if base64.b64decode(k["original"]) == body]
    assert len(mine) == 1
    assert mine[0]["error"]["code"] == "webhook_payload"
    assert (mine[0]["provider"], mine[0]["account_id"]) == ("postmark", "acme")


def test_a_call_for_another_account_than_its_credentials_is_refused(
    api: TestClient, calls: Calls
) -> None:
    """Beta's credentials on beta's URL cannot file events that name acme."""
    path, body, headers = calls.call("postmark/bounce-hard.json", account="beta")
    answer = api.post(path, content=body, headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "account_mismatch"
    path, body, headers = calls.call("postmark/bounce-hard.json", account="acme")
    answer = api.post(path.replace("/acme", "/beta"), content=body, headers=headers)
    assert answer.status_code == 403  # acme's password does not open beta's URL


def test_a_replayed_mailgun_token_is_refused(api: TestClient, calls: Calls) -> None:
    """The second call with a token already accepted is a replay: 403."""
    token = uuid.uuid4().hex
    path, body, headers = calls.call("mailgun/unsubscribed.json", token=token)
    assert api.post(path, content=body, headers=headers).status_code == 200
    again = api.post(path, content=body, headers=headers)
    assert again.status_code == 403 and "replay" in again.json()["error"]["message"]


def test_sns_subscription_is_confirmed_only_for_a_configured_topic(
    api: TestClient, calls: Calls, confirmed: list[str]
) -> None:
    """A SubscriptionConfirmation of an allowed topic GETs its SubscribeURL; others are 403."""
    envelope = calls.sns.envelope("You have chosen to subscribe", kind="SubscriptionConfirmation")
    answer = api.post("/webhooks/ses/acme", content=json.dumps(envelope))
    assert answer.status_code == 200 and answer.json()["outcome"] == "confirmed"
    assert confirmed[-1] == envelope["SubscribeURL"]
    count = len(confirmed)
    other = "arn:aws:sns:us-east-1:123456789012:someone-else"
    stranger = calls.sns.envelope("x", kind="SubscriptionConfirmation", topic=other)
    assert api.post("/webhooks/ses/acme", content=json.dumps(stranger)).status_code == 403
    assert len(confirmed) == count
    bye = calls.sns.envelope("unsubscribed", kind="UnsubscribeConfirmation", topic=TOPIC_ARN)
    assert api.post("/webhooks/ses/acme", content=json.dumps(bye)).status_code == 200


def test_a_confirmation_sns_does_not_take_is_502_so_sns_sends_it_again(
    api: TestClient, calls: Calls
) -> None:
    """When GETting the SubscribeURL fails, the call answers 502 (SNS retries it)."""
    url = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&unreachable=1"
    envelope = calls.sns.envelope("x", kind="SubscriptionConfirmation", subscribe_url=url)
    answer = api.post("/webhooks/ses/acme", content=json.dumps(envelope))
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "confirm_failed"


def test_a_record_kafka_refuses_locally_is_a_produce_failure_not_a_500(
    hook_settings: Settings,
) -> None:
    """librdkafka refuses a record over the sink's message size with a KafkaException; the
    sink raises ProduceFailed for it, which the route answers 503 (the provider retries)."""
    sink = KafkaSink(hook_settings)
    try:
        with pytest.raises(ProduceFailed, match="refused"):
            sink.dead_letter(b"x" * (MAX_RECORD_BYTES + 1), b"sparkpost")
    finally:
        sink.close()


def test_a_body_over_the_bound_is_413(api: TestClient, calls: Calls) -> None:
    """A body over SUPPRESSOR_WEBHOOK_MAX_BODY_BYTES is refused before it is read whole."""
    path, _, headers = calls.call("sparkpost/batch.json")
    answer = api.post(path, content=b"[" + b" " * (300 * 1024) + b"]", headers=headers)
    assert answer.status_code == 413


def _token(address: str) -> str:
    keys = UnsubscribeKeys.parse(UNSUBSCRIBE_KEYS)
    return issue_token(keys, Claims("acme", address, "marketing", datetime.now(UTC).date()))


def test_one_click_post_produces_a_list_unsubscribe_event(
    api: TestClient, hook_settings: Settings
) -> None:
    """RFC 8058: POST List-Unsubscribe=One-Click answers 200 and files reason 7's event."""
    address = f"oneclick-{uuid.uuid4().hex[:8]}@example.com"
    token = _token(address)
    answer = api.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200, answer.text
    records = _read(hook_settings, DELIVERY_EVENTS, {address}, key="email")
    values = [orjson.loads(r.value) for r in records if r.value]
    (event,) = [v for v in values if v["email"] == address]
    assert (event["type"], event["account_id"]) == ("list_unsubscribe", "acme")
    multipart = api.post(f"/unsubscribe/{token}", files={"List-Unsubscribe": (None, "One-Click")})
    assert multipart.status_code == 200  # the same token again: the same event id
    assert event["event_id"] in event_ids(_read(hook_settings, DELIVERY_EVENTS, {address}, "email"))


def test_the_link_opened_in_a_browser_shows_a_button_and_changes_nothing(
    api: TestClient,
) -> None:
    """GET shows a confirmation page with a POST form; it does not unsubscribe by itself."""
    token = _token("reader@example.com")
    page = api.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert '<form method="post">' in page.text and "One-Click" in page.text
    assert page.headers["cache-control"] == "no-store"
    plain = api.post(f"/unsubscribe/{token}", content=b"", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 400  # a POST without the one-click field does nothing
    crowded = api.post(
        f"/unsubscribe/{token}",
        content=b"&".join(b"f%d=1" % i for i in range(11)) + b"&List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert crowded.status_code == 400  # more fields than a one-click body has: refused, no 500


@pytest.mark.parametrize(
    "spoil", [lambda t: t[:-2] + "AA", lambda t: t.replace(".k1.", ".k9."), lambda t: "v1.k1.x.y"]
)
def test_a_forged_token_is_refused_without_naming_the_address(
    api: TestClient, spoil: object
) -> None:
    """An altered token answers 400 on GET and POST, and the page names no address."""
    assert callable(spoil)
    token = spoil(_token("secret.person@example.com"))
    for answer in (
        api.get(f"/unsubscribe/{token}"),
        api.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click"),
    ):
        assert answer.status_code == 400
        assert "secret.person" not in answer.text and "example.com" not in answer.text
