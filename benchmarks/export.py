"""Smart cut against a full re-encode and a keyframe stream copy, on a long 1080p H.264 file.

    PYTHONPATH=. python benchmarks/export.py [VIDEO] [--minutes 10] [--segments 12] [--length 7.5]

Without VIDEO it makes a 10-minute 1080p H.264 file with B-frames (b-pyramid, a keyframe every
second as phones write) from the bundled sample (benchmarks/_media.h264_loop). It cuts the same
segments (spread over the video, like a 15 % summary) as clips and a summary video with each
cut mode, in one run, and prints each mode's wall time, its ratio to the smart cut's, and how
many clip ends are frame-exact (each clip's first and last frame compared with the source's
frames by PyAV; a clip end is exact when the source frame most like it is the segment's own)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._media import h264_loop, load_average  # noqa: E402
from vsumgui.core import export  # noqa: E402
from vsumgui.core.export.base import Job  # noqa: E402
from vsumgui.core.video import probe  # noqa: E402


def gray(frame) -> np.ndarray:
    return frame.to_ndarray(format="gray")[::4, ::4].astype(np.float32)


def source_frames(path: Path, t: float, fps: float) -> dict[int, np.ndarray]:
    """The source's frames k-1, k, k+1 around media time t (k = round(t * fps))."""
    k = round(t * fps)
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        t0 = float(v.start_time * v.time_base)
        c.seek(int((t0 + max(0.0, (k - 2) / fps)) / v.time_base), stream=v, backward=True)
        out = {}
        for f in c.decode(v):
            j = round((float(f.pts * v.time_base) - t0) * fps)
            if k - 1 <= j <= k + 1:
                out[j] = gray(f)
            if j > k + 1:
                break
    return out


def exact_ends(job: Job, clips: list[Path]) -> tuple[int, int]:
    """How many clip ends (first and last frame) are the segment's own frames."""
    ok = n = 0
    for (a, b), clip in zip(job.frames, clips):
        with av.open(str(clip)) as c:
            pics = [gray(f) for f in c.decode(video=0)]
        for pic, k in ((pics[0], a), (pics[-1], b - 1)):
            src = source_frames(job.source, k / job.rate, job.rate)
            best = min(src, key=lambda j: float(np.abs(pic - src[j]).mean()))
            ok += best == k
            n += 1
    return ok, n


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("video", nargs="?")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--segments", type=int, default=12)
    p.add_argument("--length", type=float, default=7.5, help="seconds per segment")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vsumgui-bench-export-"))
    t = time.perf_counter()
    src = Path(args.video) if args.video else h264_loop(args.minutes, work / "long_1080p_h264.mp4")
    made = time.perf_counter() - t
    info = probe(src)
    rng = np.random.default_rng(0)
    slots = np.linspace(0, info.duration - args.length, args.segments + 1)[:-1]
    starts = sorted(float(s + rng.uniform(0, (slots[1] - slots[0]) - args.length)) for s in slots)
    segments = [(round(s, 3), round(s + args.length, 3)) for s in starts]
    print(f"{src.name}: {info.duration:.0f} s, {info.width}x{info.height}, {info.fps:.3g} fps"
          f"{f' (made in {made:.0f} s)' if not args.video else ''}; {len(segments)} segments of "
          f"{args.length} s ({sum(e - s for s, e in segments):.0f} s); load {load_average()}")
    rows = {}
    for cut in ("smart", "exact", "keyframe"):
        out = work / cut
        job = Job(info, segments, out, cut=cut)
        start = time.perf_counter()
        result = export.run(job, ["clips", "video"])
        took = time.perf_counter() - start
        clips = sorted(f for f in result.files if "-summary" not in f.name)
        ok, n = exact_ends(job, clips)
        rows[cut] = took
        extra = f", {job.smart_copied:.0f} s of video copied" if cut == "smart" else ""
        print(f"{cut:<9} {took:8.1f} s  {took / rows['smart']:5.2f}x the smart cut's time  "
              f"frame-exact ends {ok}/{n}{extra}")
        for note in result.notes:
            print(f"          note: {note}")
    print(f"smart cut is {rows['exact'] / rows['smart']:.1f}x faster than the full re-encode, "
          f"{rows['smart'] / rows['keyframe']:.1f}x the keyframe stream copy's time")


if __name__ == "__main__":
    main()
