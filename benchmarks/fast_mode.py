"""Fast mode (keyframes only) against full decoding (issue #10 figure 2: >= 5x faster, shots
within +-1 s of the full mode on the sample).

Usage: python benchmarks/fast_mode.py [--minutes N]
Speed: OpenCV decode-only of every frame, the full summary and the fast summary of the same
file (no cache; backbone and checkpoints loaded beforehand), on the sample (best of 3) and,
with --minutes (default 10), on the sample looped to N minutes (best of 2; fast: best of 3).
Shots: every shot boundary of the full mode on the sample and the nearest boundary of the
fast mode, and the other way round.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _media import SAMPLE, load_average, looped
from e2e import decode_only


def timed(path: Path, fast: bool):
    from vsumgui.core.pipeline import Options, summarize

    start = time.perf_counter()
    s = summarize(path, Options(use_cache=False, fast=fast))
    return time.perf_counter() - start, s


def speed(path: Path, repeat: int = 1) -> tuple:
    """Each figure the best of `repeat` runs (short runs are at the mercy of a shared machine)."""
    dec, n = min(decode_only(path) for _ in range(repeat))
    full_t, full = min((timed(path, False) for _ in range(repeat)), key=lambda r: r[0])
    fast_t, fast = min((timed(path, True) for _ in range(max(3, repeat))), key=lambda r: r[0])
    print(f"{path.name}: {full.video.duration:.0f} s, {n} frames; decode-only {dec:.2f} s, "
          f"full summary {full_t:.2f} s, fast summary {fast_t:.2f} s")
    print(f"  RATIO decode-only / fast = {dec / fast_t:.1f}x, full summary / fast = {full_t / fast_t:.1f}x "
          f"(goal >= 5x)")
    return full, fast


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    args = ap.parse_args()
    at_start = load_average()
    from vsumgui.core import pipeline

    pipeline.prepare()  # the ONNX graphs, exported the first time
    import ruptures  # noqa: F401  (one-time import, not part of either figure)

    timed(SAMPLE, True)  # warm-up: first calls into PyAV and OpenCV
    full, fast = speed(SAMPLE, repeat=3)
    if args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            speed(looped(args.minutes, Path(tmp) / "looped.webm"), repeat=2)
    a, b = full.shot_secs[1:, 0], fast.shot_secs[1:, 0]
    print(f"shot boundaries on the sample (s): full {a.tolist()}")
    print(f"                                   fast {b.tolist()}")
    da = np.array([np.abs(b - x).min() for x in a]) if len(b) else np.full(len(a), np.inf)
    db = np.array([np.abs(a - x).min() for x in b]) if len(a) else np.full(len(b), np.inf)
    print(f"  full -> nearest fast: {np.round(da, 2).tolist()}; within +-1 s: {int((da <= 1).sum())} of {len(da)}")
    print(f"  fast -> nearest full: {np.round(db, 2).tolist()}; within +-1 s: {int((db <= 1).sum())} of {len(db)}")
    print(f"load average: {at_start} at the start, {load_average()} at the end")


if __name__ == "__main__":
    main()
