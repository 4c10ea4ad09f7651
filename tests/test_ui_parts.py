"""The window's parts on their own: OpenCV preview fallback, timeline, time axis, workers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPoint, Qt, Slot

from vsumgui.core.pipeline import Options
from vsumgui.core.video import iter_frames, probe
from vsumgui.ui import worker as workers
from vsumgui.ui.plots import TimeAxis
from vsumgui.ui.preview import Preview, preferred_backend
from vsumgui.ui.style import fmt_fps, fmt_time, method_color
from vsumgui.ui.timeline import Timeline


class Catch(QObject):
    """Receives worker signals on the GUI thread."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list = []

    @Slot(str)
    def text(self, message: str) -> None:
        self.got.append(message)

    @Slot(int, object)
    def pair(self, i, image) -> None:
        self.got.append((i, image))


@pytest.fixture
def preview(qtbot, sample_video):
    p = Preview()
    qtbot.addWidget(p)
    p.resize(480, 300)
    p.show()
    p.load(sample_video, probe(sample_video))
    yield p
    p.unload()


def test_offscreen_uses_frame_fallback(preview, qtbot):
    assert preferred_backend() == "frames"
    assert preview.backend_name == "frames"
    qtbot.waitUntil(lambda: preview.frame_view.image is not None, timeout=10_000)  # the first frame
    img = preview.frame_view.image
    assert img.width() <= 480 and img.height() <= 300 and abs(img.width() / img.height() - 16 / 9) < 0.02


def test_seek_play_pause(preview, qtbot):
    preview.seek(10.0)
    qtbot.waitUntil(lambda: abs(preview.position - 10.0) < 0.05 and preview.frame_view.image is not None,
                    timeout=10_000)
    assert preview.slider.value() == pytest.approx(10_000, abs=50)
    assert preview.time_label.text() == "0:10 / 0:30"
    preview.toggle()
    assert preview.playing
    qtbot.waitUntil(lambda: preview.position > 10.5, timeout=20_000)
    preview.toggle()
    assert not preview.playing
    stopped = preview.position
    qtbot.wait(300)
    assert preview.position == stopped  # nothing moves after a pause


def test_play_segments_in_order(preview, qtbot):
    segs = [(2.0, 2.5), (20.0, 20.5)]
    seen: list[float] = []
    preview.positionChanged.connect(seen.append)
    preview.play_segments(segs)
    qtbot.waitUntil(lambda: not preview.playing and not preview.segments, timeout=30_000)
    frame = 1 / 24 + 1e-3
    assert all(any(s - frame <= t <= e + frame for s, e in segs) for t in seen), seen
    assert min(seen) <= 2.05 and max(seen) >= 20.45
    firsts = [t for t in seen if t < 10]
    assert firsts == sorted(firsts)  # in order, then the jump to the second piece


def test_end_of_file_stops(preview, qtbot):
    preview.seek(29.5)
    preview.play()
    qtbot.waitUntil(lambda: not preview.playing, timeout=20_000)
    assert preview.position > 29.8


def test_iter_frames_starts_at_time(sample_video):
    frames = iter_frames(sample_video, 12.0, (64, 36))
    first = next(frames)
    second = next(frames)
    frames.close()
    assert first.time == pytest.approx(12.0, abs=1 / 24) and first.rgb.shape == (36, 64, 3)
    assert second.time == pytest.approx(first.time + 1 / 24, abs=1e-3)


def test_timeline_click_seeks_and_double_click_plays(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(600, 64)
    tl.show()
    tl.set_margins(50, 10)
    tl.set_shots(np.array([[0, 10], [10, 25], [25, 60]]), 60.0, np.array([0.2, 0.9, 0.4]))
    tl.set_chosen([1])
    assert tl.grab().width() == 600  # paints
    x = int(tl.x_of(30.0))
    with qtbot.waitSignal(tl.seekRequested) as seek:
        qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(x, 30))
    assert seek.args[0] == pytest.approx(30.0, abs=0.2)
    with qtbot.waitSignal(tl.playShotRequested) as play:
        qtbot.mouseDClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(12.0)), 30))
    assert play.args == [1]
    assert tl.time_at(0) == 0.0 and tl.time_at(10_000) == 60.0  # clamped to the video
    tl.set_view(20.0, 40.0)  # zoomed like the plots
    assert tl.time_at(tl.x_of(30.0)) == pytest.approx(30.0)


def test_thumbnails_come_from_a_worker(qtbot, sample_video):
    shots = np.array([[0.0, 5.0], [5.0, 12.0], [12.0, 30.0]])
    w = workers.ThumbnailWorker(sample_video, shots, height=40)
    catch = Catch()
    w.thumbnail.connect(catch.pair)
    workers.start(w)
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=60_000)
    assert [i for i, _ in catch.got] == [0, 1, 2]
    assert all(img.height() == 40 and img.width() == 71 for _, img in catch.got)


def test_summarize_worker_reports_user_error(qtbot, tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00" * 1000)
    w = workers.SummarizeWorker(bad, Options())
    catch = Catch()
    w.failed.connect(catch.text)
    workers.start(w)
    qtbot.waitUntil(lambda: bool(catch.got), timeout=60_000)
    assert catch.got[0].startswith(str(bad)) and "not a video file" in catch.got[0]
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=10_000)


def test_time_axis_and_formats():
    ax = TimeAxis("bottom")
    assert ax.tickStrings([0, 65, 3600 + 61], 1, 1) == ["0:00", "1:05", "1:01:01"]
    (major, _), *_ = ax.tickSpacing(0, 30, 1200)
    assert major == 2  # 0:00, 0:02, ... on a 30 s clip across a wide plot
    (major, _), *_ = ax.tickSpacing(0, 30, 600)
    assert major == 5  # fewer labels where there is less room
    (major, _), *_ = ax.tickSpacing(0, 3600, 1200)
    assert major == 300  # every 5 minutes on an hour
    assert fmt_time(59.6) == "1:00" and fmt_fps(29.97002997) == "29.97 fps" and fmt_fps(24.0) == "24 fps"
    assert method_color("ctvsum").name() == "#0072b2"
    assert method_color("some-new-method") == method_color("some-new-method")  # stable per name


def test_none_references_lost_by_qt_are_given_back(qtbot):
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call (see ui/compat.py)."""
    import sys

    from PySide6.QtWidgets import QWidget

    from vsumgui.ui import compat

    if sys.version_info >= (3, 12):  # the count below would be a constant: nothing could fail
        pytest.skip("None is immortal on Python >= 3.12: no reference to it can be lost")
    w = QWidget()
    qtbot.addWidget(w)
    guard = compat.install()
    assert (guard is not None) == compat.affected()
    compat.top_up()  # the floor includes every use of None made so far
    before = sys.getrefcount(None)
    for _ in range(20_000):  # a few seconds of playback's worth of Qt calls
        w.update()
    qtbot.wait(400)  # the guard's timer runs
    assert sys.getrefcount(None) >= before - 50
