"""End-to-end summarize time / decode-only time on one file (issue figure: goal <= 1.3).

Usage: python benchmarks/e2e.py [VIDEO] [--minutes N]
With --minutes, the bundled sample is looped to N minutes at 720p with the bundled ffmpeg first.
Decode-only = OpenCV reading every frame of the same file. Summarize runs without the cache.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vsumgui.core import backbones  # noqa: E402
from vsumgui.core.pipeline import Options, summarize  # noqa: E402

SAMPLE = ROOT / "resources" / "sample" / "big_buck_bunny_0_30.webm"


def looped(minutes: float, out: Path) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(SAMPLE),
                    "-t", str(minutes * 60), "-c", "copy", str(out)], check=True)
    return out


def decode_only(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        cap.retrieve()
        n += 1
    return time.perf_counter() - start, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?")
    ap.add_argument("--minutes", type=float, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.video) if args.video else SAMPLE
        if args.minutes:
            path = looped(args.minutes, Path(tmp) / "looped.webm")
        backbones.get(backbones.DEFAULT)  # model load is a one-time cost, not part of either figure
        dec, n = decode_only(path)
        start = time.perf_counter()
        s = summarize(path, Options(use_cache=False))
        e2e = time.perf_counter() - start
    print(f"video: {path.name}, {s.video.duration:.1f} s, {n} frames, {s.video.width}x{s.video.height}")
    print(f"decode-only {dec:.2f} s, summarize end-to-end {e2e:.2f} s, ratio {e2e / dec:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()
