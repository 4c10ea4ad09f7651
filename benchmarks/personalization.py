"""Personalization gain: average precision of unlabelled "odd" segments before and after.

Builds a video from real footage (the sample's landscape and bird scenes, with six short 2 s
inserts of another clip — the flower — spread over it), summarizes it, labels three of the
inserts keep (profile "bench", in a temporary data folder), personalizes, and prints the
average precision with which the pretrained and the personalized scores rank the samples of
the *other* three inserts above everything else.

Usage: python benchmarks/personalization.py [--method ctvsum]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("VSUMGUI_DATA_DIR", tempfile.mkdtemp(prefix="vsumgui-bench-"))

from coverage import BBB, FLOWER, build  # noqa: E402

from vsumgui.core import personalize as pers  # noqa: E402
from vsumgui.core.labels import KEEP, LabelStore  # noqa: E402
from vsumgui.core.pipeline import Options, summarize  # noqa: E402

LANDSCAPE, BIRD, INSERT = (BBB, 2, 10), (BBB, 16, 5), (FLOWER, 0, 2)
SCENES = [(LANDSCAPE, 12), (INSERT, 2), (BIRD, 10), (INSERT, 2), (LANDSCAPE, 14), (INSERT, 2),
          (BIRD, 8), (INSERT, 2), (LANDSCAPE, 10), (INSERT, 2), (BIRD, 12), (INSERT, 2), (LANDSCAPE, 8)]


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """AP of a ranking by score (ties broken by order), written out: no sklearn here."""
    order = np.argsort(-scores, kind="stable")
    hits = positive[order]
    prec = np.cumsum(hits) / (np.arange(len(hits)) + 1)
    return float((prec * hits).sum() / max(1, hits.sum()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="ctvsum")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, bounds = build("odd-inserts", SCENES, Path(tmp))
        s = summarize(path, Options(methods=[args.method], use_cache=False))
        inserts = [b for b, ((src, _, _), _) in zip(bounds, SCENES) if src == FLOWER]
        labelled, held_out = inserts[::2], inserts[1::2]
        with LabelStore(Path(tmp) / "labels.sqlite") as store:
            for a, b in labelled:
                store.set("bench", s.features.key, a, b, KEEP)
            after = pers.personalize(s, "bench", store, base=args.method).scores
    t = s.times
    in_any = lambda spans: np.array([any(a <= x < b for a, b in spans) for x in t])  # noqa: E731
    keep = ~in_any(labelled)  # rank the unlabelled samples only
    pos = in_any(held_out)[keep]
    before = s.scores[args.method].scores[keep]
    print(f"video {s.video.duration:.0f} s, {len(inserts)} inserts of 2 s, 3 labelled keep, "
          f"{int(pos.sum())} held-out insert samples among {int(keep.sum())} unlabelled")
    print(f"average precision of the held-out inserts: pretrained {args.method} "
          f"{average_precision(before, pos):.3f}, personalized {average_precision(after[keep], pos):.3f} "
          f"(chance {pos.mean():.3f})")


if __name__ == "__main__":
    main()
