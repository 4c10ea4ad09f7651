"""How long one sparsity-slider step takes on a 1-hour video, against a 16 ms frame.

    python benchmarks/slider.py [--minutes 60] [--drags 5] [--no-gui]

Builds features for a 1-hour video at 2 samples/s (7200 samples): synthetic scenes of
random length (a unit centroid per scene plus noise), so `core.shots` finds a realistic
shot list. Scores come from the real methods. Then it times `Summary.select` (what a slider
step calls) for every mode over many drags from 1 % to 50 % and back, and, unless --no-gui,
the window's whole update (selection + plot shading + timeline + label, repainted offscreen).
Prints medians; no assertion (timings belong here, not in the tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vsumgui.core import methods, shots  # noqa: E402
from vsumgui.core.features import Features  # noqa: E402
from vsumgui.core.pipeline import Options, Summary  # noqa: E402
from vsumgui.core.select import MODES  # noqa: E402
from vsumgui.core.video import VideoInfo  # noqa: E402

GOAL_MS = 16.0
RATE = 2.0


def synthetic_features(minutes: float, dims: int, seed: int = 0) -> np.ndarray:
    """Scenes of random length (~8 s on average): a unit centroid each, slow drift, noise."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE)
    out = np.empty((n, dims), dtype=np.float32)
    i = 0
    while i < n:
        length = min(n - i, max(2, int(rng.exponential(8.0) * RATE)))
        centre = rng.normal(size=dims)
        centre /= np.linalg.norm(centre)
        drift = rng.normal(scale=0.02 / np.sqrt(dims), size=dims)
        noise = rng.normal(scale=0.5 / np.sqrt(dims), size=(length, dims))  # |noise| ~ 0.5 |centre|
        out[i:i + length] = centre + np.arange(length)[:, None] * drift + noise
        i += length
    return out


def build(minutes: float, dims: int) -> tuple[Summary, dict]:
    t0 = time.perf_counter()
    x = synthetic_features(minutes, dims)
    n = len(x)
    times = np.arange(n) / RATE
    duration = n / RATE
    info = VideoInfo("synthetic-1h", 25.0, int(duration * 25), duration, 1280, 720)
    feats = Features(info, "synthetic", RATE, x, times, (times * 25).astype(np.int64))
    t1 = time.perf_counter()
    shot_idx = shots.segment(x, RATE)
    shot_secs = shots.shot_times(shot_idx, times, duration)
    t2 = time.perf_counter()
    scores = {m.name: m.score(x) for m in (methods.create(name) for name in methods.names()) if m.ready}
    t3 = time.perf_counter()
    s = Summary(feats, shot_idx, shot_secs, scores, Options())
    return s, {"features": t1 - t0, "shots": t2 - t1, "scores": t3 - t2}


def drags(n: int) -> list[float]:
    sweep = list(range(1, 51)) + list(range(49, 1, -1))
    return [p / 100 for _ in range(n) for p in sweep]


def ms(values: list[float]) -> str:
    v = sorted(values)
    med = statistics.median(v) * 1000
    p95 = v[int(0.95 * (len(v) - 1))] * 1000
    return f"median {med:7.3f} ms  p95 {p95:7.3f} ms  max {v[-1] * 1000:7.3f} ms  = {med / GOAL_MS:6.3f} x 16 ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--dims", type=int, default=1280, help="feature width (the backbone's: the bundled checkpoints need it)")
    ap.add_argument("--drags", type=int, default=5, help="sweeps 1%%->50%%->1%% per mode")
    ap.add_argument("--no-gui", action="store_true", help="time Summary.select only")
    args = ap.parse_args()

    s, setup = build(args.minutes, args.dims)
    lengths = s.shot_secs[:, 1] - s.shot_secs[:, 0]
    print(f"video: {args.minutes:g} min, {len(s.times)} samples, {len(s.shot_secs)} shots "
          f"(mean {lengths.mean():.1f} s, min {lengths.min():.1f}, max {lengths.max():.1f}), "
          f"methods: {', '.join(s.scores)}")
    print("setup (once per video, not per drag): " + ", ".join(f"{k} {v:.2f} s" for k, v in setup.items()))
    ratios = drags(args.drags)
    print(f"\nSummary.select per slider step, {len(ratios)} steps per mode (driver {s.driver}):")
    for mode in MODES:
        t0 = time.perf_counter()
        s.select(0.15, mode)  # the first call builds the mode's table (done once, when Summarize ends)
        first = time.perf_counter() - t0
        took = []
        for r in ratios:
            t0 = time.perf_counter()
            sel = s.select(r, mode)
            took.append(time.perf_counter() - t0)
            assert sel.duration <= r * s.video.duration + 1e-6
        print(f"  {mode:<10} first {first * 1000:8.1f} ms | {ms(took)}")

    if args.no_gui:
        return 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="vsumgui-bench-")  # leave real settings alone
    from PySide6.QtWidgets import QApplication

    from vsumgui.ui.app import make_app
    from vsumgui.ui.window import MainWindow

    app = make_app()
    w = MainWindow(preview_backend="frames")
    w.resize(1280, 800)
    w.show()
    w.info = s.video
    w.show_summary(s)
    w.summarizer.thumbnails.retire()  # no file behind the synthetic video
    app.processEvents()
    print(f"\nwindow update per slider step ({QApplication.platformName()}, 1280x800): select + shading + timeline "
          "+ label, then repaint of plots and timeline:")
    for mode in MODES:
        w.selection.set_mode(mode)
        took, paint = [], []
        for r in ratios:
            t0 = time.perf_counter()
            w.selection.slider.setValue(round(r * 100))  # emits changed -> window.reselect()
            t1 = time.perf_counter()
            w.curves.glw.viewport().repaint()
            w.timeline.repaint()
            t2 = time.perf_counter()
            app.processEvents()  # what the event loop does between two steps of a real drag
            took.append(t1 - t0)
            paint.append(t2 - t0)
        print(f"  {mode:<10} update {ms(took)}")
        print(f"  {'':<10} +paint {ms(paint)}")
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
