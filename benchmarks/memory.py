"""Peak memory summarizing a long 1080p video (issue #10 figure 6: 1 h at 1080p < 1.5 GB).

Usage: python benchmarks/memory.py [--minutes 60] [--height 1080] [--codec h264|vp8] [--keep FILE]
Builds the video cheaply: the 30 s sample is re-encoded once at the height asked (H.264, as
cameras and phones write it, GOP 250; or VP8 like the sample), then looped by stream copy. Then
`python -m vsumgui summarize VIDEO --no-cache -q` runs as a child process and its peak resident
memory is its ru_maxrss (from os.wait4: that child alone, not the ffmpeg that built the video). The network is loaded (and
exported to ONNX when needed) beforehand in this process, so the child runs as on any later day.
With --keep FILE the built video is kept there (and reused when it exists).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _media import FFMPEG, ROOT, SAMPLE, load_average


def build(minutes: float, height: int, codec: str, out: Path) -> Path:
    one = out.with_name(f"sample_{height}p_{codec}.mkv")
    enc = (["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "250", "-pix_fmt", "yuv420p"]
           if codec == "h264" else ["-c:v", "libvpx", "-b:v", "6M", "-deadline", "realtime", "-cpu-used", "8"])
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(SAMPLE), "-vf", f"scale=-2:{height}", *enc,
                    "-c:a", "copy", str(one)], check=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(one), "-t", str(minutes * 60),
                    "-c", "copy", str(out)], check=True)
    one.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--codec", choices=("h264", "vp8"), default="h264")
    ap.add_argument("--keep", type=Path, help="keep the built video here (reused when present)")
    args = ap.parse_args()
    from vsumgui.core import pipeline
    from vsumgui.core.video import probe

    pipeline.prepare()  # the ONNX graphs, exported the first time
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "long.mkv"
        start = time.perf_counter()
        if not path.exists():
            build(args.minutes, args.height, args.codec, path)
        made = time.perf_counter() - start
        info = probe(path)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "vsumgui", "summarize", str(path), "--no-cache", "-q"],
                                 env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        # this child's own rusage (RUSAGE_CHILDREN would also count the ffmpeg that built the video)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        took = time.perf_counter() - start
        if child.returncode:
            raise SystemExit(f"summarize failed (exit {child.returncode})")
    peak = usage.ru_maxrss * 1024  # Linux: kB
    print(f"video: {info.duration / 60:.1f} min, {info.width}x{info.height}, {info.n_frames} frames, "
          f"{args.codec}; built in {made:.0f} s; summarized in {took:.0f} s")
    print(f"load average: {load_average()}")
    print(f"PEAK child resident memory {peak / 2**30:.2f} GiB ({peak / 2**20:.0f} MiB) (goal < 1.5 GB)")


if __name__ == "__main__":
    main()
