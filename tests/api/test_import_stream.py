"""The streamed HTTP import: the body read in chunks, the same report, bounded by a setting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth, key_settings
from tests.api.memory import MemoryLists
from workers.api.app import create_app
from workers.settings import Settings

URL = "/v1/accounts/acme/import/stream"
H = {**auth("acme"), "Content-Type": "text/csv"}


def _body(rows: int) -> Iterator[bytes]:
    """A CSV sent in chunks of 500 rows: a header, then ``rows`` rows, every 100th invalid."""
    yield b"email;notes\r\n"
    for start in range(0, rows, 500):
        yield "".join(
            f'u{n}@x.example;"n {n}"\r\n' if n % 100 != 99 else f"bad {n}\r\n"
            for n in range(start, start + 500)
        ).encode()


def test_a_chunked_body_is_imported_with_line_numbers_and_caps(
    api: TestClient, lists: MemoryLists
) -> None:
    """5,000 streamed rows: counts, invalid and repeated rows with lines, all visible, 200."""
    block = {"email": "u3@x.example"}
    blocked = api.post("/v1/accounts/acme/addresses/block", json=block, headers=auth("acme"))
    assert blocked.is_success
    response = api.post(URL, content=_body(5_000), headers=H)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["invalid"] == 50
    assert report["already_present"] == 1
    assert report["added"] == report["visible"] == 4_949
    assert report["not_visible"] == 0
    assert report["invalid_rows"][0]["line"] == 101  # row 99 is on line 101 after the header
    assert report["invalid_rows"][0]["code"] == "invalid_address"
    assert report["already_present_rows"] == [{"line": 5, "email": "u3@x.example"}]
    assert report["invalid_rows_omitted"] == 0
    imported = [row for c in lists.commands if c["type"] == "import.rows" for row in c["rows"]]
    assert len(imported) == 4_949


def test_manual_format_and_rows_written_but_not_yet_visible_answer_202(
    api: TestClient, lists: MemoryLists
) -> None:
    """format=manual shares the notes; a writer that holds writes gives 202 with not_visible."""
    lists.hold_writes = True
    response = api.post(
        URL,
        params={"format": "manual", "notes": "from support"},
        content=b"a@x.example\nnope\nb@x.example\n",
        headers=H,
    )
    assert response.status_code == 202, response.text
    report = response.json()
    assert (report["added"], report["invalid"], report["visible"]) == (2, 1, 0)
    assert report["not_visible"] == 2
    assert {row[3] for c in lists.commands for row in c["rows"]} == {"from support"}


def test_a_body_over_the_setting_is_refused_with_413(lists: MemoryLists) -> None:
    """SUPPRESSOR_IMPORT_STREAM_MAX_BYTES bounds the body, declared or streamed."""
    settings = key_settings().with_(import_stream_max_bytes=1000)
    with TestClient(create_app(settings, client=lists, writer=lists)) as api:
        declared = api.post(URL, content=b"a@x.example\n" * 100, headers=H)
        streamed = api.post(URL, content=_body(200), headers=H)
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert declared.json()["error"]["code"] == streamed.json()["error"]["code"] == "too_large"


def test_both_imports_hold_the_window_the_settings_give(
    lists: MemoryLists, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/import/stream`` and ``/import`` hand ``SUPPRESSOR_IMPORT_WINDOW_ROWS`` to the
    import, so neither writes a file ahead of the bounces on the same worker."""
    from workers.api import routes_import, routes_read

    windows: list[int | None] = []

    def spy(real: Callable[..., Any]) -> Callable[..., Any]:
        def called(*args: Any, **kwargs: Any) -> Any:
            windows.append(kwargs.get("window"))
            return real(*args, **kwargs)

        return called

    monkeypatch.setattr(routes_import, "import_stream", spy(routes_import.import_stream))
    monkeypatch.setattr(routes_read.lists, "import_rows", spy(routes_read.lists.import_rows))
    settings = key_settings(Settings().with_(import_window_rows=1_234))
    with TestClient(create_app(settings, client=lists, writer=lists)) as api:
        assert api.post(URL, content=_body(500), headers=H).status_code == 200
        upload = {"file": ("rows.csv", b"v1@x.example\nv2@x.example\n", "text/csv")}
        imported = api.post("/v1/accounts/acme/import", files=upload, headers=auth("acme"))
        assert imported.status_code == 200, imported.text
    assert windows == [1_234, 1_234]
