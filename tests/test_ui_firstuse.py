"""What a first-time user sees (issue 22): the chosen pieces outlined exactly, counts in pieces,
the driving curve and its breakdown, the hover legend, demo/yours marks, status sentences, the
export dialog's summary line, tooltips, folder and crossfade, and the trainer's one-step run."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter

from vsumgui.core import checkpoints, export, methods
from vsumgui.core.pipeline import DEFAULT_MODE
from vsumgui.core.select import MODES
from vsumgui.ui import style
from vsumgui.ui.controls import RunPanel, SelectionPanel
from vsumgui.ui.methodlist import MethodList
from vsumgui.ui.plots import CurvesView
from vsumgui.ui.timeline import Timeline

LONG = 300_000


def partial_selection(summary):
    """A diverse selection whose pieces are parts of shots (what the issue saw: 5 bands for 8 s)."""
    for ratio in (0.15, 0.1, 0.2, 0.3):
        sel = summary.select(ratio, "diverse", "ctvsum")
        shot_time = sum(float(summary.shot_secs[i][1] - summary.shot_secs[i][0]) for i in sel.shots)
        if sel.segments and shot_time > sel.duration + 0.5:
            return sel
    pytest.skip("no diverse selection on the sample keeps only parts of its shots")


# -- timeline -----------------------------------------------------------------------------------
def test_timeline_outlines_exactly_the_chosen_pieces(qtbot, sample_summary):
    s = sample_summary
    sel = partial_selection(s)
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(1200, 80)
    tl.show()
    tl.set_shots(s.shot_secs, s.video.duration)
    tl.set_selection(sel)
    img = tl.grab().toImage()
    amber = QColor(style.CHOSEN).rgb()
    row = img.height() - 3  # the bar under the chosen pieces
    xs = np.array([x for x in range(img.width()) if img.pixel(x, row) == amber])
    expect = np.zeros(img.width(), dtype=bool)
    for a, b in sel.segments:
        expect[int(round(tl.x_of(a))) + 1:int(round(tl.x_of(b))) - 1] = True
    got = np.zeros(img.width(), dtype=bool)
    got[xs] = True
    # the bar covers the pieces (to a pixel at each end), not the whole chosen shots
    assert (got & ~expect).sum() <= 2 * len(sel.segments) + 2
    assert (expect & ~got).sum() == 0
    scale = img.width() / s.video.duration
    assert abs(got.sum() / scale - sel.duration) < 0.1 * sel.duration + 2 * len(sel.segments) / scale
    # a part of a chosen shot outside its piece is dimmed like an unchosen shot, the piece is not
    shot = next(i for i in sel.shots if s.shot_secs[i][1] - s.shot_secs[i][0] > 1.0 + tl.chosen_in(i))
    a, b = s.shot_secs[shot]
    inside = next(seg for seg in sel.segments if seg[0] < b and seg[1] > a)
    out_t = a + 0.25 if inside[0] - a > 0.5 else b - 0.25
    y = img.height() // 2
    lum = lambda t: QColor(img.pixel(int(tl.x_of(t)), y)).lightness()  # noqa: E731
    mid = (max(a, inside[0]) + min(b, inside[1])) / 2
    assert lum(out_t) > lum(mid) + 10
    # the tooltip says how much of the shot is in the summary
    assert 0 < tl.chosen_in(shot) < b - a


def test_timeline_grows_and_label_colours_are_not_the_playhead():
    assert Timeline().maximumHeight() > 2 * Timeline().minimumHeight()
    red = QColor(style.PLAYHEAD)
    for c in (QColor(style.SKIP), QColor(style.KEEP)):
        assert abs(c.hue() - red.hue()) % 360 > 60  # far from red on the colour wheel


# -- selection panel, run panel ---------------------------------------------------------------
def test_summary_label_counts_pieces_and_time(qtbot, sample_summary):
    panel = SelectionPanel()
    qtbot.addWidget(panel)
    s = sample_summary
    sel = partial_selection(s)
    panel.describe(sel, s.video.duration)
    n = len(sel.segments)
    assert panel.label.text() == (f"{n} piece{'s' if n != 1 else ''} · {style.fmt_time(sel.duration)} of "
                                  f"{style.fmt_time(s.video.duration)}")
    assert "shot" not in panel.label.text()
    # the Mode list starts with the default (diverse) and holds every mode; method names are titles
    modes = [panel.mode.itemData(i) for i in range(panel.mode.count())]
    assert modes[0] == DEFAULT_MODE and sorted(modes) == sorted(MODES)
    panel.set_methods(list(s.scores))
    assert panel.driver.itemText(panel.driver.findData("csum")) == "CSUM"


def test_status_sentences_go_below_the_bar(qtbot):
    panel = RunPanel()
    qtbot.addWidget(panel)
    text = "Personalized (fitted on your labels): curve “personalized (default)” added"
    panel.show_state(text, full=True)
    assert panel.progress.format() == "Personalized" and panel.status.text() == text
    assert panel.status.wordWrap()
    panel.begin("personalize")  # a job's 0 % shows at once
    assert panel.progress.value() == 0 and "Personalize" in panel.progress.format() and panel.status.text() == ""


# -- curves ---------------------------------------------------------------------------------
def test_driver_drawn_first_and_breakdown_follows_it(qtbot, sample_summary):
    s = sample_summary
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(1000, 300)
    view.show()
    view.set_summary(s, {n: True for n in s.scores}, "ctvsum")
    view.set_selection(s.select(0.15, "diverse", "csum"))
    assert view.driver == "csum" and view.breakdown_of == "csum" and not view.parts
    widths = {n: c.opts["pen"].widthF() for n, c in view.curves.items()}
    assert widths["csum"] == max(widths.values()) and all(w < widths["csum"] for n, w in widths.items() if n != "csum")
    assert view.curves["ctvsum"].opts["pen"].color().alpha() < 255
    assert "has no parts" in view.parts_plot.titleLabel.text and "CSUM" in view.parts_plot.titleLabel.text
    view.set_selection(s.select(0.15, "diverse", "ctvsum"))
    assert view.breakdown_of == "ctvsum" and {"align", "uniform"} <= set(view.parts)
    assert view.curves["ctvsum"].opts["pen"].widthF() == style.DRIVER_WIDTH
    # the hover legend: driver first, the normalized value drawn and the raw score
    text = view.hover_text(10.0)
    i = int(np.searchsorted(s.times, 10.0, side="right") - 1)
    assert text.index("CTVSUM") < text.index("CSUM")
    raw = float(s.scores["trim"].scores[i])
    assert f"raw {raw:.3g}" in text
    assert f"{methods.minmax(s.scores['trim'].scores)[i]:.2f}" in text
    # a real mouse move over the importance plot shows it; leaving hides it
    from PySide6.QtCore import QPointF

    assert not view.hover.isVisible()
    vb = view.scores_plot.vb
    scene = vb.mapViewToScene(QPointF(10.0, 0.5))
    pos = view.glw.mapFromScene(scene)
    qtbot.mouseMove(view.glw.viewport(), pos)
    qtbot.waitUntil(view.hover.isVisible, timeout=2000)
    assert "CTVSUM" in view.hover.toPlainText() and "raw" in view.hover.toPlainText()
    assert view.hover_line.value() == pytest.approx(10.0, abs=0.2)


def test_parts_axis_keeps_0_and_1_when_short(qtbot, sample_summary):
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(700, 150)  # the plots' share of a 1024x640 window
    view.show()
    view.set_summary(sample_summary, {}, "ctvsum")
    qtbot.wait(50)
    ax = view.parts_plot.getAxis("left")
    assert ax.height() < 70
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    texts = [t[2] for t in ax.generateDrawSpecs(p)[2]]
    p.end()
    assert "0" in texts and "1" in texts


def test_method_list_marks_demo_checkpoints_and_hides_baselines(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("VSUMGUI_DATA_DIR", str(tmp_path / "data"))
    ml = MethodList()
    qtbot.addWidget(ml)
    demo = checkpoints.demo_path("ctvsum")
    assert demo.is_file()
    item = ml.items["ctvsum"]
    assert item.text() == "CTVSUM · demo" and str(demo) in item.toolTip()
    assert ml.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    # baselines start hidden; their tick shows them
    assert set(ml.hidden()) == set(style.BASELINES)
    with qtbot.waitSignal(ml.visibilityChanged) as sig:
        ml.items["random"].setCheckState(Qt.CheckState.Checked)
    assert sig.args == ["random", True]
    # a user checkpoint makes it "yours", named in the tooltip
    mine = checkpoints.user_path("ctvsum")
    mine.parent.mkdir(parents=True)
    shutil.copy(demo, mine)
    ml.fill()
    assert ml.items["ctvsum"].text() == "CTVSUM · yours" and str(mine) in ml.items["ctvsum"].toolTip()
    assert "random" not in ml.hidden()  # a refill keeps what the user showed


# -- export dialog --------------------------------------------------------------------------
def test_export_dialog_says_what_and_where(qtbot, sample_summary, tmp_path, monkeypatch):
    from vsumgui.ui import export_dialog as ed

    s = sample_summary
    sel = s.select(0.15, "diverse", "ctvsum")
    # a source folder that cannot be written: the user's Videos folder instead
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(ed.platformdirs, "user_videos_dir", lambda: str(tmp_path / "Videos"))
    assert ed.default_folder(blocker / "clip.mp4") == tmp_path / "Videos" / "clip-summary"
    assert ed.default_folder(tmp_path / "clip.mp4") == tmp_path / "clip-summary"
    from PySide6.QtWidgets import QWidget

    owner = QWidget()  # the window, in the application
    qtbot.addWidget(owner)
    dlg = ed.ExportDialog(s, str(blocker / "clip-summary"), owner)
    dlg.show()
    assert dlg.folder.text() != str(blocker / "clip-summary") and "cannot be written" in dlg.status.text()
    # one line: pieces, length, mode, driver, cut mode
    n = len(sel.segments)
    line = dlg.what.text()
    assert f"{n} piece" in line and style.fmt_time(sel.duration) in line and "Diverse" in line
    assert "driven by CTVSUM" in line and "exact cuts" in line  # frame-exact by default
    dlg.cut.setCurrentIndex(dlg.cut.findData("keyframe"))
    assert "keyframe cuts" in dlg.what.text()
    dlg.cut.setCurrentIndex(dlg.cut.findData("exact"))
    # tooltips name the programs, as words (they were spelled one character at a time)
    edl = export.get("edl")
    assert edl.editors in dlg.checks["edl"].toolTip() and "D, a" not in dlg.checks["edl"].toolTip()
    # a long message wraps instead of stretching the dialog
    dlg.say("Exported 12 files to " + "/a/very/long/folder" * 30 + ".")
    assert dlg.width() <= ed.WIDTH + 160
    # crossfade applies to the summary video; the progress line names formats by their labels
    for name, box in dlg.checks.items():
        box.setChecked(name in ("video", "edl"))
    assert dlg.crossfade.isEnabled()
    dlg.crossfade.setValue(0.5)
    assert "0.5 s crossfades" in dlg.what.text()
    dlg._progress("video", 0.5)
    assert dlg.status.text() == f"Writing {export.get('video').label} …"
    dlg.folder.setText(str(tmp_path / "out"))
    opened: list = []
    monkeypatch.setattr(ed, "open_url", lambda url: opened.append(url.toLocalFile()) or True)
    assert not dlg.open_button.isVisible()
    with qtbot.waitSignal(dlg.exported, timeout=120_000) as got:
        dlg.start()
    result = got.args[0]
    qtbot.waitUntil(lambda: not dlg.running(), timeout=10_000)
    assert sorted(p.name for p in result.files) == sorted(p.name for p in (tmp_path / "out").iterdir())
    assert dlg.open_button.isVisible()
    qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(tmp_path / "out")]
    # the crossfade reached the export: a re-encoded MP4 (the source is WebM), shorter by the overlaps
    from vsumgui.core.video import probe

    video = next(p for p in result.files if p.suffix != ".edl")
    if n > 1:
        assert video.suffix == ".mp4" and probe(video).duration < sel.duration - 0.2 * (n - 1)
    dlg.close()


# -- trainer -----------------------------------------------------------------------------------
def test_trainer_one_step_run_shows_its_point(qtbot, tmp_path, monkeypatch, media_dir):
    from vsumgui.ui.trainer_panel import TrainerPanel

    monkeypatch.setenv("VSUMGUI_DATA_DIR", str(tmp_path / "data"))  # the checkpoint goes here
    lib = tmp_path / "lib"
    lib.mkdir()
    for v in sorted(media_dir.glob("*"))[:3]:
        shutil.copy(v, lib / v.name)
    panel = TrainerPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_folder(str(lib))
    qtbot.waitUntil(lambda: panel.start_button.isEnabled(), timeout=60_000)
    panel.method.setCurrentIndex(panel.method.findData("ctvsum"))
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    panel.epochs.setValue(1)
    panel.batch.setValue(32)  # 3 videos, one window each: one step
    panel.hparams = {"window": 64}
    panel.start()
    for w in (panel.folder, panel.browse_button, panel.method, panel.epochs, panel.batch, panel.device):
        assert not w.isEnabled()  # locked during the run, "Choose…" included
    with qtbot.waitSignal(panel.trained, timeout=LONG):
        pass
    assert len(panel.losses) == 1
    xs, ys = panel.loss_curve.scatter.getData()
    assert list(xs) == [1] and list(ys) == pytest.approx(panel.losses)
    panel.plot.getPlotItem().vb.autoRange()
    img = panel.plot.grab().toImage()
    blue = QColor("#1f77b4")
    assert any(QColor(img.pixel(x, y)) == blue for x in range(0, img.width(), 1) for y in range(0, img.height(), 2))
    assert f"Loss {panel.losses[0]:.4g}" in panel.loss_info.text()
    assert "1 step per epoch" in panel.loss_info.text() and "single step" in panel.loss_info.text()
    qtbot.waitUntil(lambda: panel.browse_button.isEnabled(), timeout=10_000)
    panel.stop()


# -- empty state, first frame ------------------------------------------------------------------
def test_empty_state_offers_open_and_recent_files(qtbot, tmp_path, sample_video):
    from vsumgui.ui.firstview import EmptyState

    view = EmptyState()
    qtbot.addWidget(view)
    view.show()
    gone = tmp_path / "moved.mp4"
    view.set_recent([str(sample_video), str(gone)])
    assert view.recent.count() == 1 and view.recent.isVisible()  # a file that is gone is not offered
    with qtbot.waitSignal(view.fileChosen) as sig:
        rect = view.recent.visualItemRect(view.recent.item(0))
        qtbot.mouseClick(view.recent.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [str(sample_video)]
    with qtbot.waitSignal(view.openRequested):
        qtbot.mouseClick(view.open_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(view.fileChosen) as sig:
        qtbot.mouseClick(view.sample_button, Qt.MouseButton.LeftButton)
    assert sig.args == [str(sample_video)]
    view.set_recent([])
    assert not view.recent.isVisible()


def test_representative_frame_is_the_top_shot(sample_summary):
    from vsumgui.ui.firstview import representative_time

    s = sample_summary
    for name in ("ctvsum", "csum"):
        t = representative_time(s, name)
        top = int(np.argmax(s.selector(name).shot_scores))
        a, b = s.shot_secs[top]
        assert a < t < b and t == pytest.approx((a + b) / 2)


# -- the window ----------------------------------------------------------------------------------
@pytest.fixture
def window(qtbot):
    from conftest import shown_window
    from vsumgui.ui.window import settings

    settings().remove("hidden_methods")  # a first run: nothing saved yet
    yield from shown_window(qtbot)


def test_window_first_view_then_a_representative_frame(window, qtbot, sample_video, sample_summary):
    from vsumgui.ui.firstview import representative_time

    w = window
    assert w.pages.currentWidget() is w.empty and w.empty.isVisible()
    assert not w.preview.isVisible()
    with qtbot.waitSignal(w.summaryShown, timeout=LONG):  # cached by the session's summary: shown at once
        qtbot.mouseClick(w.empty.sample_button, Qt.MouseButton.LeftButton)
    assert w.path == sample_video and w.pages.currentWidget() is w.preview
    s, sel = w.summary, w.chosen
    # the preview shows the driver's top-scored shot, not the first (black) frame
    t = representative_time(s, sel.method)
    qtbot.waitUntil(lambda: abs(w.preview.position - t) < 0.3, timeout=10_000)
    # the timeline and the plots outline the pieces; the label counts them
    assert w.timeline.segments == [tuple(x) for x in sel.segments]
    assert w.curves.spans[0].spans == [tuple(x) for x in sel.segments]
    assert w.selection.label.text().startswith(f"{len(sel.segments)} piece")
    assert w.curves.driver == sel.method == w.curves.breakdown_of
    # baselines start hidden; their tick shows them
    assert not w.curves.curves["random"].isVisible() and w.curves.curves["ctvsum"].isVisible()
    w.method_list.items["random"].setCheckState(Qt.CheckState.Checked)
    assert w.curves.curves["random"].isVisible()
    # the sentence under the bar, the bar short
    assert w.run_panel.status.text().startswith("Done:") and w.run_panel.progress.format() == "Done"
    # the recent files show on the next first view
    assert str(sample_video) in w.prefs.recent_files()
    w.empty.set_recent(w.prefs.recent_files())
    assert w.empty.recent.item(0).data(Qt.ItemDataRole.UserRole) == str(sample_video)


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_layout_fits_from_small_to_large(window, qtbot, sample_video, sample_summary, size):
    w = window
    w.resize(*size)
    with qtbot.waitSignal(w.summaryShown, timeout=LONG):
        w.open_video(sample_video)
    qtbot.wait(100)
    ml = w.method_list
    # every method name fits: no eliding, no sideways scroll bar
    assert ml.viewport().width() >= ml.sizeHintForColumn(0) and not ml.horizontalScrollBar().isVisible()
    # the breakdown keeps its 0 and 1
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    texts = [t[2] for t in w.curves.parts_plot.getAxis("left").generateDrawSpecs(p)[2]]
    p.end()
    assert "0" in texts and "1" in texts
    # the shot strip grows with the window (thumbnails with it)
    tall = w.timeline.height()
    assert tall >= (80 if size[1] >= 1080 else 56), tall
