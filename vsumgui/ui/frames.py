"""The preview's fallback backend: frames decoded with OpenCV (`core.video.iter_frames`) in a
thread of their own and painted on a plain widget; every readable file previews this way."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QRect, QSize, Qt, QThread, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from vsumgui.core.errors import VsumError
from vsumgui.core.video import VideoInfo, iter_frames
from vsumgui.ui.worker import to_qimage

_LATE = 0.1  # seconds: a frame this late is decoded but not shown (playback keeps up)


class FrameView(QWidget):
    """Paints the latest frame scaled to fit, keeping its aspect ratio, on black."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        if self.image is not None and not self.image.isNull():
            size = self.image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            r = QRect(0, 0, size.width(), size.height())
            r.moveCenter(self.rect().center())
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(r, self.image)
        p.end()


class FrameDecoder(QThread):
    """Decodes frames for the fallback preview; the GUI sends commands, gets frames back.

    Commands are coalesced (a burst of seeks from a dragged slider decodes only the last),
    and each frame carries the generation of the seek that produced it, so the GUI drops
    frames that arrive after a newer seek.
    """

    frame = Signal(QImage, float, int)  # image, media time, generation
    ended = Signal(int)
    failed = Signal(str)

    def __init__(self, path: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.size: tuple[int, int] | None = None  # set by the GUI thread: frames are scaled here
        self._cmds: list[tuple[str, float, int]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def command(self, kind: str, t: float = 0.0, gen: int = 0) -> None:
        with self._lock:
            self._cmds.append((kind, t, gen))
        self._wake.set()

    def run(self) -> None:
        try:
            self._loop()
        except VsumError as e:
            self.failed.emit(str(e))

    def _loop(self) -> None:
        frames = None
        pending = None
        playing = restart = False
        wall0 = media0 = last_t = 0.0
        gen = 0
        try:
            while True:
                timeout = None
                if playing:
                    timeout = 0.0 if pending is None else max(
                        0.0, (pending.time - media0) - (time.monotonic() - wall0))
                self._wake.wait(timeout)
                with self._lock:
                    cmds, self._cmds = self._cmds, []
                    self._wake.clear()
                seek = None
                for kind, t, g in cmds:
                    if kind == "quit":
                        return
                    if kind == "seek":
                        seek, gen = t, g
                    elif kind == "play":
                        playing = restart = True
                        gen = g
                    elif kind == "pause":
                        playing = False
                        gen = g
                if seek is not None:
                    if frames is not None:
                        frames.close()
                    frames = iter_frames(self.path, seek, self.size)
                    pending = next(frames, None)
                    if pending is None:
                        playing = False
                        self.ended.emit(gen)
                        continue
                    last_t = pending.time
                    self.frame.emit(to_qimage(pending.rgb), pending.time, gen)
                    pending = None
                    restart = True
                if not playing:
                    continue
                if frames is None:
                    frames = iter_frames(self.path, last_t, self.size)
                if restart:
                    media0, wall0, restart = last_t, time.monotonic(), False
                if pending is None:
                    pending = next(frames, None)
                    if pending is None:
                        playing = False
                        frames = None
                        self.ended.emit(gen)
                        continue
                delay = (pending.time - media0) - (time.monotonic() - wall0)
                if delay > 0.002:
                    continue  # wait at the top of the loop, woken early by a command
                if delay > -_LATE:
                    self.frame.emit(to_qimage(pending.rgb), pending.time, gen)
                last_t = pending.time
                pending = None
        finally:
            if frames is not None:
                frames.close()


class FramesBackend(QObject):
    """Playback by decoding frames with OpenCV in a FrameDecoder thread."""

    name = "frames"
    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    failed = Signal(str)

    def __init__(self, view: FrameView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.decoder: FrameDecoder | None = None
        self.info: VideoInfo | None = None
        self.position = 0.0
        self.playing = False
        self.gen = 0

    def load(self, path: str, info: VideoInfo) -> None:
        self.close()
        self.info = info
        self.position = 0.0
        self.decoder = FrameDecoder(path)
        self.decoder.frame.connect(self._on_frame)
        self.decoder.ended.connect(self._on_ended)
        self.decoder.failed.connect(self.failed)
        self.resized()
        self.decoder.start()
        self.seek(0.0)

    def resized(self) -> None:
        """Decode at the size the view shows (never larger than the video)."""
        if self.decoder is None or self.info is None:
            return
        vw, vh = self.info.width, self.info.height
        box = QSize(vw, vh).scaled(self.view.size().boundedTo(QSize(vw, vh)), Qt.AspectRatioMode.KeepAspectRatio)
        self.decoder.size = (max(2, box.width()), max(2, box.height()))

    def _on_frame(self, image: QImage, t: float, gen: int) -> None:
        if gen != self.gen:
            return  # decoded before a newer seek
        self.view.set_image(image)
        self.position = t
        self.positionChanged.emit(t)

    def _on_ended(self, gen: int) -> None:
        if gen == self.gen:
            self._set_playing(False)

    def _set_playing(self, on: bool) -> None:
        if on != self.playing:
            self.playing = on
            self.playingChanged.emit(on)

    def play(self) -> None:
        if self.decoder is None:
            return
        if self.info and self.position >= self.info.duration - 0.1:
            self.seek(0.0)
        self.decoder.command("play", gen=self.gen)
        self._set_playing(True)

    def pause(self) -> None:
        if self.decoder is not None:
            self.gen += 1  # frames already on their way are dropped: the picture stops here
            self.decoder.command("pause", gen=self.gen)
        self._set_playing(False)

    def seek(self, t: float) -> None:
        if self.decoder is None:
            return
        self.gen += 1
        self.position = t
        self.decoder.command("seek", t, self.gen)

    def close(self) -> None:
        if self.decoder is not None:
            self.decoder.command("quit")
            self.decoder.wait(5000)
            self.decoder = None
        self._set_playing(False)
