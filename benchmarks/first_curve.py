"""Time to the first curve (issue #20 item 3: <= 5 s after Summarize on a 1-hour video).

Usage: python benchmarks/first_curve.py [--minutes M] [--height H]
Builds the bundled sample looped to M minutes (default 60) with the bundled ffmpeg: re-encoded
once at H px high (default 180, VP8 like the sample), then `-stream_loop` by stream copy. Opens
the window offscreen with an empty feature cache (the backbone's ONNX file made beforehand in a
child process, as after a first run: issue #20 measures "model files already cached"), presses
Summarize and prints the seconds from the press to the first partial curve drawn
(`MainWindow.partialShown`), then cancels the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _media import load_average, looped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--height", type=int, default=180)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VSUMGUI_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cold feature cache
        os.environ["VSUMGUI_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        subprocess.run([sys.executable, "-c", "from vsumgui.core import pipeline; pipeline.prepare()"],
                       check=True)  # the graphs, in a process of its own (this one stays cold)
        video = looped(args.minutes, Path(tmp) / "long.webm", height=args.height)

        from PySide6.QtWidgets import QApplication

        from vsumgui.ui.window import MainWindow

        app = QApplication.instance() or QApplication(sys.argv)
        window = MainWindow()
        window.resize(1280, 800)
        window.show()
        assert window.open_video(video)
        while window.summarizer.check.busy:  # the cache check on opening (a miss here)
            app.processEvents()
        first: list[float] = []
        window.partialShown.connect(lambda s: first or first.append(time.perf_counter()))
        start = time.perf_counter()
        window.run_panel.summarize_button.click()
        while not first and window.summarizer.busy and time.perf_counter() - start < 120:
            app.processEvents()
            time.sleep(0.005)
        if not first:
            sys.exit("no partial curve was drawn")
        took = first[0] - start
        window.grab()  # the curves really paint
        window.cancel()
        while window.summarizer.busy:
            app.processEvents()
            time.sleep(0.01)
        window.close()
        print(f"video: {args.minutes:g} min at {args.height}p (VP8, the sample looped)")
        print(f"Summarize -> first partial curve drawn: {took:.2f} s (goal <= 5 s)")
        print(f"load: {load_average()}")


if __name__ == "__main__":
    main()
