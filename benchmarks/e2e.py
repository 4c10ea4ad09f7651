"""End-to-end summarize time / decode-only time on one file (issue #10 figure 1: goal <= 1.3).

Usage: python benchmarks/e2e.py [VIDEO] [--minutes N] [--threads K] [--runtime onnx|torch]
With --minutes, the bundled sample (720p VP8) is looped to N minutes by stream copy first.
Decode-only = OpenCV reading every frame of the same file (grab + retrieve), measured before
and after the summary; the ratio uses their mean. Summarize runs without the cache. Loading the
backbone (and exporting it to ONNX the very first time) is a one-time cost reported apart.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _media import SAMPLE, Clock, load_average, looped


def decode_only(path: Path) -> tuple[float, int]:
    import cv2

    start = time.perf_counter()
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n = 0
    while cap.grab():
        cap.retrieve()
        n += 1
    cap.release()
    return time.perf_counter() - start, n


def pyav_decode(path: Path) -> float:
    import av

    start = time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            pass
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?")
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--threads", type=int, help="inference threads (VSUMGUI_THREADS)")
    ap.add_argument("--runtime", choices=("onnx", "torch"), help="backbone runtime (VSUMGUI_RUNTIME)")
    ap.add_argument("--pyav", action="store_true", help="also time PyAV decoding (thread_type AUTO)")
    args = ap.parse_args()
    if args.threads:
        os.environ["VSUMGUI_THREADS"] = str(args.threads)
    if args.runtime:
        os.environ["VSUMGUI_RUNTIME"] = args.runtime
    from vsumgui.core import backbones
    from vsumgui.core.pipeline import Options, summarize

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.video) if args.video else SAMPLE
        if args.minutes:
            path = looped(args.minutes, Path(tmp) / "looped.webm")
        start = time.perf_counter()
        model = backbones.get(backbones.DEFAULT).load()
        import ruptures  # noqa: F401  (imported at first segmentation: a one-time cost, not per video)
        load = time.perf_counter() - start
        dec1, n = decode_only(path)
        clock = Clock()
        s = summarize(path, Options(use_cache=False), clock)
        e2e = time.perf_counter() - clock.start
        dec2, _ = decode_only(path)
        av_time = pyav_decode(path) if args.pyav else None
    dec = (dec1 + dec2) / 2
    feats = clock.first.get("shots", e2e)
    print(f"video: {path.name}, {s.video.duration:.1f} s, {n} frames, {s.video.width}x{s.video.height}, "
          f"{len(s.times)} samples")
    print(f"backbone: {model.name} on {model.runtime}, {model.threads()} inference thread(s); "
          f"load {load:.2f} s (one-time)")
    print(f"decode-only (OpenCV, every frame) {dec1:.2f} s before, {dec2:.2f} s after; mean {dec:.2f} s")
    if av_time is not None:
        print(f"decode-only (PyAV, thread_type AUTO) {av_time:.2f} s")
    print(f"summarize end-to-end {e2e:.2f} s: decode+features {feats:.2f} s, shots+scores+selection "
          f"{e2e - feats:.2f} s")
    print(f"load average: {load_average()}")
    print(f"RATIO e2e / decode-only = {e2e / dec:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
