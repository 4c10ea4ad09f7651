"""Personalization gain: average precision of unlabelled "odd" segments before and after.

Builds a video from real footage (the sample's landscape and bird scenes, with six short 2 s
inserts of another clip — the flower — spread over it), summarizes it, labels three of the
inserts keep (profile "bench", in a temporary data folder), personalizes, and prints the
average precision with which the pretrained and the personalized scores rank the samples of
the *other* three inserts above everything else.

Then (--part speed) the fine-tuning time the issue asks about, "a 10-minute video with 5
labels": the sample looped to 10 minutes (360p, 1200 samples), 3 shots labelled keep and 2
skip, Personalize timed (the fit, its save and the new curve; best and median of --repeats) for
the head (CTVSUM) and for ViSP (the model fine-tuned), alone, beside --load processes running
torch with its default threads (another program training, a test suite), and beside a torch
thread of this process (the GUI while the Trainer panel trains), with 1 torch thread for the
fit, personalize.THREADS, and torch's default count.

Usage: python benchmarks/personalization.py [--method ctvsum] [--part all|ap|speed]
                                            [--repeats 3] [--load N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("VSUMGUI_DATA_DIR", tempfile.mkdtemp(prefix="vsumgui-bench-"))

from _media import load_average, looped  # noqa: E402
from coverage import BBB, FLOWER, build  # noqa: E402

from vsumgui.core import personalize as pers  # noqa: E402
from vsumgui.core.labels import KEEP, SKIP, LabelStore  # noqa: E402
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


class Load:
    """Other work beside the fit: none, processes, or a thread of this process."""

    def __init__(self, kind: str, n: int) -> None:
        self.kind, self.n = kind, n
        self.procs: list[subprocess.Popen] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    @property
    def title(self) -> str:
        return {"none": "alone", "processes": f"beside {self.n} torch processes",
                "thread": "beside a torch thread of this process"}[self.kind]

    def __enter__(self) -> "Load":
        if self.kind == "processes":  # torch with its default threads: another program training
            code = "import torch\na = torch.randn(384, 384)\nwhile True: a @ a"
            self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(self.n)]
        elif self.kind == "thread":  # what the GUI has while the Trainer panel trains

            def work() -> None:
                import torch

                a = torch.randn(384, 384)
                while not self.stop.is_set():
                    a @ a

            self.threads = [threading.Thread(target=work, daemon=True)]
            self.threads[0].start()
        time.sleep(1.0)  # let it start
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()
        for p in self.procs:
            p.terminate()
            p.wait()


def speed(repeats: int, n_load: int) -> None:
    import torch

    default = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        path = looped(10, Path(tmp) / "ten.webm", height=360)
        t0 = time.perf_counter()
        s = summarize(path, Options(methods=["ctvsum", "visp"]))
        print(f"10-minute video: {s.video.duration:.0f} s, {len(s.times)} samples, {len(s.shot_idx)} shots "
              f"(summarized in {time.perf_counter() - t0:.0f} s)")
        shots = np.linspace(0, len(s.shot_idx) - 1, 5).round().astype(int)  # spread over the video
        with LabelStore(Path(tmp) / "labels.sqlite") as store:
            for k, i in enumerate(shots):
                store.set("speed", s.features.key, *s.shot_secs[i], KEEP if k % 2 == 0 else SKIP)
            pers.personalize(s, "speed", store, base="ctvsum")  # warm-up: lazy imports, first kernels
            rows = []
            for kind in ("none", "processes", "thread"):
                with Load(kind, n_load) as load:
                    for threads in sorted({1, pers.THREADS, default}):
                        for base in ("ctvsum", "visp"):
                            took = []
                            for _ in range(repeats):
                                t = time.perf_counter()
                                pers.personalize(s, "speed", store, base=base, threads=threads)
                                took.append(time.perf_counter() - t)
                            rows.append((load.title, threads, base, min(took), statistics.median(took)))
    print(f"Personalize (fit, save, new curve), 5 labels (3 keep, 2 skip), best / median of {repeats}; "
          f"{os.cpu_count()} cores, torch default {default} threads, personalize.THREADS {pers.THREADS}; "
          f"load average now {load_average()}")
    for where, threads, base, best, med in rows:
        what = "head (ctvsum)" if base == "ctvsum" else "ViSP (visp)  "
        print(f"  {what}  {where:38s}  {threads} thread{'s' if threads > 1 else ' '}: "
              f"{best:5.2f} s best, {med:5.2f} s median")


def gain(method: str) -> None:
    args = argparse.Namespace(method=method)
    with tempfile.TemporaryDirectory() as tmp:
        path, bounds = build("odd-inserts", SCENES, Path(tmp))
        s = summarize(path, Options(methods=[args.method], use_cache=False))
        inserts = [b for b, ((src, _, _), _) in zip(bounds, SCENES) if src == FLOWER]
        labelled, held_out = inserts[::2], inserts[1::2]
        with LabelStore(Path(tmp) / "labels.sqlite") as store:
            for a, b in labelled:
                store.set("bench", s.features.key, a, b, KEEP)
            after = pers.personalize(s, "bench", store, base=args.method).scores  # s itself is unchanged
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="ctvsum")
    ap.add_argument("--part", choices=("all", "ap", "speed"), default="all")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes beside the fit")
    args = ap.parse_args()
    if args.part in ("all", "ap"):
        gain(args.method)
    if args.part in ("all", "speed"):
        speed(args.repeats, args.load)


if __name__ == "__main__":
    main()
