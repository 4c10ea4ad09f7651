"""The scene band of the timeline: a block per scene with its first shot's thumbnail and start time; a click seeks."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from vsumgui.ui.timeline import BAND, Timeline

SHOTS = np.array([[0.0, 4.0], [4.0, 10.0], [10.0, 13.0], [13.0, 20.0], [20.0, 30.0]])
SCENES = np.array([[0, 2], [2, 4], [4, 5]])  # scene 2 starts with shot 3 at 10 s


def strip(qtbot) -> Timeline:
    t = Timeline()
    qtbot.addWidget(t)
    t.resize(600, 100)
    t.set_shots(SHOTS, 30.0)
    t.set_scenes(SCENES)
    return t


def test_band_shows_each_scene_with_its_first_shot_thumbnail(qtbot):
    t = strip(qtbot)
    img = QImage(64, 36, QImage.Format.Format_RGB888)
    img.fill(QColor(255, 0, 0))
    t.add_thumbnail(2, img)  # the first shot of scene 2
    other = QImage(64, 36, QImage.Format.Format_RGB888)
    other.fill(QColor(0, 0, 255))
    t.add_thumbnail(3, other)  # inside scene 2: shown in its shot block, not in the band
    pic = t.grab().toImage()
    x2 = int(t.x_of(10.0))
    assert QColor(pic.pixel(x2 + 6, BAND // 2)).red() > 200  # the thumbnail at the scene's left
    band = [QColor(pic.pixel(x, BAND // 2)) for x in range(x2, int(t.x_of(20.0)))]
    assert not any(c.blue() > 200 and c.red() < 50 for c in band)
    # below the band, the shots: shot 4's own thumbnail
    assert QColor(pic.pixel(int(t.x_of(16.5)), BAND + 20)).blue() > 200
    # scene 1 has no thumbnail yet: its start time is written in white on the band
    whites = [QColor(pic.pixel(x, y)).lightness() > 200 for x in range(int(t.x_of(0)), x2) for y in range(BAND)]
    assert any(whites)
    t.set_shots(SHOTS, 30.0)  # new shots: no scenes until they are given
    assert t.scene_at(t.x_of(12), 5) is None
    assert QColor(t.grab().toImage().pixel(x2 + 6, BAND // 2)).green() > 150  # the shot block, no red thumbnail


def test_click_on_a_scene_seeks_to_its_start(qtbot):
    t = strip(qtbot)
    t.show()
    qtbot.waitExposed(t)
    seeks = []
    t.seekRequested.connect(seeks.append)
    x = int(t.x_of(17.0))
    qtbot.mouseClick(t, Qt.MouseButton.LeftButton, pos=QPoint(x, BAND // 2))  # in scene 2's band
    qtbot.mouseClick(t, Qt.MouseButton.LeftButton, pos=QPoint(x, BAND + 20))  # on shot 4
    assert seeks[0] == 10.0
    assert abs(seeks[1] - 17.0) < 30.0 / 600 * 2
    assert t.scene_at(t.x_of(25.0), 3) == 2 and t.scene_at(t.x_of(25.0), BAND + 5) is None


def test_window_shows_the_summary_scenes(qtbot, sample_summary):
    from pathlib import Path

    from vsumgui.ui import worker as workers
    from vsumgui.ui.window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.path = Path(sample_summary.video.path)
    w.show_summary(sample_summary)
    assert np.array_equal(w.timeline.scenes, sample_summary.scenes) and len(w.timeline.scenes) >= 2
    first = int(sample_summary.scenes[1, 0])  # the thumbnails decoded per shot fill the band too
    qtbot.waitUntil(lambda: first in w.timeline.thumbs, timeout=60_000)
    w.close()
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=60_000)
