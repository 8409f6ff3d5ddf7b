"""The keyed stage's commit hooks without a broker: when the entry-count markers may go."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.kafka.rdkafka_sink import FlushBeforeCommit
from workers.settings import Settings
from workers.stream.app import SuppressorApp
from workers.stream.counts import Counts


def _hook(app: SuppressorApp) -> FlushBeforeCommit:
    (hook,) = [s for s in app.faust.sensors if isinstance(s, FlushBeforeCommit)]
    return hook


def test_without_the_sink_the_markers_stay_until_faust_has_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exactly_once: faust's producer carries the counts, so a marker deleted when the
    commit starts (counts handed over, not yet delivered) would hide a short count."""
    settings = Settings.from_env(
        {}, processing_guarantee="exactly_once", data_dir=tmp_path, bootstrap_servers="x:1"
    )
    calls: list[str] = []
    monkeypatch.setattr(Counts, "flush", lambda _self: calls.append("flush"))
    monkeypatch.setattr(Counts, "flushed", lambda _self: calls.append("flushed"))
    app = SuppressorApp(settings)
    hook = _hook(app)
    state = hook.on_commit_initiated(None)
    assert calls == ["flush"]
    hook.on_commit_completed(None, state)
    assert calls == ["flush", "flushed"]
