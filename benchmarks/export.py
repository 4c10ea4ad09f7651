"""Smart cut against a full re-encode and a keyframe stream copy, on a long 1080p H.264 file.

    PYTHONPATH=. python benchmarks/export.py [VIDEO] [--minutes 10] [--segments 12] [--length 7.5]

Without VIDEO it makes a 10-minute 1080p H.264 file with B-frames (b-pyramid, a keyframe every
second as phones write) from the bundled sample (benchmarks/_media.h264_loop). It cuts the same
segments (spread over the video, like a 15 % summary) as clips and a summary video with each
cut mode, in one run, and prints each mode's wall time, its ratio to the smart cut's, how
many clip ends are frame-exact (each clip's first and last frame compared by PyAV with the
source's frames before, at and after the cut; exact when the segment's own frame is the most
alike, or, in a still shot, shows the same picture as the most alike), and how many clips hold
the segment's number of frames."""

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


def around(path: Path, t: float, t0_media: float) -> list[np.ndarray]:
    """The source's frames before, at and after media time t (the frame shown at t)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        t0 = float(v.start_time * v.time_base)
        c.seek(int((t0 + max(0.0, t - 1.0)) / v.time_base), stream=v, backward=True)
        frames = []
        for f in c.decode(v):
            frames.append((float(f.pts * v.time_base) - t0, gray(f)))
            if frames[-1][0] > t + 0.2:
                break
    k = min(range(len(frames)), key=lambda j: abs(frames[j][0] - t))
    return [frames[j][1] for j in (max(0, k - 1), k, min(len(frames) - 1, k + 1))]


def exact_ends(job: Job, clips: list[Path]) -> tuple[int, int, int]:
    """Clip ends (first and last frame) that are the segment's own frame: strictly (the most
    alike of the source's frames before, at and after), and counting a neighbour that shows the
    same picture (a still shot) as exact; and the clips with the segment's number of frames."""
    from vsumgui.core.export._cut import bounds

    strict = same = counts = 0
    for i, clip in enumerate(clips):
        with av.open(str(clip)) as c:
            pics = [gray(f) for f in c.decode(video=0)]
        fa, fb = bounds(job, i)
        p = job.packets
        shown = [t for t in p.pts if fa - 1e-6 <= t < fb - 1e-6]
        counts += len(pics) == len(shown)
        for pic, t in ((pics[0], shown[0]), (pics[-1], shown[-1])):
            src = around(job.source, t, 0.0)
            d = [float(np.abs(pic - s).mean()) for s in src]
            best = int(np.argmin(d))
            strict += best == 1
            same += best == 1 or float(np.abs(src[best] - src[1]).mean()) < 0.5
    return strict, same, counts


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
        strict, same, counts = exact_ends(job, clips)
        rows[cut] = took
        extra = f", {job.smart_copied:.0f} s of video copied" if cut == "smart" else ""
        print(f"{cut:<9} {took:8.1f} s  {took / rows['smart']:5.2f}x the smart cut's time  "
              f"frame-exact ends {strict}/{2 * len(clips)} (same picture: {same}), "
              f"clips with the segment's frame count {counts}/{len(clips)}{extra}")
        for note in result.notes:
            print(f"          note: {note}")
    print(f"smart cut is {rows['exact'] / rows['smart']:.1f}x faster than the full re-encode, "
          f"{rows['smart'] / rows['keyframe']:.1f}x the keyframe stream copy's time")


if __name__ == "__main__":
    main()
