"""Curves while Summarize runs (issue #20 item 3): partial summaries are drawn as they come, over
the whole video's length, never kept as the window's summary, replaced by the final one, and
gone after Cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vsumgui.core import backbones, features, paths, pipeline
from conftest import shown_window

LONG = 300_000  # ms: a cold run extracts features on a busy 2-core machine


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A window on a cold cache (a cache hit has no partials) that offers the features every 0.25 s
    instead of 2 s, so the 30 s sample makes several partial summaries. The methods' networks are
    loaded first, as on any day after the first (a checkpoint's first use, its export, would hold
    the partials up to the end of this short video)."""
    pipeline.prepare()
    monkeypatch.setenv("VSUMGUI_CACHE_DIR", str(tmp_path / "cache"))
    assert paths.cache_dir() == tmp_path / "cache"
    monkeypatch.setattr(features, "PARTIAL_EVERY", 0.25)
    # batches of 4 samples, each embedded in 0.5 s or more as on a slow machine, so that a fast one
    # too has features coming for a few seconds (a run over before a partial summary is made has none)
    monkeypatch.setattr(features, "BATCH", 4)
    kind = type(backbones.get(backbones.DEFAULT))
    embed = kind.embed
    monkeypatch.setattr(kind, "embed", lambda self, frames: (time.sleep(0.5), embed(self, frames))[1])
    yield from shown_window(qtbot)


def seen(window) -> list[dict]:
    """What the window showed at each partial: samples per curve, their last time, the plots' length."""
    got: list[dict] = []
    window.partialShown.connect(lambda s: got.append({
        "summary": s, "busy": window.summarizer.busy and window.run_panel.cancel_button.isEnabled(), "kept": window.summary,
        "points": {n: len(c.getData()[0]) for n, c in window.curves.curves.items()},
        "last": max(float(c.getData()[0][-1]) for c in window.curves.curves.values()),
        "length": window.curves.duration, "shots": len(window.timeline.shot_secs)}))
    return got


def test_partial_curves_grow_then_the_final_replaces_them(window, qtbot, sample_video):
    assert window.open_video(sample_video)
    qtbot.waitUntil(lambda: not window.summarizer.check.busy, timeout=30_000)
    got = seen(window)
    with qtbot.waitSignal(window.summaryShown, timeout=LONG):
        qtbot.mouseClick(window.run_panel.summarize_button, Qt.MouseButton.LeftButton)
    final = window.summary
    assert got, "no partial curve was drawn before the end"
    n = len(final.times)
    for p in got:
        assert p["busy"] and p["kept"] is None  # drawn while it ran, never the window's summary
        assert p["summary"].done < 1 and p["points"] and all(0 < k < n for k in p["points"].values())
        # the x range is the whole video: the curves end well before its end and grow left to right
        assert p["length"] == pytest.approx(final.video.duration, rel=0.05)
        assert p["last"] < p["length"] and p["shots"] >= 1
    assert [max(p["points"].values()) for p in got] == sorted(max(p["points"].values()) for p in got)
    # the final summary replaced them: every curve has all its samples, shots are the final ones
    assert final.done == 1 and set(window.curves.curves) == set(final.scores)
    for name, curve in window.curves.curves.items():
        assert np.array_equal(curve.getData()[0], final.times), name
    assert np.array_equal(window.timeline.shot_secs, np.asarray(final.shot_secs, dtype=np.float64))
    assert window.chosen is not None and window.labels.summary is final


def test_cancel_during_partials_leaves_nothing(window, qtbot, sample_video):
    assert window.open_video(sample_video)
    qtbot.waitUntil(lambda: not window.summarizer.check.busy, timeout=30_000)
    got = seen(window)
    qtbot.mouseClick(window.run_panel.summarize_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(got) or not window.summarizer.busy, timeout=LONG)
    assert got and window.curves.curves  # partial curves are on screen
    qtbot.mouseClick(window.run_panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.worker is None, timeout=LONG)
    qtbot.wait(300)  # any late partial signal would arrive now
    assert window.run_panel.progress.format() == "Cancelled"
    assert window.summary is None and window.chosen is None
    assert window.curves.curves == {} and len(window.timeline.shot_secs) == 0
    assert window.curves.duration == pytest.approx(window.info.duration)

