"""Summarize as a process over OpenCV reading every frame, on one file (issue #20: goals <= 0.8
with B-frames, <= 1.2 without, on 3-minute 720p files).

Usage: python benchmarks/e2e.py [VIDEO] [--preset medium|ultrafast] [--codec h264|hevc|vp9]
                                [--minutes 3] [--keep FILE] [--runs 1]
Without VIDEO, a file is built from the sample clips (the three videos of ../shared/data/videos,
else the bundled sample: each scaled to 1280x720 at 24 fps, joined, encoded once with the codec
and preset asked, then looped by stream copy to --minutes). x264 "medium" writes B-frames,
"ultrafast" none; for HEVC the same x265 presets; VP9 (libvpx, realtime) has no B-frames.

Each run times, side by side: OpenCV reading every frame (grab + retrieve, as a player or a
naive summarizer would), then `python -m vsumgui summarize VIDEO --no-cache -q` as a new process
(imports, backbone load, decoding, features, shots, scores, selection: what a user waits for;
the ONNX graphs are exported beforehand, as on any day after the first), then OpenCV again. The
ratio divides the summary by the mean of the two OpenCV runs around it, so a change of load on a
shared machine shows in the figures; the load average is printed beside each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _media import FFMPEG, ROOT, SAMPLE

CLIPS = ROOT.parent / "shared" / "data" / "videos"


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def build(codec: str, preset: str, minutes: float, out: Path) -> Path:
    """The sample clips at 720p, encoded once, looped by stream copy to `minutes`."""
    clips = sorted(CLIPS.glob("*")) if CLIPS.exists() else []
    clips = clips or [SAMPLE]
    inputs = [a for c in clips for a in ("-i", str(c))]
    chains = "".join(f"[{i}:v]scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:-1:-1,"
                     f"fps=24,setsar=1,format=yuv420p[v{i}];" for i in range(len(clips)))
    joined = "".join(f"[v{i}]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=1:a=0[v]"
    enc = {"h264": ["-c:v", "libx264", "-preset", preset, "-crf", "23"],
           "hevc": ["-c:v", "libx265", "-preset", preset, "-crf", "26", "-x265-params", "log-level=error",
                    "-tag:v", "hvc1"],
           "vp9": ["-c:v", "libvpx-vp9", "-b:v", "3M", "-deadline", "realtime", "-cpu-used", "8",
                   "-row-mt", "1"]}[codec]
    one = out.with_name(f"clips-{codec}-{preset}{out.suffix}")
    subprocess.run([FFMPEG, "-v", "error", "-y", *inputs, "-filter_complex", chains + joined, "-map", "[v]",
                    *enc, str(one)], check=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(one), "-t", str(minutes * 60),
                    "-c", "copy", str(out)], check=True)
    one.unlink()
    return out


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def opencv_every_frame(path: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of all threads, frames)."""
    import cv2

    start, c0 = time.perf_counter(), cpu()
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    n = 0
    while cap.grab():
        cap.retrieve()
        n += 1
    cap.release()
    return time.perf_counter() - start, cpu() - c0, n


def decode_only(path: Path) -> tuple[float, int]:
    """(wall s, frames) of OpenCV reading every frame (benchmarks/fast_mode.py compares with it)."""
    wall, _, n = opencv_every_frame(path)
    return wall, n


def summarize_process(path: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the child alone, its first output line)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "vsumgui", "summarize", str(path), "--no-cache", "-q"],
                             env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
    took = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"summarize failed: {err.strip()}")
    return took, usage.ru_utime + usage.ru_stime, out.splitlines()[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?", type=Path, help="measure this file instead of building one")
    ap.add_argument("--preset", choices=("medium", "ultrafast"), default="medium")
    ap.add_argument("--codec", choices=("h264", "hevc", "vp9"), default="h264")
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--keep", type=Path, help="keep the built file here (reused when it exists)")
    ap.add_argument("--runs", type=int, default=1, help="repeat the side-by-side runs")
    args = ap.parse_args()
    from vsumgui.core import backbones, pipeline
    from vsumgui.core.cpu import cores, decode_threads
    from vsumgui.core.video import probe

    pipeline.prepare()  # exports the ONNX graphs the first time
    model = backbones.get(backbones.DEFAULT)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.video or args.keep or Path(tmp) / f"e2e.{'webm' if args.codec == 'vp9' else 'mp4'}"
        if not path.exists():
            start = time.perf_counter()
            build(args.codec, args.preset, args.minutes, path)
            print(f"built {path.name} in {time.perf_counter() - start:.0f} s")
        info = probe(path)
        print(f"video: {path.name}, {info.duration:.1f} s, {info.width}x{info.height}, {info.fps:.3g} fps; "
              f"{cores()} cores; backbone on {model.runtime} ({model.workers} batches at once), "
              f"decoder threads: {decode_threads() or 'auto (FFmpeg)'}")
        what = f"{args.codec} {args.preset}" if args.video is None else f"{path.name}, as given"
        goal = ("<= 0.8 with B-frames, <= 1.2 without" if args.video is not None else
                "<= 0.8 with B-frames" if args.preset == "medium" and args.codec != "vp9" else "<= 1.2")
        for _ in range(args.runs):
            before, l0 = opencv_every_frame(path), load()
            (took, used, line), l1 = summarize_process(path), load()
            after, l2 = opencv_every_frame(path), load()
            ref, ref_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
            print(f"OpenCV every frame ({before[2]} frames): {before[0]:.2f} s ({l0}), {after[0]:.2f} s ({l2}); "
                  f"CPU {before[1]:.2f} s, {after[1]:.2f} s")
            print(f"summarize as a process: {took:.2f} s ({l1}); CPU {used:.2f} s  [{line.split(': ', 1)[-1]}]")
            print(f"RATIO summarize / OpenCV every frame = {took / ref:.2f} wall, {used / ref_cpu:.2f} CPU time "
                  f"({what}; goal {goal})")


if __name__ == "__main__":
    main()
