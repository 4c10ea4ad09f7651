"""`run()`: the application object, the main window, an optional video, the event loop."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from vsumgui.ui import compat
from vsumgui.ui.settings import APP, ORG
from vsumgui.ui.window import MainWindow


# Qt Multimedia reports each optional library it looks for (VA-API, PipeWire) and each file it
# opens on the terminal; the preview falls back to OpenCV frames by itself, so these say
# nothing a user can act on. A user's own QT_LOGGING_RULES wins.
QUIET = "qt.multimedia.symbolsresolver=false;qt.multimedia.playbackengine.codec=false;qt.multimedia.ffmpeg=false"


def make_app() -> QApplication:
    """The QApplication (the existing one when there is one), named for QSettings."""
    os.environ.setdefault("QT_LOGGING_RULES", QUIET)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    compat.install()
    return app


def run(video: str | None = None) -> int:
    """Open the window (with `video` loaded when given) and run until it closes."""
    app = make_app()
    window = MainWindow()
    window.show()
    if video:
        window.open_video(video)
    # Ctrl+C in the terminal closes the window: Python only sees the signal while it runs code,
    # so a timer hands control back to Python a few times a second.
    previous = signal.signal(signal.SIGINT, lambda *a: window.close())
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(250)
    try:
        return app.exec()
    finally:
        tick.stop()
        signal.signal(signal.SIGINT, previous)
