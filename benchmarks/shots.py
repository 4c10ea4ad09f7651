"""Shot segmentation of an hour at 2 samples/s (issue #10 figure 3: 7,200 samples in < 2 s).

Usage: python benchmarks/shots.py [--hours H]
Features: the sample's real EfficientNet-Lite0 features tiled to the length, with 5 % noise.
"""

from __future__ import annotations

import argparse
import time

from _media import hour_features, load_average


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    from vsumgui.core import shots

    x = hour_features(3600 * args.hours)
    start = time.perf_counter()
    import ruptures  # noqa: F401

    imp = time.perf_counter() - start
    shots.segment(x[:200], 2.0)  # warm-up
    start = time.perf_counter()
    idx = shots.segment(x, 2.0)
    took = time.perf_counter() - start
    print(f"{len(x)} samples x {x.shape[1]} dims -> {len(idx)} shots")
    print(f"ruptures import {imp:.2f} s (once per process, not per video)")
    print(f"load average: {load_average()}")
    print(f"TIME segmentation {took:.2f} s (goal < 2 s)")


if __name__ == "__main__":
    main()
