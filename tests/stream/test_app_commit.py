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


def test_with_the_sink_the_changelog_offsets_are_persisted_before_the_markers_go(
    tmp_path: Path,
) -> None:
    """A marker's slot is written again only once the other's deletion was flushed; that
    is safe only if the flush's acknowledged offsets are persisted first (a same-store
    restart replays from them), so ``flushed`` must be the sink's last callback."""
    settings = Settings.from_env({}, data_dir=tmp_path, bootstrap_servers="x:1")
    app = SuppressorApp(settings)
    assert app.sink is not None and app.entry_counts.reuse_slots
    callbacks = app.sink._after_flush
    assert len(callbacks) == 5  # four tables' offsets, then the markers
    assert callbacks[-1] == app.entry_counts.flushed
    settings = Settings.from_env(
        {}, processing_guarantee="exactly_once", data_dir=tmp_path / "eos", bootstrap_servers="x:1"
    )
    assert not SuppressorApp(settings).entry_counts.reuse_slots  # nothing persists them there
