"""Every API route does what the list tools do, on an in-memory view (no broker)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.memory import MemoryLists
from workers.domain.files import EXPORT_HEADER

BASE = "/v1/accounts/acme"
H = auth("acme")


def _post(api: TestClient, path: str, body: dict[str, Any] | None = None) -> Any:
    response = api.post(BASE + path, json=body, headers=H)
    assert response.status_code == 200, response.text
    return response.json()


def _get(api: TestClient, path: str, **params: Any) -> Any:
    response = api.get(BASE + path, params=params, headers=H)
    assert response.status_code == 200, response.text
    return response.json()


def _decision(api: TestClient, address: str, stream: str = "marketing") -> dict[str, Any]:
    result: dict[str, Any] = _get(api, "/check", address=address, stream=stream)["results"][0]
    return result


def test_block_then_check_names_rule_and_reason(api: TestClient) -> None:
    """A blocked address is denied by 'suppressed' with reason 2, as given and normalised."""
    written = _post(api, "/addresses/block", {"email": " Jane@Example.COM ", "notes": "asked"})
    assert written["visible"] is True and written["event_id"]
    assert _decision(api, "jane@example.com") == {
        "address": "jane@example.com",
        "allowed": False,
        "rule": "suppressed",
        "reason": 2,
        "reason_text": "manual intervention",
    }
    assert _decision(api, "JANE@example.com", "transactional")["allowed"] is False


def test_unblock_releases_the_address(api: TestClient) -> None:
    """After an unblock the address is allowed again by the default rule."""
    _post(api, "/addresses/block", {"email": "jane@example.com"})
    _post(api, "/addresses/unblock", {"email": "jane@example.com"})
    assert _decision(api, "jane@example.com")["rule"] == "default"


def test_check_post_answers_in_order_for_many(api: TestClient) -> None:
    """POST /check gives one result per address, in order, invalid ones included."""
    _post(api, "/addresses/block", {"email": "b@example.com"})
    body = _post(api, "/check", {"addresses": ["a@example.com", "b@example.com", "nope"]})
    assert [(r["address"], r["rule"]) for r in body["results"]] == [
        ("a@example.com", "default"),
        ("b@example.com", "suppressed"),
        ("nope", "invalid_address"),
    ]


def test_address_allow_skips_domain_rules_and_disallow_restores_them(api: TestClient) -> None:
    """An allowed address passes its domain's block; disallowing it brings the block back."""
    _post(api, "")  # account.create: the default pool blocks allegro.pl
    assert _decision(api, "vip@allegro.pl")["rule"] == "domain_block"
    _post(api, "/addresses/allow", {"email": "vip@allegro.pl"})
    assert _decision(api, "vip@allegro.pl")["rule"] == "address_allow"
    _post(api, "/addresses/disallow", {"email": "vip@allegro.pl"})
    assert _decision(api, "vip@allegro.pl")["rule"] == "domain_block"


def test_domain_rules_block_list_and_unblock(api: TestClient) -> None:
    """A domain rule blocks sending, shows in the listing with its flags, and can be removed."""
    _post(api, "/domains/block", {"domain": "*.Spam.example", "collection_block": True})
    assert _decision(api, "x@mail.spam.example")["rule"] == "domain_block"
    listed = _get(api, "/domains")
    assert listed["rules"] == [
        {
            "domain": "*.spam.example",
            "send_block": True,
            "collection_block": True,
            "reason": 2,
            "notes": None,
        }
    ]
    _post(api, "/domains/unblock", {"domain": "*.spam.example"})
    assert _get(api, "/domains")["rules"] == []
    assert _decision(api, "x@mail.spam.example")["allowed"] is True


def test_domain_allow_list_turns_on_and_off(api: TestClient) -> None:
    """Allow-listing one domain blocks every other; removing it turns the allow list off."""
    _post(api, "/domains/allow", {"domain": "partner.example"})
    assert _get(api, "/domains")["allow"] == ["partner.example"]
    assert _decision(api, "a@partner.example")["allowed"] is True
    assert _decision(api, "a@other.example")["rule"] == "domain_allow_list"
    _post(api, "/domains/disallow", {"domain": "partner.example"})
    assert _decision(api, "a@other.example")["allowed"] is True


def test_recipient_allowlist_one_address_per_call(api: TestClient, lists: MemoryLists) -> None:
    """allowlist/add takes one address (a list or extra field is refused) and beats a block."""
    _post(api, "/allowlist/add", {"email": "ceo@example.com"})
    _post(api, "/addresses/block", {"email": "ceo@example.com"})
    assert _decision(api, "ceo@example.com")["rule"] == "recipient_allowlist"
    written = len(lists.commands)
    for body in (
        {"email": ["a@example.com", "b@example.com"]},
        {"emails": ["a@example.com"]},
        {"email": "a@example.com", "more": "b@example.com"},
    ):
        response = api.post(BASE + "/allowlist/add", json=body, headers=H)
        assert response.status_code == 422, body
    assert len(lists.commands) == written
    _post(api, "/allowlist/remove", {"email": "ceo@example.com"})
    assert _decision(api, "ceo@example.com")["rule"] == "default"  # the block changed nothing


def test_uri_patterns_add_list_check_remove(api: TestClient) -> None:
    """URI patterns turn the allowlist on; a body with an unlisted link is rejected."""
    assert _get(api, "/uri-patterns") == {"enabled": False, "patterns": []}
    _post(api, "/uri-patterns", {"pattern": r"^https://shop\.example/"})
    assert _get(api, "/uri-patterns") == {"enabled": True, "patterns": [r"^https://shop\.example/"]}
    body = '<a href="https://shop.example/a">a</a> <a href="https://evil.example/">b</a>'
    verdict = _post(api, "/uri-patterns/check", {"body": body, "html": True})
    assert verdict == {"allowed": False, "offending": ["https://evil.example/"]}
    ok = _post(api, "/uri-patterns/check", {"body": "https://shop.example/x", "html": False})
    assert ok == {"allowed": True, "offending": []}
    _post(api, "/uri-patterns/remove", {"pattern": r"^https://shop\.example/"})
    assert _get(api, "/uri-patterns")["enabled"] is False


def test_an_unanchored_uri_pattern_is_refused_with_its_code(api: TestClient) -> None:
    """A pattern the worker would refuse is a 422 with code invalid_pattern."""
    response = api.post(BASE + "/uri-patterns", json={"pattern": "example.com"}, headers=H)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_pattern"


def test_filter_returns_allowed_and_counts_excluded_by_reason(api: TestClient) -> None:
    """The batch filter keeps allowed addresses in order and counts the rest by reason."""
    _post(api, "")
    _post(api, "/addresses/block", {"email": "b@example.com"})
    group = ["a@example.com", "b@example.com", "c@allegro.pl", "d@allegro.pl", "bad", "e@x.com"]
    body = _post(api, "/filter", {"addresses": group})
    assert body["allowed"] == ["a@example.com", "e@x.com"]
    assert body["total"] == 6 and body["excluded"] == 4
    assert body["excluded_by_reason"] == {
        "domain_block 2 (manual intervention)": 2,
        "suppressed 2 (manual intervention)": 1,
        "invalid_address": 1,
    }
    assert body["invalid"] == ["bad"]


def test_import_csv_reports_bad_rows_with_line_numbers(api: TestClient) -> None:
    """A CSV with bad rows imports the good ones and reports bad and present ones by line."""
    _post(api, "/addresses/block", {"email": "old@example.com"})
    csv = (
        b'email;notes\r\nnew@example.com;"from the shop; 2024"\r\nold@example.com\r\n'
        b"not-an-address\r\n\r\nx@example.com;;7\r\nnew@example.com\r\nlegacy@example.com;;10\r\n"
    )
    response = api.post(BASE + "/import", files={"file": ("l.csv", csv, "text/csv")}, headers=H)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["already_present"], report["invalid"]) == (2, 2, 2)
    assert [(r["line"], r["code"]) for r in report["invalid_rows"]] == [
        (4, "invalid_address"),
        (6, "invalid_reason"),
    ]
    assert report["invalid_rows"][0]["raw"] == "not-an-address"
    assert report["already_present_rows"] == [
        {"line": 3, "email": "old@example.com"},
        {"line": 7, "email": "new@example.com"},
    ]
    assert report["not_visible"] == []
    assert _decision(api, "new@example.com")["reason"] == 2
    assert _decision(api, "legacy@example.com")["reason"] == 10


def test_import_manual_list_applies_one_note(api: TestClient) -> None:
    """The manual format takes one address a line and one note for all."""
    data = b"a@example.com\n\nb@example.com\nnope\n"
    response = api.post(
        BASE + "/import",
        files={"file": ("l.txt", data)},
        data={"format": "manual", "notes": "ticket 7"},
        headers=H,
    )
    report = response.json()
    assert (report["added"], report["invalid"]) == (2, 1)
    assert report["invalid_rows"][0]["line"] == 4
    export = api.get(BASE + "/export", headers=H).text
    assert "a@example.com;example.com;" in export and export.count("ticket 7") == 2


def test_import_that_is_not_utf8_is_refused(api: TestClient) -> None:
    """Bytes that are not UTF-8 are refused whole with code bad_encoding."""
    response = api.post(BASE + "/import", files={"file": ("l.csv", b"\xff\xfe\x00a")}, headers=H)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_encoding"


def test_export_streams_csv_with_every_field(api: TestClient) -> None:
    """The export is CSV with SPEC §8's fields, one line per suppression, safe cells."""
    _post(api, "/addresses/block", {"email": "jane@example.com", "notes": "=SUM(A1); said no"})
    _post(api, "/allowlist/add", {"email": "ceo@example.com"})
    response = api.get(BASE + "/export", headers=H)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "content-length" not in response.headers  # streamed
    lines = response.text.split("\r\n")
    assert lines[0] == ";".join(EXPORT_HEADER)
    cells = lines[1].split(";", 5)
    assert cells[:5] == ["jane@example.com", "example.com", cells[2], "2", "block"]
    assert cells[2].endswith("Z")
    assert lines[1].endswith(';;;"\'=SUM(A1); said no"')
    assert lines[2:] == [""]  # the recipient allowlist is not a suppression


def test_stats_count_the_accounts_entries(api: TestClient) -> None:
    """Stats count active entries of this account per list, with the view's freshness."""
    _post(api, "/addresses/block", {"email": "a@example.com"})
    _post(api, "/domains/block", {"domain": "x.example"})
    stats = _get(api, "/stats")
    assert (stats["block"], stats["domain-rule"], stats["bounce"]) == (1, 1, 0)
    assert stats["view"]["ready"] is True


def test_a_write_not_yet_visible_answers_202(api: TestClient, lists: MemoryLists) -> None:
    """When the effect is not visible within the bounded wait the answer is 202, visible false."""
    lists.hold_writes = True
    response = api.post(BASE + "/addresses/block", json={"email": "a@example.com"}, headers=H)
    assert response.status_code == 202
    assert response.json()["visible"] is False
    assert lists.commands[-1]["type"] == "address.block"


def test_reads_wait_for_a_ready_view(api: TestClient, lists: MemoryLists) -> None:
    """Until the view caught up, reads answer 503 not_ready and /healthz says not ready."""
    lists.ready = False
    response = api.get(BASE + "/check", params={"address": "a@example.com"}, headers=H)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_ready"
    health = api.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"ready": False, "lag": 0, "seconds_since_record": 0.5}
