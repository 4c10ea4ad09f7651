"""Take docs/screenshot.png: the window after Summarize on the sample video, at 1280x800.

    xvfb-run -s "-screen 0 1280x800x24" python tools/screenshot.py [VIDEO] [OUT.png]

Settings and the feature cache go to a temporary folder, so the picture does not depend on
(or change) the user's. The preview uses the OpenCV frame backend: QWidget.grab() cannot read
back what QtMultimedia's video widget renders.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    video = Path(argv[0]) if argv else ROOT / "resources" / "sample" / "big_buck_bunny_0_30.webm"
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "screenshot.png"
    home = Path(tempfile.mkdtemp(prefix="vsumgui-shot-"))
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ["VSUMGUI_CACHE_DIR"] = str(home / "cache")

    from PySide6.QtCore import QTimer

    from vsumgui.core.atomic import atomic_path
    from vsumgui.ui import worker as workers
    from vsumgui.ui.app import make_app
    from vsumgui.ui.window import MainWindow

    app = make_app()
    w = MainWindow(preview_backend="frames")
    w.resize(1280, 800)
    w.show()
    if not w.open_video(video):
        print(w.last_message.text(), file=sys.stderr)
        return 1
    result = {"rc": 1}

    def grab() -> None:
        with atomic_path(out) as tmp:
            ok = w.grab().save(str(tmp), "PNG")
        print(f"{out}: {w.width()}x{w.height()}, {out.stat().st_size // 1024} KiB" if ok else "grab failed")
        result["rc"] = 0 if ok else 1
        w.close()

    def wait_for_thumbnails() -> None:
        if w.summary is None or workers.running():
            QTimer.singleShot(200, wait_for_thumbnails)
            return
        # show a frame from the middle of the first chosen segment, then grab
        seg = w.chosen.segments[0]
        w.preview.seek((seg[0] + seg[1]) / 2)
        QTimer.singleShot(1500, grab)

    w.messageShown.connect(lambda text: (print(text, file=sys.stderr), app.exit(1)))
    QTimer.singleShot(500, w.summarize)
    QTimer.singleShot(1000, wait_for_thumbnails)
    app.exec()
    return result["rc"]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
