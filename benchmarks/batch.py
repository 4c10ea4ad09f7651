"""`vsumgui batch` throughput: videos per hour with 1 and 2 local workers, and the cost of a
resumed run of a finished folder (issue #21: under a quarter of the first run).

Usage: python benchmarks/batch.py [--copies K] [--workers 1 2]
The library: the three sample videos, each also as K-1 copies made distinct by a few appended
bytes (another content key: nothing is reused from the feature cache), default options (every
ready method, diverse selection at 15 %, JSON only). Each run starts with an empty feature cache and
its own LocalCluster (its startup is in the wall time and also printed apart). Prints videos/hour,
media hours summarized per wall hour, the compute seconds per media second of one worker (from
the job list), and the ratio resumed / first run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from _media import ROOT, load_average

VIDEOS = sorted((ROOT / "tests" / "data" / "videos").glob("*"))


def library(folder: Path, copies: int) -> Path:
    folder.mkdir(parents=True)
    for v in VIDEOS:
        for k in range(copies):
            dst = folder / f"{v.stem}_{k}{v.suffix}"
            shutil.copy(v, dst)
            with open(dst, "ab") as f:
                f.write(bytes(k))  # trailing bytes: another content key, the same video
    return folder


def one(lib: Path, work: Path, workers: int) -> tuple[float, float, float, float, int]:
    """(wall s, cluster startup s, media s, compute s summed over jobs, videos done)"""
    from vsumgui.core import batch

    os.environ["VSUMGUI_CACHE_DIR"] = str(work / f"cache-{workers}")  # workers inherit it
    start = time.perf_counter()
    with batch.connect(workers) as client:
        up = time.perf_counter() - start
        res = batch.run([lib], work / f"out-{workers}", client=client)
    wall = time.perf_counter() - start
    db = sqlite3.connect(work / f"out-{workers}" / batch.DB_NAME)
    media, compute = db.execute("SELECT SUM(duration), SUM(seconds) FROM videos WHERE state='done'").fetchone()
    db.close()
    assert not res.failed, res.failed
    return wall, up, media, compute, res.done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    from vsumgui.core import batch

    print(f"load average {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lib = library(work / "lib", args.copies)
        first = {}
        for w in args.workers:
            wall, up, media, compute, n = one(lib, work, w)
            first[w] = wall
            print(f"{w} worker(s): {n} videos ({media:.0f} s of video) in {wall:.1f} s (cluster startup {up:.1f} s): "
                  f"{n / wall * 3600:.0f} videos/hour, {media / wall:.2f} media h per wall h; "
                  f"one worker spends {compute / media:.3f} s per media second")
        if len(args.workers) > 1:
            a, b = args.workers[:2]
            print(f"RATIO {b} workers / {a} worker(s) throughput = {first[a] / first[b]:.2f}x")
        w = args.workers[-1]
        start = time.perf_counter()
        res = batch.run([lib], work / f"out-{w}", workers=w)
        again = time.perf_counter() - start
        print(f"resumed run of the finished folder: {res.skipped} skipped, {res.ran} run, {again:.2f} s")
        print(f"RATIO resumed / first run = {again / first[w]:.3f} (must be < 0.25)")


if __name__ == "__main__":
    main()
