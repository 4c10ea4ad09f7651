"""Export time for a video (default: the bundled sample) in fast and accurate mode.

    PYTHONPATH=. python benchmarks/export.py [VIDEO] [--repeat N]

Prints, per mode, the median wall time of exporting clips + summary video (the media work)
and of every format together, and the ratio to the length of the selection (seconds of
selected video exported per second of wall time)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vsumgui.core import export  # noqa: E402
from vsumgui.core.pipeline import summarize  # noqa: E402


def timed(summary, formats: str, accurate: bool, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            start = time.perf_counter()
            export.export(summary, d, formats, accurate=accurate)
            runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("video", nargs="?", default=str(ROOT / "resources/sample/big_buck_bunny_0_30.webm"))
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("VSUMGUI_CACHE_DIR", tempfile.mkdtemp(prefix="vsumgui-bench-"))
    summary = summarize(args.video)
    sel = summary.selection
    v = summary.video
    print(f"{Path(v.path).name}: {v.duration:.1f} s, {v.width}x{v.height}, {v.fps:.3g} fps; "
          f"{len(sel.segments)} segments, {sel.duration:.2f} s selected; cpus={os.cpu_count()}")
    print(f"{'mode':<9} {'formats':<22} {'median s':>9} {'selected s / wall s':>20}")
    for accurate in (False, True):
        mode = "accurate" if accurate else "fast"
        for formats in ("clips,video", "all"):
            t = timed(summary, formats, accurate, args.repeat)
            print(f"{mode:<9} {formats:<22} {t:>9.3f} {sel.duration / t:>20.2f}")


if __name__ == "__main__":
    main()
