"""Video preview: QtMultimedia when it plays the file, else frames decoded with OpenCV.

QtMultimedia needs system libraries (PulseAudio on Linux) and a real display; when it cannot
be imported, runs on the offscreen platform, or reports that it cannot play the file, the
preview decodes frames itself with `core.video.iter_frames`, so every readable file previews.
`VSUMGUI_PREVIEW=frames` (or `multimedia`) forces a backend.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStackedWidget, QStyle, QToolButton, QVBoxLayout, QWidget

from vsumgui.core.video import VideoInfo
from vsumgui.ui import compat
from vsumgui.ui.style import fmt_time
from vsumgui.ui.frames import FramesBackend, FrameView

def multimedia_module():
    """The QtMultimedia modules, or None where they cannot load (missing system libraries)."""
    try:
        from PySide6 import QtMultimedia, QtMultimediaWidgets
    except ImportError:
        return None
    return QtMultimedia, QtMultimediaWidgets


def preferred_backend() -> str:
    choice = os.environ.get("VSUMGUI_PREVIEW", "").strip().lower()
    if choice in ("frames", "multimedia"):
        return choice if choice == "frames" or multimedia_module() else "frames"
    if QGuiApplication.platformName() in ("offscreen", "minimal", "vnc"):
        return "frames"
    return "multimedia" if multimedia_module() else "frames"


class MultimediaBackend(QObject):
    """Playback with QMediaPlayer into a QVideoWidget (hardware decoding, sound)."""

    name = "multimedia"
    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        mm, mmw = multimedia_module()
        self._mm = mm
        self.widget = mmw.QVideoWidget()
        self.player = mm.QMediaPlayer(self)
        self.audio = mm.QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.player.setVideoOutput(self.widget)
        self.player.positionChanged.connect(lambda ms: self.positionChanged.emit(ms / 1000.0))
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.errorOccurred.connect(lambda err, text: self.failed.emit(text or str(err)))
        self.playing = False

    @property
    def position(self) -> float:
        return self.player.position() / 1000.0

    def load(self, path: str, info: VideoInfo) -> None:
        self.player.setSource(QUrl.fromLocalFile(str(Path(path).resolve())))

    def _on_status(self, status) -> None:
        S = self._mm.QMediaPlayer.MediaStatus
        if status == S.InvalidMedia:
            self.failed.emit("QtMultimedia cannot play this file")
        elif status == S.LoadedMedia:
            if not self.player.hasVideo():
                self.failed.emit("QtMultimedia finds no video track")
            elif not self.playing:
                self.player.pause()  # shows the first frame

    def _on_state(self, state) -> None:
        on = state == self._mm.QMediaPlayer.PlaybackState.PlayingState
        if on != self.playing:
            self.playing = on
            self.playingChanged.emit(on)

    def resized(self) -> None:
        pass

    def play(self) -> None:
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def seek(self, t: float) -> None:
        self.player.setPosition(int(t * 1000))

    def close(self) -> None:
        self.player.stop()
        self.player.setSource(QUrl())


class Preview(QWidget):
    """The video, a play/pause button, a seek slider and the time; plays chosen segments in order."""

    positionChanged = Signal(float)
    playingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, backend: str | None = None) -> None:
        super().__init__(parent)
        compat.install()  # PySide6 6.12.0 on Python 3.11: see compat.py
        self.info: VideoInfo | None = None
        self.path: str | None = None
        self.segments: list[tuple[float, float]] = []  # what "play summary" still has to play
        self.frame_view = FrameView()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.frame_view)
        self.stack.setMinimumSize(320, 180)
        self.play_button = QToolButton()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setAutoRaise(True)
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.sliderMoved.connect(lambda ms: self.seek(ms / 1000.0))
        self.slider.sliderPressed.connect(lambda: self.seek(self.slider.value() / 1000.0))
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setMinimumWidth(self.time_label.fontMetrics().horizontalAdvance("0:00:00 / 0:00:00"))
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.play_button)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.time_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.stack, 1)
        lay.addLayout(bar)
        self.backend: FramesBackend | MultimediaBackend | None = None
        self._want = backend or preferred_backend()

    # -- backends -------------------------------------------------------------------------
    def _make_backend(self, kind: str) -> None:
        if self.backend is not None:
            self.backend.close()
            if isinstance(self.backend, MultimediaBackend):
                self.stack.removeWidget(self.backend.widget)
                self.backend.widget.deleteLater()
            self.backend.deleteLater()
        if kind == "multimedia":
            self.backend = MultimediaBackend(self)
            self.stack.addWidget(self.backend.widget)
            self.stack.setCurrentWidget(self.backend.widget)
        else:
            self.backend = FramesBackend(self.frame_view, self)
            self.stack.setCurrentWidget(self.frame_view)
        self.backend.positionChanged.connect(self._on_position)
        self.backend.playingChanged.connect(self._on_playing)
        self.backend.failed.connect(self._on_failed)

    def _on_failed(self, message: str) -> None:
        if isinstance(self.backend, MultimediaBackend) and self.path and self.info:
            # QtMultimedia cannot play it: decode the frames ourselves instead
            at = self.backend.position
            self._make_backend("frames")
            self.backend.load(self.path, self.info)
            self.backend.seek(at)
        else:
            self.time_label.setToolTip(message)

    @property
    def backend_name(self) -> str:
        return self.backend.name if self.backend else self._want

    # -- public ---------------------------------------------------------------------------
    def load(self, path: str | Path, info: VideoInfo) -> None:
        self.path, self.info = str(path), info
        self.segments = []
        self._make_backend(self._want)
        self.slider.setRange(0, int(info.duration * 1000))
        self.slider.setEnabled(True)
        self.backend.load(self.path, info)
        self._show_position(0.0)

    def set_info(self, info: VideoInfo) -> None:
        """Correct the length of the loaded video (decoding found the container's figure wrong)."""
        if self.info is None:
            return
        self.info = info
        if self.backend is not None:
            self.backend.info = info
        self.slider.setRange(0, int(info.duration * 1000))
        self._show_position(min(self.position, info.duration))

    def unload(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.path = self.info = None
        self.segments = []
        self.frame_view.set_image(None)
        self.slider.setEnabled(False)

    @property
    def position(self) -> float:
        return self.backend.position if self.backend else 0.0

    @property
    def playing(self) -> bool:
        return bool(self.backend and self.backend.playing)

    def play(self) -> None:
        if self.backend:
            self.backend.play()

    def pause(self) -> None:
        self.segments = []
        if self.backend:
            self.backend.pause()

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek(self, t: float) -> None:
        """Seek on behalf of the user: ends a "play summary" in progress."""
        self.segments = []
        self._seek(t)

    def play_segments(self, segments: list[tuple[float, float]]) -> None:
        """Play these (start, end) pieces in order, then pause."""
        if not self.backend or not segments:
            return
        self.segments = [(float(s), float(e)) for s, e in segments]
        self._seek(self.segments[0][0])
        self.backend.play()

    # -- internals ------------------------------------------------------------------------
    def _seek(self, t: float) -> None:
        if not self.backend or not self.info:
            return
        t = min(max(0.0, t), self.info.duration)
        self.backend.seek(t)
        self._show_position(t)

    def _on_position(self, t: float) -> None:
        # a position just past the piece's end moves on; a stale one from before the seek does not
        if self.segments and self.segments[0][1] - 1e-3 <= t <= self.segments[0][1] + 1.0:
            end = self.segments.pop(0)[1]
            if self.segments:
                self._seek(self.segments[0][0])
                return
            self.backend.pause()
            frame = 1.0 / self.info.fps if self.info and self.info.fps > 0 else 0.04
            if t > end + frame:  # a busy machine skipped frames past the end: stop on the piece's last frame
                self._seek(max(0.0, end - frame))
                return
        self._show_position(t)

    def _show_position(self, t: float) -> None:
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(int(t * 1000))
            self.slider.blockSignals(False)
        total = self.info.duration if self.info else 0.0
        self.time_label.setText(f"{fmt_time(t)} / {fmt_time(total)}")
        self.positionChanged.emit(t)

    def _on_playing(self, on: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if on else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        if not on and self.segments and self.backend and not self.backend.playing:
            self.segments = []  # reached the end of the file
        self.playingChanged.emit(on)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.backend:
            self.backend.resized()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.backend:
            self.backend.close()
        super().closeEvent(event)
