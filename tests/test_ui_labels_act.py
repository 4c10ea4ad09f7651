"""Issue 19 in the window: labels act on the summary at once, keys that label from any widget, a
new profile only on purpose, the profile's curve in a job, and the suggested shots (badge, Tab).
On the bundled sample (features cached by `sample_summary`) and a real SQLite store."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from vsumgui.core import personalize as personal
from vsumgui.core.labels import KEEP, SKIP
from vsumgui.core.select import MODES
from vsumgui.ui import style
from vsumgui.ui import worker as workers
from vsumgui.ui.window import MainWindow, settings


@pytest.fixture
def window(tmp_path, monkeypatch, qtbot, sample_summary, sample_video):
    """A window on the summarized sample, with its own labels database and profile heads."""
    monkeypatch.setenv("VSUMGUI_DATA_DIR", str(tmp_path / "data"))
    settings().setValue("profile", "default")
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    with qtbot.waitSignal(w.summaryShown, timeout=120_000):
        assert w.open_video(sample_video)
        w.summarize()  # the features are cached: quick
    qtbot.waitUntil(lambda: not w.summarizer.busy)
    yield w
    w.close()
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=60_000)


def at(w: MainWindow, shot: int) -> None:
    """The playhead in the middle of a shot."""
    w.timeline.set_position(float(w.summary.shot_secs[shot].mean()))


def test_labels_act_at_once_in_every_mode_and_after_personalize(window, qtbot):
    w = window
    w.selection.slider.setValue(30)
    for mode in MODES:
        w.selection.set_mode(mode)
        chosen = sorted(w.chosen.shots)
        out = [i for i in range(len(w.summary.shot_secs)) if i not in chosen]
        assert chosen and out, mode
        skip, keep = chosen[0], out[-1]
        w.labels.label_shot(skip, SKIP)
        w.labels.label_shot(keep, KEEP)
        assert skip not in w.chosen.shots and keep in w.chosen.shots, mode  # at once, no Personalize
        assert w.timeline.chosen == set(w.chosen.shots)
        assert w.chosen.duration <= w.summary.selector(w.chosen.method).budget(0.30) + 1e-6
        w.labels.label_shot(skip, None)
        w.labels.label_shot(keep, None)
    # more keep than the budget holds: as many as fit, and the status says so
    w.selection.set_mode("knapsack")
    w.selection.slider.setValue(5)
    for i in range(len(w.summary.shot_secs)):
        w.labels.label_shot(i, KEEP)
    assert "do not fit in the summary" in w.statusBar().currentMessage()
    for i in range(len(w.summary.shot_secs)):
        w.labels.label_shot(i, None)

    # Personalize: the new curve drives, the labels still hold, the old driver is one click away
    w.selection.slider.setValue(30)
    before = w.selection.driver_name
    scores = w.summary.selector(before).shot_scores
    keep, skip = int(np.argmin(scores)), int(np.argmax(scores))
    w.labels.label_shot(keep, KEEP)
    w.labels.label_shot(skip, SKIP)
    shown = w.summary
    with qtbot.waitSignal(w.summaryShown, timeout=120_000):
        w.personalize()
    name = personal.curve_name("default")
    assert name not in shown.scores  # the Summary the GUI thread read is not changed
    assert w.selection.driver_name == name and w.chosen.method == name
    assert keep in w.chosen.shots and skip not in w.chosen.shots
    w.selection.driver.setCurrentIndex(w.selection.driver.findData(before))  # one click back
    assert w.chosen.method == before and keep in w.chosen.shots and skip not in w.chosen.shots


def test_keys_label_from_any_widget_and_no_stray_profile(window, qtbot):
    w = window
    profiles = w.labels.profiles()
    # right after Summarize: keys typed on the profile box, the driver box, the slider label
    for widget, shot, key, label in ((w.profile_box, 0, Qt.Key.Key_K, KEEP),
                                     (w.selection.driver, 1, Qt.Key.Key_S, SKIP),
                                     (w.selection.slider, 2, Qt.Key.Key_K, KEEP)):
        widget.setFocus()
        at(w, shot)
        qtbot.keyClick(widget, key)
        assert w.timeline.labels.get(shot) == label, widget
    at(w, 2)
    qtbot.keyClick(w.profile_box, Qt.Key.Key_C)
    assert 2 not in w.timeline.labels
    qtbot.keyClick(w.selection.mode, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.timeline.labels.get(2) == KEEP
    assert w.labels.profile == "default" and w.labels.profiles() == profiles  # no profile "k"
    assert not w.profile_box.isEditable()

    # a new profile is an explicit action: "New profile…", a name, Enter
    n = len(w.labels.undo_stack)
    w.profile_box.setFocus()
    w.profile_box.activated.emit(w.profile_box.findText(w.profile_row.NEW))
    edit = w.profile_row.name_edit
    assert edit.isVisible() and edit.hasFocus()
    qtbot.keyClicks(edit, "kids")  # typing a name is typing, not labelling
    assert edit.text() == "kids" and len(w.labels.undo_stack) == n and w.labels.profile == "default"
    qtbot.keyClick(edit, Qt.Key.Key_Escape)  # Esc cancels: no profile
    assert not edit.isVisible() and w.labels.profile == "default" and w.profile_box.findText("kids") < 0
    assert not w.summarizer.busy  # and Esc did not reach the window's Cancel
    w.profile_row.new_profile()
    qtbot.keyClicks(edit, "kids")
    with qtbot.waitSignal(w.labels.profileChanged):
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert w.labels.profile == "kids" and w.profile_box.currentText() == "kids"
    assert w.timeline.labels == {}  # the new profile has no labels yet
    at(w, 3)
    qtbot.keyClick(w.profile_box, Qt.Key.Key_S)
    assert w.timeline.labels == {3: SKIP} and w.labels.profile == "kids"


def test_profile_curve_in_a_job_box_off_while_personalizing(window, qtbot, monkeypatch):
    w = window
    for i, lab in ((0, KEEP), (1, SKIP), (2, KEEP)):
        w.labels.label_shot(i, lab)
    with qtbot.waitSignal(w.summaryShown, timeout=120_000):
        w.personalize()
        assert w.personalizer.busy and not w.profile_row.isEnabled()  # no profile change mid-fit
        assert not w.new_profile_action.isEnabled()
    qtbot.waitUntil(lambda: not w.personalizer.busy)
    assert w.profile_row.isEnabled() and w.new_profile_action.isEnabled()
    mine = personal.curve_name("default")
    assert mine in w.summary.scores

    threads = []
    real = workers.personal_scores
    monkeypatch.setattr(workers, "personal_scores",
                        lambda *a: threads.append(threading.current_thread()) or real(*a))
    shown = w.summary
    with qtbot.waitSignal(w.summaryShown, timeout=60_000):
        w.labels.set_profile("bob")
        assert w.personalizer.curve.busy and w.summary is shown  # computed in a job, not here
    assert mine not in w.summary.scores and mine in shown.scores  # a new Summary; the old one kept
    with qtbot.waitSignal(w.summaryShown, timeout=60_000):
        w.labels.set_profile("default")
    assert mine in w.summary.scores
    np.testing.assert_allclose(w.summary.scores[mine].scores, shown.scores[mine].scores, atol=1e-6)
    assert len(threads) == 2 and threading.main_thread() not in threads


def suggested(w: MainWindow, qtbot) -> list[int]:
    """The suggestions once their job has answered."""
    qtbot.waitUntil(lambda: not w.suggestions.slot.busy and len(w.suggestions.shots) == 3, timeout=30_000)
    return w.suggestions.shots


def test_suggested_shots_badge_and_tab(window, qtbot):
    w = window
    assert len(suggested(w, qtbot)) == 3 and w.timeline.suggested == w.suggestions.shots
    assert w.next_suggestion_action.isEnabled()
    # the badge is painted where the timeline says
    img = w.timeline.grab().toImage()
    badge = QColor(style.SUGGEST)
    for i in range(len(w.summary.shot_secs)):
        r = w.timeline.badge(i).toRect()
        px = [QColor(img.pixel(x, y)) for x in range(r.left(), r.right()) for y in range(r.top(), r.bottom())]
        yellow = sum(c == badge for c in px)
        assert (yellow > len(px) // 4) == (i in w.suggestions.shots), (i, yellow, len(px))
    # Tab walks them in time order from the playhead, then wraps
    order = sorted(w.suggestions.shots, key=lambda i: w.summary.shot_secs[i, 0])
    w.timeline.set_position(0.0)
    w.selection.slider.setFocus()
    seen = []
    for _ in range(4):
        qtbot.keyClick(w.selection.slider, Qt.Key.Key_Tab)
        seen.append(w.current_shot())
    assert seen == [*order, order[0]]
    # labelling the shot there replaces its suggestion
    first = order[0]
    at(w, first)
    qtbot.keyClick(w, Qt.Key.Key_K)
    assert w.timeline.labels.get(first) == KEEP
    assert first not in w.suggestions.shots  # its badge goes at once; the new suggestions come from a job
    assert first not in suggested(w, qtbot) and w.timeline.suggested == w.suggestions.shots
    assert w.suggestions.shots == personal.suggestions(w.summary, w.labels.profile, w.labels.store)


def test_suggestions_in_a_job_the_newest_label_change_wins(window, qtbot, monkeypatch):
    """A label change does not wait for its suggestions (a job); a newer change retires the older
    job, whose answer is never shown even when it comes last."""
    w = window
    first, second = suggested(w, qtbot)[:2]
    real, calls, threads = workers.suggestions, [], []

    def slow(summary, profile, store, n=3):
        threads.append(threading.current_thread())
        calls.append(len(calls))
        shots = real(summary, profile, store, n)
        if len(calls) == 1:  # the older job answers last, and with shots only a stale answer names
            time.sleep(1.5)
            return [first, second]
        return shots

    monkeypatch.setattr(workers, "suggestions", slow)
    t0 = time.perf_counter()
    w.labels.label_shot(first, KEEP)
    assert time.perf_counter() - t0 < 1.0 and w.suggestions.slot.busy  # the event loop was not held
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)  # the first job is running
    w.labels.label_shot(second, SKIP)
    qtbot.waitUntil(lambda: len(calls) == 2 and not w.suggestions.slot.busy, timeout=30_000)
    newest = list(w.suggestions.shots)
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=30_000)  # the stale job has ended too
    qtbot.wait(100)  # anything it queued has been delivered
    assert w.suggestions.shots == newest == real(w.summary, w.labels.profile, w.labels.store)
    assert first not in newest and second not in newest and w.timeline.suggested == newest
    assert threading.main_thread() not in threads


def test_suggestions_of_an_older_summary_are_not_shown(window, qtbot, monkeypatch):
    """A new summary numbers its shots anew: until its own suggestions come, the old ones are
    not badged, and Tab does nothing (an index of the old summary could be past the new one's)."""
    w = window
    suggested(w, qtbot)
    gate = threading.Event()
    real = workers.suggestions
    monkeypatch.setattr(workers, "suggestions", lambda *a, **k: gate.wait(30) and real(*a, **k))
    fresh = w.summary.with_scores({})  # another Summary object of the same video
    w.show_summary(fresh, fresh=True)
    assert w.summary is fresh and w.suggestions.slot.busy
    assert w.suggestions.shots == [] and w.timeline.suggested == [] and not w.next_suggestion_action.isEnabled()
    here = w.timeline.position
    w.suggestions.next()
    assert w.timeline.position == here
    gate.set()
    assert len(suggested(w, qtbot)) == 3 and w.suggestions.of[0] is fresh
