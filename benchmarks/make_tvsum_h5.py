"""Build a TVSum benchmark file in the eccv16 layout from the raw annotations (random features).

The real `eccv16_dataset_tvsum_google_pool5.h5` is not redistributable here. This file has the same
datasets, built the standard way from ydata-tvsum50.mat: `picks` every 15 frames, `gtscore` = the
annotators' mean score at the picks scaled to [0, 1], `user_summary` = each annotator's own 15 %
knapsack summary over the shots, `change_points` / `n_frame_per_seg` = those shots. The GoogLeNet
features and the KTS shots need the videos, which are not available, so:

- features are seeded Gaussian noise (enough for `random`, `uniform-sampling` and for testing the
  evaluator; a feature-based method would learn nothing from them);
- shots are either TVSum's own 2-second annotation segments (`--shots annotation`, the default) or
  variable-length shots that imitate KTS (`--shots variable`: log-normal lengths, median 3 s,
  our choice). The F1 of random scores depends strongly on this (Otani et al. 2019): with
  equal-length shots a random 15 % summary overlaps a user's by ~15 %; with variable lengths both
  knapsacks favour the short shots and the overlap grows.

Usage:
    python benchmarks/make_tvsum_h5.py --out /tmp/tvsum_synth.h5 [--shots annotation|variable]
    vsumgui eval --h5 /tmp/tvsum_synth.h5 --method random
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vsumgui.core import datasets, evaluate  # noqa: E402
from vsumgui.core.atomic import atomic_path  # noqa: E402

STEP = 15  # the eccv16 files sample every 15th frame


def variable_shots(n_frames: int, fps: float, rng: np.random.Generator, median_s: float = 3.0,
                   sigma: float = 0.7) -> np.ndarray:
    """(S, 2) inclusive shots with log-normal lengths (at least 0.5 s), covering every frame."""
    bounds = [0]
    while bounds[-1] < n_frames:
        length = max(int(round(0.5 * fps)), int(round(fps * median_s * rng.lognormal(0.0, sigma))))
        bounds.append(min(n_frames, bounds[-1] + length))
    b = np.asarray(bounds)
    return np.stack([b[:-1], b[1:] - 1], axis=1)


def build(out: Path, data: Path, shots: str = "annotation", dim: int = 1024, seed: int = 0,
          videos: int | None = None, user_scores: bool = False) -> None:
    tvsum = datasets.read_tvsum(datasets.find_tvsum(data))[:videos]
    rng = np.random.default_rng(seed)
    with atomic_path(out, ".h5") as tmp, h5py.File(tmp, "w") as f:
        for v in tvsum:
            n = v.n_frames
            picks = np.arange(0, n, STEP)
            if shots == "annotation":
                cps = evaluate.annotation_segments(v.user_anno, int(round(2 * v.fps)))
            else:
                cps = variable_shots(n, v.fps, rng)
            gt = v.user_anno.mean(0)[picks]
            g = f.create_group(v.key)
            g["features"] = rng.standard_normal((len(picks), dim)).astype(np.float32)
            g["picks"] = picks
            g["n_frames"] = n
            g["n_steps"] = len(picks)
            g["fps"] = v.fps
            g["video_name"] = v.video_id.encode()
            g["gtscore"] = ((gt - gt.min()) / max(np.ptp(gt), 1e-9)).astype(np.float32)
            g["user_summary"] = evaluate.user_summaries(v.user_anno, cps).astype(np.float32)
            g["change_points"] = cps
            g["n_frame_per_seg"] = cps[:, 1] - cps[:, 0] + 1
            if user_scores:
                g["user_scores"] = v.user_anno[:, picks].astype(np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="the h5 file to write")
    p.add_argument("--data", type=Path, default=datasets.default_data(), help="folder with tvsum/ydata-tvsum50.mat")
    p.add_argument("--shots", choices=("annotation", "variable"), default="annotation")
    p.add_argument("--dim", type=int, default=1024, help="feature width (GoogLeNet pool5: 1024)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos", type=int, help="only the first N videos")
    p.add_argument("--user-scores", action="store_true", help="also write CTVSUM's `user_scores` (scores at picks)")
    a = p.parse_args()
    if a.data is None:
        p.error("no ../shared/data beside the checkout; pass --data DIR")
    start = time.perf_counter()
    build(a.out, a.data, a.shots, a.dim, a.seed, a.videos, a.user_scores)
    print(f"{a.out}: {a.shots} shots, {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
