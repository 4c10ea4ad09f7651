"""Take docs/screenshot.png: the window after Summarize on the sample video, at 1280x800.

    xvfb-run -s "-screen 0 1920x1080x24" python tools/screenshot.py [--size WxH] [VIDEO] [OUT.png]
    xvfb-run -s "-screen 0 1920x1080x24" python tools/screenshot.py --all   # the three sizes below

`--size` sets the window size (default 1280x800); without OUT, a size other than the default
is saved as docs/screenshot-WxH.png. `--all` takes 1024x640, 1280x800 and 1920x1080 in turn.

Settings and the feature cache go to a temporary folder, so the picture does not depend on
(or change) the user's. The preview uses the OpenCV frame backend: QWidget.grab() cannot read
back what QtMultimedia's video widget renders.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_SIZE = (1280, 800)
SIZES = ((1024, 640), (1280, 800), (1920, 1080))


def size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 1280x800") from None
    return w, h


def default_out(wh: tuple[int, int]) -> Path:
    return ROOT / "docs" / ("screenshot.png" if wh == DEFAULT_SIZE else f"screenshot-{wh[0]}x{wh[1]}.png")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?", type=Path, default=ROOT / "resources" / "sample" / "big_buck_bunny_0_30.webm")
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--size", type=size, default=DEFAULT_SIZE, help="window size, WIDTHxHEIGHT (default 1280x800)")
    ap.add_argument("--all", action="store_true", help="take 1024x640, 1280x800 and 1920x1080 (one process each)")
    args = ap.parse_args(argv)
    if args.all:  # one process per size: a fresh window and settings each time, one feature cache
        env = {**os.environ, "VSUMGUI_SHOT_CACHE": tempfile.mkdtemp(prefix="vsumgui-shot-cache-")}
        return max(subprocess.call([sys.executable, __file__, "--size", f"{w}x{h}", str(args.video)], env=env)
                   for w, h in SIZES)
    video, wh = args.video, args.size
    out = args.out or default_out(wh)
    home = Path(tempfile.mkdtemp(prefix="vsumgui-shot-"))
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ["VSUMGUI_CACHE_DIR"] = os.environ.get("VSUMGUI_SHOT_CACHE") or str(home / "cache")

    from PySide6.QtCore import QTimer

    from vsumgui.core.atomic import atomic_path
    from vsumgui.ui import worker as workers
    from vsumgui.ui.app import make_app
    from vsumgui.ui.window import MainWindow

    app = make_app()
    w = MainWindow(preview_backend="frames")
    w.resize(*wh)
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
        # the hover legend as a mouse over the plot at two thirds of the video shows it, then grab
        w.curves.show_hover(w.summary.video.duration * 2 / 3)
        QTimer.singleShot(1500, grab)

    w.messageShown.connect(lambda text: (print(text, file=sys.stderr), app.exit(1)))
    QTimer.singleShot(500, w.summarize)
    QTimer.singleShot(1000, wait_for_thumbnails)
    app.exec()
    return result["rc"]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
