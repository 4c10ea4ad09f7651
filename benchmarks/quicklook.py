"""Quick look against the full summary (issue 18, item 1): per method, Spearman rho of the quick
look's curve with the full curve (on the 2/s grid), and of each keyframe's score with how long it
is held; beside it the same for the old way (methods scoring the grid's copies of each keyframe).

Usage: python benchmarks/quicklook.py [--minutes 3]
Videos: ../shared/data/videos and the bundled sample, plus one file of about `--minutes` made of
all of them (360p H.264, x264's default keyframes: at scene cuts and at least every 250 frames)
and the same with a keyframe every 2 s. A rho near 1 with the full curve and near 0 with the
hold length is the goal.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from _media import FFMPEG, ROOT, SAMPLE, load_average

SHARED = ROOT.parent / "shared" / "data" / "videos"


def joined(paths: list[Path], minutes: float, out: Path, gop: int | None) -> Path:
    """The clips one after the other, repeated to about `minutes`, re-encoded in one H.264 file."""
    listing = out.with_suffix(".txt")
    from vsumgui.core.video import probe

    reps = max(1, math.ceil(minutes * 60 / sum(probe(p).duration for p in paths)))
    parts = []
    for i, p in enumerate(paths):  # the same size and rate first, so concat can join them
        q = out.with_name(f"part{i}.mp4")
        subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(p), "-vf", "scale=640:360,setsar=1,fps=25",
                        "-c:v", "libx264", "-preset", "ultrafast", "-an", str(q)], check=True)
        parts.append(q)
    listing.write_text("".join(f"file '{q}'\n" for _ in range(reps) for q in parts))
    keys = ["-g", str(gop), "-sc_threshold", "0"] if gop else []
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c:v", "libx264", "-preset", "veryfast", *keys, "-an", str(out)], check=True)
    return out


def rho(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b)[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vsumgui-quicklook-"))
    os.environ.setdefault("VSUMGUI_CACHE_DIR", str(tmp / "cache"))
    from vsumgui.core import methods
    from vsumgui.core.pipeline import Options, held, resolve_methods, score_features, summarize

    clips = sorted(SHARED.glob("*")) if SHARED.exists() else []
    videos = [SAMPLE] + [c for c in clips if c.name != SAMPLE.name]
    videos.append(joined(videos, args.minutes, tmp / "joined.mp4", None))
    videos.append(joined(videos[:-1], args.minutes, tmp / "joined-gop2s.mp4", 50))
    names = [m.name for m in resolve_methods(None)]
    print(f"methods: {', '.join(names)}")
    print(f"{'video':<22}{'length':>8}{'keys':>6}  {'method':<17}{'rho quick/full':>16}{'(old)':>8}"
          f"{'rho score/hold':>16}{'(old)':>8}")
    means: dict[str, list] = {n: [] for n in names}
    for v in videos:
        full = summarize(v, Options(methods=names))
        quick = summarize(v, Options(methods=names, fast=True))
        h = held(quick.features)
        first = np.flatnonzero(np.r_[True, np.diff(h) > 0])
        count = np.bincount(h)
        n = min(len(full.times), len(quick.times))
        for name in names:
            new = quick.scores[name].scores
            old = methods.create(name).score(quick.features.features, quick.features.backbone).scores
            ref = full.scores[name].scores
            row = (rho(new[:n], ref[:n]), rho(old[:n], ref[:n]), rho(new[first], count), rho(old[first], count))
            means[name].append(row)
            print(f"{v.name[:21]:<22}{quick.video.duration:>7.0f}s{len(first):>6}  {name:<17}"
                  + "".join(f"{x:>16.2f}" if i % 2 == 0 else f"{x:>8.2f}" for i, x in enumerate(row)))
        assert all(np.allclose(score_features(methods.create(nm), quick.features).scores, quick.scores[nm].scores)
                   for nm in names[:1])
    print("mean over the videos (nan: a constant curve):")
    for name, rows in means.items():
        m = np.nanmean(np.array(rows, dtype=float), axis=0)
        print(f"  {name:<17} quick/full {m[0]:5.2f} (old {m[1]:5.2f})   score/hold {m[2]:5.2f} (old {m[3]:5.2f})")
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
