"""Training throughput of the trainable methods (windows per second), as `fit` runs them.

    PYTHONPATH=. python benchmarks/train_throughput.py [--device cpu|cuda] [--batch-size 32] [--h5 F ...]
        [--epochs 4] [--windows-per-video 64] [--method ctvsum csum] [--videos DIR] [--hp KEY=VALUE]

Features come from the videos in --videos (default ../shared/data/videos, through the cache).
The first epoch is a warm-up and is left out. Printed against the CTVSUM paper's figure: 10,000
Youtube8M videos (one 200-sample window each), 40 epochs in about 6 minutes on one RTX A6000,
i.e. about 1,100 windows/s (batch 128, 8 heads).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trainer import data, loop

PAPER = 10_000 * 40 / 360.0  # windows per second in CTVSUM supp. §1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--videos", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"))
    p.add_argument("--h5", nargs="+", help="h5 feature files (e.g. cache files) instead of --videos")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--windows-per-video", type=int, default=64)
    p.add_argument("--method", nargs="+", default=["ctvsum", "csum"])
    p.add_argument("--hp", action="append", default=[])
    p.add_argument("--no-amp", action="store_true")
    args = p.parse_args()
    ds = (data.from_h5(args.h5, windows_per_video=args.windows_per_video) if args.h5
          else data.from_videos(args.videos, windows_per_video=args.windows_per_video))
    hp = dict(kv.split("=", 1) for kv in args.hp)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{len(ds.entries)} videos x {args.windows_per_video} windows per epoch, batch {args.batch_size}")
    for name in args.method:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = loop.Config(out=Path(tmp) / "x.pt", epochs=args.epochs, batch_size=args.batch_size,
                              device=args.device, amp=not args.no_amp, hparams=hp)
            t0 = time.perf_counter()
            res = loop.fit(name, ds, cfg)
            wall = time.perf_counter() - t0
        rates = [h["samples_per_s"] for h in res.history[1:]] or [res.history[0]["samples_per_s"]]
        rate = float(np.median(rates))
        print(f"{name:<7} {res.device:<7} {rate:9.1f} windows/s (median of epochs 2-{args.epochs}; "
              f"min {min(rates):.1f}, max {max(rates):.1f}); {rate / PAPER:.3f} x the paper's ~{PAPER:.0f}/s "
              f"(A6000); whole run {wall:.1f} s with checkpoints")


if __name__ == "__main__":
    main()
