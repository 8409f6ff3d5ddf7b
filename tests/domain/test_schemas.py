"""The JSON Schemas under ``schemas/``: well-formed, consistent with the code, examples."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator
from suppressor_client.types import CATEGORY_OF, CommandType, DeliveryType, ListName, Reason, Source

from tests.domain.schema_support import (
    EXAMPLES,
    SCHEMAS,
    Example,
    error_path,
    examples,
    leaf_errors,
    matches,
    schema_names,
    validator,
)
from workers.domain.events import IMPORT_ROWS

TOPIC_SCHEMAS = {
    "customer-event",
    "delivery-event",
    "command",
    "suppression-key",
    "suppression-record",
    "rejected-event",
    "dlq-record",
    "webhook-dlq-record",
}


def _defs() -> dict[str, dict[str, object]]:
    return json.loads((SCHEMAS / "common.schema.json").read_text())["$defs"]  # type: ignore[no-any-return]


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", schema_names())
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    """Every schema file is a valid draft 2020-12 schema with an ``$id`` matching its name."""
    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert str(schema["$id"]).endswith(f"/{name}.schema.json")


def test_every_topic_has_a_schema_and_examples() -> None:
    """Each record format on a topic has a schema and at least one valid and one invalid example."""
    assert set(schema_names()) == TOPIC_SCHEMAS | {"common"}
    for name in TOPIC_SCHEMAS:
        found = list(examples(name))
        assert any(e.valid for e in found), name
        assert any(not e.valid for e in found), name


def test_every_invalid_example_states_a_reason() -> None:
    """No invalid example lacks its ``.reason`` sidecar, and no sidecar is orphaned."""
    for path in EXAMPLES.glob("*/invalid/*.json"):
        assert path.with_suffix(".reason").is_file(), path
    for path in EXAMPLES.glob("*/invalid/*.reason"):
        assert path.with_suffix(".json").is_file(), path


@pytest.mark.parametrize("example", list(examples()), ids=lambda e: e.id)
def test_example_fails_exactly_for_its_stated_reasons(example: Example) -> None:
    """A valid example has no error; an invalid one has exactly the errors its sidecar states."""
    errors = leaf_errors(example.schema, example.load())
    if example.valid:
        assert errors == [], [(error_path(e), e.validator, e.message) for e in errors]
        return
    assert example.reasons, "an invalid example must state why"
    unmatched = [e for e in errors if not any(matches(r, e) for r in example.reasons)]
    unstated = [r for r in example.reasons if not any(matches(r, e) for e in errors)]
    found = [(error_path(e), e.validator, e.message[:80]) for e in errors]
    assert not unmatched, f"errors not stated: {found}"
    assert not unstated, f"stated but not raised: {unstated}; raised: {found}"


def test_enums_match_the_python_types() -> None:
    """The schemas' closed sets are exactly the enums of ``suppressor_client.types``."""
    defs = _defs()
    assert defs["reason"]["enum"] == [int(r) for r in Reason]
    assert set(defs["list"]["enum"]) == {n.value for n in ListName}  # type: ignore[arg-type]
    assert set(defs["category"]["enum"]) == {c.value for c in CATEGORY_OF.values()}  # type: ignore[arg-type]
    props = _schema("delivery-event")["properties"]
    assert set(props["type"]["enum"]) == {t.value for t in DeliveryType}  # type: ignore[index]
    assert set(_schema("customer-event")["properties"]["source"]["enum"]) == {  # type: ignore[index]
        s.value for s in Source
    }
    assert set(_schema("command")["properties"]["type"]["enum"]) == {  # type: ignore[index]
        t.value for t in CommandType
    } | {IMPORT_ROWS}


@pytest.mark.parametrize("reason", list(Reason))
def test_record_schema_ties_each_reason_to_its_category(reason: Reason) -> None:
    """A record with a reason validates with that reason's category and fails with any other."""
    record = {
        "account_id": "acme",
        "list": "uri-pattern",
        "subject": "^x$",
        "version": 1,
        "active": False,
        "reason": int(reason),
    }
    if reason is Reason.TEMPORARY:
        record["expires_at"] = "2024-01-01T00:00:00Z"
    check = validator("suppression-record")
    for category in CATEGORY_OF.values():
        ok = check.is_valid({**record, "category": category.value})
        assert ok is (category is CATEGORY_OF[reason]), (reason, category)
