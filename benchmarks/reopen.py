"""Re-opening an already summarized video (issue #10 figure 5: cache hit to scores ready < 1 s).

Usage: python benchmarks/reopen.py [--hours H]
Times pipeline.summarize on a cache hit (content key, feature cache, remembered shots and
training-free scores, the first selection in the default mode) for the bundled sample and for
an hour: the sample looped to H hours by stream copy, whose feature cache entry is written from
the sample's real features tiled with noise (extracting an hour would take a quarter of an hour
and change nothing on this path). Interpreter start + imports are timed apart, in a child
process, and so is the whole CLI on a cache hit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _media import ROOT, SAMPLE, hour_features, load_average, looped


def child(code: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *code], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def on_screen(path: Path) -> float:
    """The window (offscreen Qt) opening an already summarized video: open -> curves, timeline
    and selection painted (a re-open starts the cached summary by itself)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from vsumgui.ui.window import MainWindow

    app = QApplication.instance() or QApplication([])
    w = MainWindow()
    w.resize(1280, 800)
    w.show()
    app.processEvents()
    loop = QEventLoop()
    w.summaryShown.connect(lambda _: loop.quit())
    QTimer.singleShot(60_000, loop.quit)
    start = time.perf_counter()
    w.open_video(path)
    loop.exec()
    w.grab()  # paint everything once, as the screen would
    took = time.perf_counter() - start
    assert w.summary is not None and w.summary.cache_hit
    w.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VSUMGUI_CACHE_DIR"] = str(Path(tmp) / "cache")
        import numpy as np

        from vsumgui.core import backbones, features, shots
        from vsumgui.core.pipeline import summarize
        from vsumgui.core.video import probe

        long = looped(60 * args.hours, Path(tmp) / "hour.webm")
        info = probe(long)
        x = hour_features(info.duration)
        times = np.arange(len(x)) / 2.0
        feats = features.Features(info, backbones.DEFAULT, 2.0, x, times, (times * info.fps).astype(np.int64),
                                  features.content_key(long))
        feats.change_points = shots.change_points(shots.shot_times(shots.segment(x, 2.0), times, info.duration),
                                                  info.fps, info.n_frames)
        features.write_cache(feats)
        from vsumgui.core.backbones import base

        base._INSTANCES.clear()  # the sample's extraction above loaded the network: start afresh
        for path in (long, SAMPLE):
            start = time.perf_counter()
            first = summarize(path)  # the sample: extracted; the hour: features cached, the rest computed
            once = time.perf_counter() - start
            start = time.perf_counter()
            again = summarize(path)
            hit = time.perf_counter() - start
            assert again.cache_hit
            if path == long:  # nothing in this process has needed the network yet
                print(f"  backbone network loaded by the two summaries: {backbones.get(backbones.DEFAULT).loaded}")
            print(f"{path.name}: {again.video.duration:.0f} s, {len(again.times)} samples, "
                  f"{len(again.shot_secs)} shots; first summary {once:.2f} s")
            print(f"  TIME re-open (cache hit, scores and first {again.selection.mode} selection ready) "
                  f"{hit:.3f} s (goal < 1 s)")
        for path in (long, SAMPLE):
            print(f"  TIME {path.name}: open in the window to curves painted {on_screen(path):.3f} s (goal < 1 s)")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        imp = child(["-c", "import vsumgui.cli, vsumgui.core.pipeline"], env)
        cli = child(["-m", "vsumgui", "summarize", str(long), "-q"], env)
        print(f"interpreter start + imports (child process): {imp:.2f} s; "
              f"whole CLI on the hour's cache hit: {cli:.2f} s")
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
