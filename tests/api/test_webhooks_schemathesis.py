"""Schemathesis against the webhook and unsubscribe routes' OpenAPI: no input makes a 500.

Bounded examples per operation, so the run takes seconds. The calls carry no valid
signature (schemathesis cannot make one), so they exercise the bound, the credential
checks and the token reader: every answer must be a 4xx, never a server error.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from tests.api.memory import MemoryLists
from tests.api.webhook_support import Calls, webhook_settings
from workers.api.app import create_app
from workers.api.event_sink import KafkaSink
from workers.api.webhook_service import WebhookService
from workers.settings import Settings

_calls = Calls()
_settings = webhook_settings(Settings(topic_prefix="fuzz-never-produced."), _calls)
_service = WebhookService.from_settings(
    _settings, sink=KafkaSink(_settings), certificates=_calls.sns.store, confirm=lambda _u: 200
)
_lists = MemoryLists()
APP = create_app(_settings, client=_lists, writer=_lists, webhooks=_service)

schema = schemathesis.openapi.from_asgi("/openapi.json", APP).include(
    path_regex=r"^/(webhooks|unsubscribe)/"
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_call_is_a_server_error(case: Any) -> None:
    """Whatever schemathesis sends to a webhook or unsubscribe route, the answer is below 500."""
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
