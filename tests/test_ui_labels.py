"""Labels and Personalize in the main window, on the real sample video and a real SQLite store."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vsumgui.core import personalize as personal
from vsumgui.core.labels import KEEP, SKIP, LabelStore
from vsumgui.ui import worker as workers
from vsumgui.ui.window import MainWindow, settings

LONG = 300_000  # ms: a cold run extracts features on a busy 2-core machine


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """Each test its own labels database and profile heads (the data folder), so tests do not mix."""
    monkeypatch.setenv("VSUMGUI_DATA_DIR", str(tmp_path / "data"))
    settings().setValue("profile", "default")
    return tmp_path


def make_window(qtbot) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    return w


def close(w: MainWindow, qtbot) -> None:
    w.close()
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=60_000)


def summarize(w: MainWindow, qtbot, video):
    assert w.open_video(video)
    with qtbot.waitSignal(w.summaryShown, timeout=LONG):
        w.summarize()
    qtbot.waitUntil(lambda: not w.summarizer.busy)  # Personalize waits for the summary's thread to end
    return w.summary


def survey(panel, qtbot, folder: str) -> None:
    """Choose the trainer's folder and wait for its videos to be counted (a background job)."""
    panel.set_folder(folder)
    qtbot.waitUntil(lambda: not panel.survey.busy, timeout=60_000)


def press_at(w: MainWindow, qtbot, shot: int, key: Qt.Key) -> None:
    """Put the playhead in the middle of a shot and press a key (the window's shortcuts)."""
    s, e = w.summary.shot_secs[shot]
    w.timeline.set_position(float(s + e) / 2)
    w.activateWindow()
    qtbot.keyClick(w, key)


def test_labels_keys_undo_restart_csv(fresh, qtbot, sample_video):
    w = make_window(qtbot)
    s = summarize(w, qtbot, sample_video)
    assert len(s.shot_secs) >= 4
    assert not w.personalize_button.isEnabled()  # nothing labelled yet
    press_at(w, qtbot, 0, Qt.Key.Key_K)
    press_at(w, qtbot, 1, Qt.Key.Key_S)
    press_at(w, qtbot, 2, Qt.Key.Key_K)
    assert w.timeline.labels == {0: KEEP, 1: SKIP, 2: KEEP}
    assert w.personalize_button.isEnabled()
    # stored at once: a second connection (another process would do the same) sees them
    with LabelStore() as other:
        assert [(lb.start, lb.label) for lb in other.get("default", s.features.key)] == \
            [(round(float(s.shot_secs[i, 0]), 6), lab) for i, lab in ((0, KEEP), (1, SKIP), (2, KEEP))]
    # relabel, clear, undo twice
    press_at(w, qtbot, 2, Qt.Key.Key_S)
    assert w.timeline.labels[2] == SKIP
    press_at(w, qtbot, 1, Qt.Key.Key_C)
    assert 1 not in w.timeline.labels
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.timeline.labels == {0: KEEP, 1: SKIP, 2: SKIP}
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.timeline.labels == {0: KEEP, 1: SKIP, 2: KEEP}
    # and a fourth shot labelled then undone leaves nothing behind in the database
    press_at(w, qtbot, 3, Qt.Key.Key_S)
    w.undo_action.trigger()
    assert 3 not in w.timeline.labels
    assert len(w.labels.undo_stack) == 3 and w.undo_action.isEnabled()
    # typing a profile name is typing, not labelling
    w.profile_box.lineEdit().setFocus()
    qtbot.keyClicks(w.profile_box.lineEdit(), "sck")
    assert w.profile_box.currentText().endswith("sck") and len(w.labels.undo_stack) == 3
    w.profile_box.setCurrentText("default")
    w.setFocus()
    assert len(w.labels.store.get("default", s.features.key)) == 3
    out = fresh / "labels.csv"
    assert w.labels.export_to(out) == 3
    rows = list(csv.DictReader(out.open()))
    assert [r["label"] for r in rows] == ["keep", "skip", "keep"]
    close(w, qtbot)

    # a new window on the same data folder: labels are there and marked once the video is summarized
    w2 = make_window(qtbot)
    summarize(w2, qtbot, sample_video)
    assert w2.timeline.labels == {0: KEEP, 1: SKIP, 2: KEEP}
    assert w2.personalize_button.isEnabled()
    assert not w2.undo_action.isEnabled()  # undo history is per session
    # another profile has none of them; CSV import brings them in
    w2.labels.set_profile("alice")
    assert w2.timeline.labels == {}
    assert not w2.personalize_button.isEnabled()
    assert w2.labels.import_from(out) == 3
    assert w2.timeline.labels == {0: KEEP, 1: SKIP, 2: KEEP}
    bad = fresh / "bad.csv"
    bad.write_text("video,start,end,label,path\nabc,x,1,keep,\n")
    with qtbot.waitSignal(w2.messageShown) as msg:
        assert w2.labels.import_from(bad) is None
    assert msg.args[0].startswith("Cannot import the labels:") and "line 2" in msg.args[0]
    close(w2, qtbot)
    assert str(settings().value("profile")) == "alice"  # the profile is remembered


def ranks(x: np.ndarray) -> np.ndarray:
    """Rank of each value, 0 = lowest."""
    return np.argsort(np.argsort(x))


@pytest.mark.parametrize("method", ["ctvsum", "visp"])  # a head on the features / ViSP fine-tuned
def test_personalize_reranks_and_drives(fresh, qtbot, sample_video, method):
    w = make_window(qtbot)
    s = summarize(w, qtbot, sample_video)
    base = s.selector(method).shot_scores
    order = np.argsort(base)
    keep, skip = order[:3].tolist(), [int(order[-1])]
    w.selection.driver.setCurrentIndex(w.selection.driver.findData(method))
    for i in keep:
        w.labels.label_shot(i, KEEP)
    w.labels.label_shot(skip[0], SKIP)
    name = personal.curve_name("default")
    with qtbot.waitSignal(w.summaryShown, timeout=60_000):
        qtbot.mouseClick(w.personalize_button, Qt.MouseButton.LeftButton)
    assert name not in s.scores, "the summary the GUI thread read was changed"
    s = w.summary
    assert name in s.scores and name in w.curves.curves
    kind = personal.visp_path if method == "visp" else personal.head_path
    assert personal.saved("default", s.features.backbone) == kind("default", s.features.backbone)
    assert ("ViSP fine-tuned" in w.run_panel.status.text()) == (method == "visp")  # the sentence line
    item = w.method_list.items[name]  # listed, and its tick hides the curve like a method's
    item.setCheckState(Qt.CheckState.Unchecked)
    assert not w.curves.curves[name].isVisible()
    item.setCheckState(Qt.CheckState.Checked)
    assert w.curves.curves[name].isVisible()
    new = s.selector(name).shot_scores
    r0, r1 = ranks(base), ranks(new)
    assert all(r1[i] > r0[i] for i in keep), (r0, r1)
    assert r1[skip[0]] < r0[skip[0]]
    # the new curve can drive the selection
    idx = w.selection.driver.findData(name)
    assert idx >= 0
    w.selection.driver.setCurrentIndex(idx)
    assert w.chosen.method == name
    chosen = set(w.chosen.shots)
    assert skip[0] not in chosen
    assert w.timeline.chosen == chosen
    close(w, qtbot)

    # the saved model is applied after Summarize in a new window (a new video would get it the same way)
    w2 = make_window(qtbot)
    s2 = summarize(w2, qtbot, sample_video)
    assert name in s2.scores and name in w2.curves.curves
    np.testing.assert_allclose(s2.scores[name].scores, s.scores[name].scores, atol=1e-6)
    close(w2, qtbot)


def test_personalize_without_labels_says_why(fresh, qtbot, sample_video):
    w = make_window(qtbot)
    summarize(w, qtbot, sample_video)
    w.labels.label_shot(0, KEEP)
    w.labels.label_shot(0, None)  # cleared: the button goes off again
    assert not w.personalize_button.isEnabled()
    # the action forced anyway (e.g. labels of another window): one sentence from core
    w.personalize_button.setEnabled(True)
    with qtbot.waitSignal(w.messageShown, timeout=60_000) as msg:
        w.personalize()
    assert "no labelled shot" in msg.args[0]
    assert personal.curve_name("default") not in w.summary.scores
    close(w, qtbot)


def test_trainer_panel_pretrains_cancel_keeps_checkpoint(fresh, qtbot, tmp_path, sample_video, media_dir):
    """Tools → Trainer…: a 1-epoch run on the sample videos; a cancelled resume keeps that checkpoint."""
    import shutil

    from vsumgui.core import checkpoints, methods
    from conftest import VIDEOS

    lib = tmp_path / "lib"
    lib.mkdir()
    for v in VIDEOS:
        shutil.copy(v, lib / v.name)
    (lib / "notes.txt").write_text("not a video")
    w = make_window(qtbot)
    assert w.open_video(sample_video)
    panel = w.show_trainer()
    assert not panel.start_button.isEnabled()  # no folder yet
    survey(panel, qtbot, str(lib))
    assert panel.folder_info.text().startswith(f"{len(VIDEOS)} videos · ")
    panel.method.setCurrentIndex(panel.method.findData("ctvsum"))
    assert [panel.device.itemData(i) for i in (0, panel.device.count() - 1)] == ["auto", "cpu"]
    panel.device.setCurrentIndex(panel.device.count() - 1)
    panel.epochs.setValue(1)
    panel.batch.setValue(8)
    panel.hparams = {"window": 64}
    panel.windows_per_video = 8  # 24 windows, 3 steps of 8: points for the loss curve
    ck = checkpoints.user_path("ctvsum")
    assert not ck.exists() and not panel.resume_button.isEnabled()
    with qtbot.waitSignal(panel.trained, timeout=LONG) as sig:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert sig.args[0] == "ctvsum" and sig.args[1] == ck and ck.is_file()
    assert checkpoints.load(ck).epoch == 1
    assert len(panel.losses) == 3 and all(np.isfinite(panel.losses))
    x, y = panel.loss_curve.getData()
    assert list(y) == panel.losses
    assert panel.progress.value() == 1000 and "Elapsed" in panel.time_info.text()
    qtbot.waitUntil(lambda: panel.worker is None)
    # the window offers to re-summarize with the new checkpoint, which the methods now use
    assert "new checkpoint" in w.last_message.text()
    assert checkpoints.find("ctvsum") == (ck, "user")
    assert w.method_list.ready["ctvsum"]
    before = ck.read_bytes()

    # Resume to 3 epochs, cancelled from the worker thread at its first step: the checkpoint stays
    panel.epochs.setValue(3)
    assert panel.resume_button.isEnabled()
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    worker = panel.worker
    worker.progress.connect(lambda stage, f, info: stage == "train" and worker.cancel(),
                            Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=LONG)
    assert "Cancelled" in panel.progress.format()
    assert ck.read_bytes() == before and sorted(p.name for p in ck.parent.iterdir()) == [ck.name]
    assert methods.create("ctvsum", ck).ready  # still loads
    close(w, qtbot)


def test_trainer_panel_pause_holds_and_continue_finishes(fresh, qtbot, tmp_path, media_dir):
    """Pause right after Start and again mid-epoch: nothing advances while paused (steps, loss
    points, progress, elapsed time); Continue finishes the run."""
    import shutil

    from vsumgui.core import checkpoints
    from conftest import VIDEOS

    lib = tmp_path / "lib"
    lib.mkdir()
    for v in VIDEOS:
        shutil.copy(v, lib / v.name)
    w = make_window(qtbot)
    panel = w.show_trainer()
    survey(panel, qtbot, str(lib))
    panel.method.setCurrentIndex(panel.method.findData("ctvsum"))
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    panel.epochs.setValue(2)
    panel.batch.setValue(8)
    panel.hparams = {"window": 64}
    panel.windows_per_video = 8  # 3 steps of 8 windows per epoch
    assert not panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    worker = panel.worker
    assert panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)  # before (or at) the first step
    assert panel.pause_button.text() == "Continue" and worker.pause_event.is_set()

    def holds() -> int:
        qtbot.waitUntil(lambda: panel.progress.format().startswith("Paused at"), timeout=LONG)
        n, value, took = len(panel.losses), panel.progress.value(), panel.elapsed()
        assert panel.pause_button.text() == "Continue" and "Paused" in panel.time_info.text()
        qtbot.wait(600)
        assert len(panel.losses) == n and panel.progress.value() == value
        assert panel.elapsed() == pytest.approx(took, abs=1e-3)  # paused time is not counted
        assert panel.worker is worker and not checkpoints.user_path("ctvsum").exists()
        return n

    holds()
    # the second pause comes from the worker thread at the 2nd step (a click at that very moment)
    worker.progress.connect(lambda stage, f, info: stage == "train" and (info["epoch"], info["step"]) == (1, 2)
                            and worker.set_paused(True), Qt.ConnectionType.DirectConnection)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)  # Continue
    assert panel.pause_button.text() == "Pause" and not worker.pause_event.is_set()
    assert holds() == 2 and "epoch 1/2, step 2/3" in panel.progress.format()
    with qtbot.waitSignal(panel.trained, timeout=120_000):
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert len(panel.losses) == 6 and checkpoints.load(checkpoints.user_path("ctvsum")).epoch == 2
    qtbot.waitUntil(lambda: panel.worker is None)
    assert not panel.pause_button.isEnabled() and panel.pause_button.text() == "Pause"
    close(w, qtbot)


def test_trainer_panel_errors_are_one_sentence(fresh, qtbot, tmp_path, sample_video):
    import shutil

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.mp4").write_bytes(b"not a video" * 100)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(sample_video, one / sample_video.name)
    w = make_window(qtbot)
    panel = w.show_trainer()
    survey(panel, qtbot, str(tmp_path / "missing"))
    assert "no such folder" in panel.folder_info.text() and not panel.start_button.isEnabled()
    survey(panel, qtbot, str(empty))
    assert panel.folder_info.text() == "0 videos · 0:00 in all · 1 unreadable"
    assert not panel.start_button.isEnabled()
    survey(panel, qtbot, str(one))
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    with qtbot.waitSignal(w.messageShown, timeout=LONG) as msg:
        panel.start()
    assert "at least 2 videos" in msg.args[0] and "\n" not in msg.args[0]
    assert "Failed" in panel.progress.format()
    qtbot.waitUntil(lambda: panel.worker is None)
    assert panel.start_button.isEnabled()
    close(w, qtbot)
