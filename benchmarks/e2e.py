"""End-to-end summarize time / decode-only time on one file (issue #10 figure 1: goal <= 1.3).

Usage: python benchmarks/e2e.py [VIDEO] [--minutes N] [--threads K] [--runtime onnx|torch]
With --minutes, the bundled sample (720p VP8) is looped to N minutes by stream copy first.
Decode-only = OpenCV reading every frame of the same file (grab + retrieve), measured before
and after the summary; the ratio uses their mean. Summarize runs without the cache. Loading the
backbone (and exporting it to ONNX the very first time), the methods' checkpoints and lazy imports
are one-time costs (a first summary of the sample does them), reported apart.
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
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate decode-only and summarize this many times (the load of a shared "
                         "machine changes; the ratio uses the totals)")
    args = ap.parse_args()
    at_start = load_average()
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
        # one-time costs, not per video: ruptures' import, the methods' checkpoints (a first summary)
        summarize(SAMPLE, Options(use_cache=False))
        load = time.perf_counter() - start
        decs, e2es, feats = [], [], []
        decs.append(decode_only(path)[0])
        for _ in range(args.rounds):
            clock = Clock()
            s = summarize(path, Options(use_cache=False), clock)
            e2es.append(time.perf_counter() - clock.start)
            feats.append(clock.first.get("shots", e2es[-1]))
            dec, n = decode_only(path)
            decs.append(dec)
        av_time = pyav_decode(path) if args.pyav else None
    # each summary is compared with the mean of the decode-only runs just before and after it
    ref = [(a + b) / 2 for a, b in zip(decs[:-1], decs[1:])]
    dec, e2e, feat_t = sum(ref) / len(ref), sum(e2es) / len(e2es), sum(feats) / len(feats)
    print(f"video: {path.name}, {s.video.duration:.1f} s, {n} frames, {s.video.width}x{s.video.height}, "
          f"{len(s.times)} samples")
    print(f"backbone: {model.name} on {model.runtime}, {model.threads()} inference thread(s); "
          f"network, checkpoints and imports loaded in {load:.2f} s (one-time, by a first summary of the sample)")
    print(f"decode-only (OpenCV, every frame): {', '.join(f'{d:.2f}' for d in decs)} s")
    print(f"summarize: {', '.join(f'{e:.2f}' for e in e2es)} s; ratio per round "
          f"{', '.join(f'{e / r:.2f}' for e, r in zip(e2es, ref))}")
    if av_time is not None:
        print(f"decode-only (PyAV, thread_type AUTO) {av_time:.2f} s")
    print(f"summarize end-to-end {e2e:.2f} s (mean): decode+features {feat_t:.2f} s, shots+scores+selection "
          f"{e2e - feat_t:.2f} s")
    print(f"load average: {at_start} at the start, {load_average()} at the end")
    best = min(e / r for e, r in zip(e2es, ref))
    print(f"RATIO e2e / decode-only = {e2e / dec:.2f} over all rounds, {best:.2f} in the best round (goal <= 1.3)")


if __name__ == "__main__":
    main()
