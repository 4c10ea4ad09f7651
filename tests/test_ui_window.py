"""The main window on real videos: open, Summarize, curves, slider, cancel, bad files, settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from vsumgui.core import methods, paths
from vsumgui.core.select import MODES
from vsumgui.ui import worker as workers
from vsumgui.ui.style import fmt_time
from vsumgui.ui.window import MainWindow, settings

LONG = 300_000  # ms: a cold run extracts features on a busy 2-core machine


def summarize(window, qtbot):
    with qtbot.waitSignal(window.summaryShown, timeout=LONG):
        qtbot.mouseClick(window.run_panel.summarize_button, Qt.MouseButton.LeftButton)
    return window.summary


def test_open_summarize_curves_slider(window, qtbot, sample_video, monkeypatch):
    assert window.open_video(sample_video)
    assert window.windowTitle().startswith(sample_video.name)
    assert window.status_info.text() == "0:30 · 1280×720 · 24 fps"
    assert window.preview.backend_name == "frames"  # the offscreen platform uses the OpenCV fallback
    s = summarize(window, qtbot)

    ready = [n for n in methods.names() if methods.create(n).ready]
    assert list(s.scores) == ready
    assert set(window.curves.curves) == set(ready)  # one curve per enabled method
    for name, curve in window.curves.curves.items():
        x, y = curve.getData()
        np.testing.assert_allclose(x, s.times)
        np.testing.assert_allclose(y, methods.minmax(s.scores[name].scores))
    # the CTVSUM breakdown: the parts it has, and "unique" named as needing training
    assert window.curves.breakdown_of == "ctvsum"
    parts = {k for k, v in s.scores["ctvsum"].components.items() if v is not None}
    assert {"align", "uniform"} <= parts
    assert set(window.curves.parts) == parts
    title = window.curves.parts_plot.titleLabel.text
    assert "align" in title
    # with the bundled demo checkpoint CTVSUM has its uniqueness filter; without one the title says so
    assert ("unique (needs training)" in title) == ("unique" not in parts)
    # shot boundaries and chosen shots drawn, timeline filled
    xs, _ = window.curves.shot_lines[0].getData()
    np.testing.assert_allclose(xs[::2], s.shot_secs[1:, 0])
    assert window.curves.spans[0].spans == [tuple(x) for x in window.chosen.segments]
    assert window.timeline.chosen == set(window.chosen.shots)
    assert len(window.timeline.shot_secs) == len(s.shot_secs)

    # the slider re-selects without recomputing features, shots or scores
    def boom(*a, **k):
        raise AssertionError("recomputed above selection")

    monkeypatch.setattr(methods.Method, "score", boom)
    monkeypatch.setattr("vsumgui.core.shots.segment", boom)
    monkeypatch.setattr("vsumgui.ui.worker.summarize", boom)
    durations = []
    built = s.selection  # the pipeline's; the window keeps its own selection and never changes the Summary
    for pct in (10, 25, 50):
        window.selection.slider.setValue(pct)
        sel = window.chosen
        assert window.summary is s and sel.ratio == pct / 100
        assert sel.duration <= pct / 100 * s.video.duration + 1e-6
        assert window.curves.spans[0].spans == [tuple(x) for x in sel.segments]
        assert window.timeline.chosen == set(sel.shots)
        n = len(sel.segments)  # pieces, not shots (issue 22)
        assert window.selection.label.text() == (f"{n} piece{'s' if n != 1 else ''} · "
                                                 f"{fmt_time(sel.duration)} of 0:30")
        durations.append(sel.duration)
    assert durations[0] < durations[1] < durations[2]  # the selected length follows the ratio
    assert s.selection is built

    # every mode of core.select is offered and keeps the budget
    assert sorted(window.selection.mode.itemData(i) for i in range(window.selection.mode.count())) == sorted(MODES)
    window.selection.slider.setValue(20)
    for mode in MODES:
        window.selection.set_mode(mode)
        sel = window.chosen
        assert sel.mode == mode and 0 < sel.duration <= 0.2 * s.video.duration + 1e-6
    window.selection.set_mode("knapsack")

    # another driving method; the breakdown follows it (Random has no parts: a note says so)
    i = window.selection.driver.findData("random")
    window.selection.driver.setCurrentIndex(i)
    assert window.chosen.method == "random"
    assert window.curves.breakdown_of == "random" and not window.curves.parts
    window.selection.driver.setCurrentIndex(window.selection.driver.findData("ctvsum"))

    # hide a curve from the method list
    window.method_list.items["random"].setCheckState(Qt.CheckState.Unchecked)
    assert not window.curves.curves["random"].isVisible()
    assert window.curves.curves["ctvsum"].isVisible()
    window.method_list.items["random"].setCheckState(Qt.CheckState.Checked)
    assert window.curves.curves["random"].isVisible()

    # thumbnails were decoded off the GUI thread, one per shot
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=60_000)
    assert set(window.timeline.thumbs) == set(range(len(s.shot_secs)))


def test_play_summary_plays_only_chosen_shots(window, qtbot, sample_video):
    window.open_video(sample_video)
    summarize(window, qtbot)
    window.selection.slider.setValue(10)
    segs = window.chosen.segments
    assert segs
    seen: list[float] = []
    window.preview.positionChanged.connect(seen.append)
    qtbot.mouseClick(window.selection.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.preview.playing, timeout=10_000)
    qtbot.waitUntil(lambda: not window.preview.playing, timeout=60_000)
    frame = 1 / 24 + 1e-3
    outside = [t for t in seen if not any(s - frame <= t <= e + frame for s, e in segs)]
    assert not outside, (outside, segs)
    assert max(seen) >= segs[-1][1] - 0.2  # played through the last chosen shot
    # double-click on a timeline block plays that shot only
    seen.clear()
    shot = len(window.summary.shot_secs) // 2
    s, e = window.summary.shot_secs[shot]
    x = int(window.timeline.x_of((s + e) / 2))
    qtbot.mouseDClick(window.timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, 30))
    qtbot.waitUntil(lambda: window.preview.playing, timeout=10_000)
    qtbot.waitUntil(lambda: not window.preview.playing, timeout=60_000)
    assert seen and all(s - frame <= t <= e + frame for t in seen)


def test_cancel_midway_writes_nothing(window, qtbot, sample_video, media_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("VSUMGUI_CACHE_DIR", str(cache))  # a cold cache: the run cannot be a cache hit
    assert paths.cache_dir() == cache
    window.open_video(sample_video)
    qtbot.mouseClick(window.run_panel.summarize_button, Qt.MouseButton.LeftButton)
    assert window.worker is not None and not window.run_panel.summarize_button.isEnabled()
    qtbot.waitUntil(lambda: window.run_panel.progress.value() > 0, timeout=LONG)  # the run is under way
    qtbot.mouseClick(window.run_panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.worker is None, timeout=LONG)
    assert window.summary is None
    assert window.run_panel.progress.format() == "Cancelled"
    assert window.run_panel.summarize_button.isEnabled() and not window.run_panel.cancel_button.isEnabled()
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # no cache file, no temp file
    # the window is still usable: another video summarizes
    assert window.open_video(media_dir / "flower_cc0.mp4")
    s = summarize(window, qtbot)
    assert s.video.path.endswith("flower_cc0.mp4") and window.curves.curves
    assert [p.name for p in cache.rglob("*.h5")]  # this completed run did write its cache


def test_bad_file_shows_one_sentence(window, qtbot, tmp_path, sample_video):
    bad = tmp_path / "x.mp4"
    bad.write_text("this is not a video\n")
    with qtbot.waitSignal(window.messageShown, timeout=5000):
        assert not window.open_video(bad)
    text = window.last_message.text()
    assert text == "Cannot open x.mp4: not a video file, or a format FFmpeg cannot read."
    assert "Traceback" not in text and "\n" not in text
    assert window.windowTitle() == "vsumgui" and not window.run_panel.summarize_button.isEnabled()
    window.open_video(tmp_path / "missing.mp4")
    assert window.last_message.text() == "Cannot open missing.mp4: no such file."
    # a bad file does not replace a good one
    assert window.open_video(sample_video)
    assert not window.open_video(bad)
    assert window.path == sample_video and window.windowTitle().startswith(sample_video.name)


def test_pipeline_failure_shows_message(window, qtbot, sample_video, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr("vsumgui.ui.worker.summarize", broken)
    window.open_video(sample_video)
    with qtbot.waitSignal(window.messageShown, timeout=30_000):
        window.summarize()
    assert window.last_message.text() == "Summarize failed unexpectedly (RuntimeError: boom)."
    qtbot.waitUntil(lambda: window.worker is None, timeout=30_000)
    assert window.run_panel.summarize_button.isEnabled()


def test_drop_and_recent_files(window, qtbot, sample_video, media_dir):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample_video))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.path == sample_video
    other = media_dir / "friday_cc0.mp4"
    window.open_video(other)
    assert window.prefs.recent_files()[:2] == [str(other), str(sample_video)]
    window.recent_menu.aboutToShow.emit()
    actions = [a for a in window.recent_menu.actions() if a.text().endswith(sample_video.name)]
    assert actions
    actions[0].trigger()
    assert window.path == sample_video and window.windowTitle().startswith(sample_video.name)


def test_settings_persist_in_temp_config(qtbot, sample_video, tmp_path, monkeypatch):
    conf = Path(os.environ["XDG_CONFIG_HOME"])
    assert not str(conf).startswith(str(Path.home() / ".config"))  # never the user's settings
    w = MainWindow()
    qtbot.addWidget(w)
    monkeypatch.chdir(sample_video.parent)
    assert w.open_video(sample_video.name)  # a relative path is remembered as an absolute one
    w.selection.slider.setValue(33)
    w.method_list.items["random"].setCheckState(Qt.CheckState.Unchecked)
    w.resize(700, 500)  # the offscreen screen is 800x600
    w.close()
    assert settings().fileName() == str(conf / "vsumgui" / "vsumgui.conf")
    assert (conf / "vsumgui" / "vsumgui.conf").exists()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.selection.slider.value() == 33
    assert not w2.method_list.is_visible("random") and w2.method_list.is_visible("ctvsum")
    assert w2.prefs.recent_files()[0] == str(sample_video)
    assert (w2.width(), w2.height()) == (700, 500)
    w2.selection.slider.setValue(15)
    w2.method_list.items["random"].setCheckState(Qt.CheckState.Checked)
    w2.resize(1280, 800)
    w2.close()


def test_untrained_method_is_greyed(qtbot, monkeypatch):
    from vsumgui.core.methods import base
    from vsumgui.ui.controls import SelectionPanel
    from vsumgui.ui.methodlist import MethodList

    class Trained(base.Method):
        name, title, needs_checkpoint, order = "needs-ckpt", "Needs ckpt", True, 50

        def _score(self, features):
            raise AssertionError

    monkeypatch.setitem(base._REGISTRY, Trained.name, Trained)
    lst = MethodList()
    qtbot.addWidget(lst)
    item = lst.items["needs-ckpt"]
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert item.text() == "Needs ckpt — needs training"
    assert "needs-ckpt" not in lst.hidden()
    panel = SelectionPanel()
    qtbot.addWidget(panel)
    assert "needs-ckpt" not in [panel.driver.itemData(i) for i in range(panel.driver.count())]


def test_cli_opens_the_window(qtbot, sample_video):
    from vsumgui.cli import main

    seen = {}

    def look_and_close():
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["titles"] = [w.windowTitle() for w in wins]
        for w in wins:
            w.close()

    QTimer.singleShot(1500, look_and_close)
    assert main([str(sample_video)]) == 0
    assert seen["titles"] == [f"{sample_video.name} — vsumgui"]
    QTimer.singleShot(500, look_and_close)
    assert main([]) == 0
    assert seen["titles"] == ["vsumgui"]


def test_shortcuts_and_plot_click_seek(window, qtbot, sample_video):
    window.open_video(sample_video)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    with qtbot.waitSignal(window.summaryShown, timeout=LONG):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Ctrl+R
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.preview.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.preview.playing
    # a click on the curves seeks the preview there
    plot = window.curves.scores_plot
    scene_pos = plot.vb.mapViewToScene(QPointF(20.0, 0.5))
    pos = window.curves.glw.mapFromScene(scene_pos)
    qtbot.mouseClick(window.curves.glw.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: abs(window.preview.position - 20.0) < 0.3, timeout=10_000)
    assert abs(window.curves.playheads[0].value() - window.preview.position) < 0.05
    assert window.timeline.position == window.preview.position


def test_reopen_shows_the_cached_summary_at_once(window, qtbot, sample_video, sample_summary, monkeypatch):
    with qtbot.waitSignal(window.summaryShown, timeout=60_000):
        assert window.open_video(sample_video)  # summarized before (the session's summary): no click needed
    s = window.summary
    assert s.cache_hit and len(s.shot_secs) == len(sample_summary.shot_secs)
    assert set(window.curves.curves) == set(s.scores)  # every curve, the hidden ones (baselines) not drawn
    assert {n for n, c in window.curves.curves.items() if c.isVisible()} == \
        {n for n in s.scores if window.method_list.is_visible(n)}
    assert window.timeline.chosen == set(window.chosen.shots)
    # a video never summarized waits for the Summarize button
    monkeypatch.setenv("VSUMGUI_CACHE_DIR", str(paths.cache_dir() / "empty"))
    assert window.open_video(sample_video)
    assert window.worker is None and window.summary is None


def keyframe_times(path: Path, rate: float) -> list[float]:
    """The media times of a file's keyframes, thinned to at most one per step of the 1/rate s grid."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = sorted(float((p.pts - (stream.start_time or 0)) * p.time_base)
                       for p in container.demux(stream) if p.is_keyframe and p.pts is not None)
    kept: list[float] = []
    for t in times:
        if not kept or t + 1e-6 >= (np.floor(kept[-1] * rate + 1e-6) + 1) / rate:
            kept.append(t)
    return kept


def test_quick_look_summarizes_keyframes_and_is_remembered(window, qtbot, sample_video):
    qtbot.mouseClick(window.run_panel.quick, Qt.MouseButton.LeftButton)
    assert window.run_panel.quick.isChecked()
    assert window.open_video(sample_video)
    if window.worker is not None:  # a quick look summarized before (an earlier run) shows at once
        with qtbot.waitSignal(window.summaryShown, timeout=LONG):
            pass
        s = window.summary
    else:
        s = summarize(window, qtbot)
    assert s.features.sampling == "keyframes" and s.options.fast
    # the window says how coarse this is: the file's keyframes (read from its packets, not decoded),
    # at most one per half second of the 2-per-second sampling grid
    kept = keyframe_times(sample_video, rate=2.0)
    assert 3 <= len(kept) < len(s.times) / 3
    note = f"quick look: {len(kept)} keyframes, one every {s.video.duration / len(kept):.1f} s"
    assert note + "; untick Quick look" in window.statusBar().currentMessage()
    # the keyframes of the sample (0, 0.4, 5.8, 11.1, ... s) hold the curve between them: far fewer distinct rows
    assert len(np.unique(s.features.features, axis=0)) < len(s.times) / 3
    window.prefs.save(window.labels.profile)
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.run_panel.quick.isChecked()
    again.run_panel.quick.setChecked(False)
    again.prefs.save(again.labels.profile)
    again.close()
