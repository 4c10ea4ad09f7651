"""Scene coverage of each selection mode on multi-scene videos built from real footage.

Builds three videos from the clips in ../shared/data/videos (cut, looped and concatenated
with the bundled ffmpeg; scenes of distinct content and very unequal lengths), summarizes each with
the default method (CTVSUM), and prints for every selection mode and for an evenly spaced
baseline (2-second pieces spread over the video): scenes covered at 10 %, 15 % and 25 %, and the
mean importance (min-max normalized CTVSUM score) of the selected samples.

Usage: python benchmarks/coverage.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vsumgui.core.methods import minmax  # noqa: E402
from vsumgui.core.pipeline import Options, summarize  # noqa: E402
from vsumgui.core.select import MODES, merge_segments  # noqa: E402

VIDEOS = ROOT.parent / "shared" / "data" / "videos"
BBB, FLOWER, FRIDAY = "big_buck_bunny_0_30.webm", "flower_cc0.mp4", "friday_cc0.mp4"
RATIOS = (0.10, 0.15, 0.25)
MIN_OVERLAP = 0.5  # seconds of a scene that a summary must show to count it as covered

# Scenes of distinct content: the sample's own scenes (landscape 2-12 s, river 12-16 s, bird
# 16-21 s, burrow 25.5-30 s) and the two other clips. (source, start, length): a scene longer
# than its source piece loops it.
LANDSCAPE, RIVER, BIRD, BURROW = (BBB, 2, 10), (BBB, 12, 4), (BBB, 16, 5), (BBB, 25.5, 4.5)
FLOWER_, FRIDAY_ = (FLOWER, 0, 5), (FRIDAY, 0, 6)
SCENES = {
    "six-scenes": [(LANDSCAPE, 30), (FLOWER_, 5), (RIVER, 3), (FRIDAY_, 25), (BIRD, 5), (BURROW, 4)],
    "long-calm-middle": [(RIVER, 4), (BIRD, 5), (FLOWER_, 45), (BURROW, 4), (FRIDAY_, 3), (LANDSCAPE, 8)],
    "many-short": [(LANDSCAPE, 25), (FLOWER_, 2.5), (RIVER, 2.5), (FRIDAY_, 2.5), (BIRD, 3), (BURROW, 30)],
}


def build(name: str, scenes: list, tmp: Path) -> tuple[Path, list[tuple[float, float]]]:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    parts, bounds, t = [], [], 0.0
    for k, ((src, start, piece), length) in enumerate(scenes):
        part = tmp / f"{name}-{k}.mp4"
        cut = tmp / f"{name}-{k}-cut.mp4"
        subprocess.run([ffmpeg, "-v", "error", "-y", "-ss", str(start), "-i", str(VIDEOS / src), "-t", str(piece),
                        "-vf", "scale=640:360,setsar=1,fps=24", "-an", "-c:v", "libx264", "-preset", "veryfast",
                        str(cut)], check=True)
        subprocess.run([ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(cut),
                        "-t", str(length), "-vf", "fps=24", "-an",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", str(part)], check=True)
        parts.append(part)
        bounds.append((t, t + length))
        t += length
    listing = tmp / f"{name}.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    out = tmp / f"{name}.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    return out, bounds


def covered(segments: list[tuple[float, float]], scenes: list[tuple[float, float]]) -> int:
    return sum(any(min(e, b) - max(s, a) >= MIN_OVERLAP for s, e in segments) for a, b in scenes)


def evenly_spaced(duration: float, ratio: float, piece: float = 2.0) -> list[tuple[float, float]]:
    n = max(1, int(ratio * duration // piece))
    starts = (np.arange(n) + 0.5) * duration / n - piece / 2
    return merge_segments([(max(0.0, s), min(duration, s + piece)) for s in starts])


def importance(segments, times, scores) -> float:
    mask = np.zeros(len(times), bool)
    for s, e in segments:
        mask |= (times >= s - 1e-9) & (times < e - 1e-9)
    return float(scores[mask].mean()) if mask.any() else float("nan")


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenes in SCENES.items():
            path, bounds = build(name, scenes, Path(tmp))
            s = summarize(path, Options(use_cache=False))
            print(f"{name}: scenes planted at {[round(a, 1) for a, _ in bounds]}, "
                  f"found at {[round(float(a), 1) for a, _ in s.scene_secs]} ({len(s.shot_secs)} shots)")
            imp = minmax(s.scores[s.driver].scores)
            for mode in (*MODES, "evenly spaced"):
                cells = []
                for r in RATIOS:
                    segs = evenly_spaced(s.video.duration, r) if mode == "evenly spaced" else s.select(r, mode).segments
                    cells.append((covered(segs, bounds), importance(segs, s.times, imp)))
                rows.append((name, len(bounds), round(s.video.duration), mode, cells))
    print(f"scenes covered / scenes, and mean importance of selected samples (method ctvsum)")
    head = " | ".join(f"{int(r * 100)} %: cov  imp" for r in RATIOS)
    print(f"{'video':<18} {'len':>4} {'mode':<14} | {head}")
    for name, n, dur, mode, cells in rows:
        print(f"{name:<18} {dur:>3}s {mode:<14} | " + " | ".join(f"{c}/{n:<3}  {i:.2f}" for c, i in cells))
    for mode in (*MODES, "evenly spaced"):
        mine = [cells for (_, n, _, m, cells) in rows if m == mode]
        tot = [sum(c[k][0] for c in mine) for k in range(len(RATIOS))]
        imp = [np.mean([c[k][1] for c in mine]) for k in range(len(RATIOS))]
        allsc = sum(n for (_, n, _, m, _) in rows if m == mode)
        print(f"{'ALL':<18} {'':>4} {mode:<14} | " + " | ".join(f"{t}/{allsc:<3} {i:.2f}" for t, i in zip(tot, imp)))


if __name__ == "__main__":
    main()
