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

Transfer (--part transfer): two videos cut from every real clip at hand (the sample's four
scenes, the flower, the street clip), several 2 s shots per source, each shot another stretch
of time and/or another framing of its source (a crop, as a second camera would give), never a
copy. In video A, two shots of one source are labelled keep and two of another skip; the
personal model (the head for CTVSUM, the fine-tuned model for ViSP) is then measured by the
average precision (AP) of
- "similar, this video": the other (held-out) shots of the kept source among A's unlabelled samples;
- "similar, next video": every shot of the kept source in video B (no labels there; the
  profile's saved model scores it, as when the person opens their next video);
- "unrelated": each source that is neither kept nor skipped (when there are two or more) ranked
  among the unrelated samples only, mean over those sources (A and B): it should keep its
  pretrained AP.
Every trial rotates which source is kept and which skipped; --pairs adds every ordered pair of
sources (a summary line per method). Then the labels that teach most: AP after k = 1..6 labels
placed on `personalize.suggestions` against labels on random shots.

Usage: python benchmarks/personalization.py [--method ctvsum] [--part all|ap|transfer|speed]
                                            [--repeats 3] [--load N] [--media DIR] [--pairs]
"""

from __future__ import annotations

import argparse
import itertools
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

from _media import FFMPEG, load_average, looped  # noqa: E402
from coverage import BBB, FLOWER, FRIDAY, VIDEOS, build  # noqa: E402

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


# -- transfer ---------------------------------------------------------------------------------
# (clip, start, seconds) of each source; shots are (source, offset into it, crop)
SOURCES = {"meadow": (BBB, 2, 10), "river": (BBB, 12, 4), "bird": (BBB, 16, 5), "burrow": (BBB, 25.5, 4.5),
           "flower": (FLOWER, 0, 5), "street": (FRIDAY, 0, 6.1)}
FILM = ("meadow", "river", "bird", "burrow")  # the four scenes of one film (the sample)
CROPS = {"full": "scale=640:360", "left": "crop=iw*0.6:ih*0.6:0:ih*0.2,scale=640:360",
         "right": "crop=iw*0.6:ih*0.6:iw*0.4:ih*0.2,scale=640:360",
         "center": "crop=iw*0.6:ih*0.6:iw*0.2:ih*0.2,scale=640:360"}
SHOT = 2.0
VIDEO_A = [("flower", 0, "full"), ("meadow", 0, "full"), ("street", 0, "full"), ("river", 0, "full"),
           ("flower", 3, "left"), ("bird", 0, "full"), ("street", 4, "left"), ("meadow", 4, "left"),
           ("burrow", 0, "full"), ("flower", 1.5, "right"), ("bird", 3, "right"), ("street", 2, "right"),
           ("meadow", 8, "right"), ("river", 2, "center"), ("burrow", 2.5, "left")]
VIDEO_B = [("meadow", 2, "center"), ("street", 1, "center"), ("bird", 1, "left"), ("flower", 1, "center"),
           ("burrow", 1, "right"), ("street", 3.5, "full"), ("river", 1, "left"), ("flower", 2.5, "full"),
           ("meadow", 6, "full"), ("street", 0.5, "right"), ("flower", 0.5, "left")]
# (kept source(s), labelled keep shots of A, skipped source, labelled skip shots of A) by index in VIDEO_A
TRIALS = [(("flower",), (0, 4), ("street",), (2, 6)),
          (("street",), (2, 6), ("flower",), (0, 4)),
          (FILM, (1, 5), ("street",), (2, 6))]  # the case: two scenes of a film kept, the street skipped


def cut(shots: list, name: str, folder: Path) -> tuple[Path, list[tuple[float, float]]]:
    """A video of 2 s shots (source, offset, crop) with the bundled ffmpeg; the shots' spans."""
    out = folder / f"{name}.mp4"
    spans = [(k * SHOT, (k + 1) * SHOT) for k in range(len(shots))]
    if out.is_file():
        return out, spans
    parts = []
    for k, (src, offset, crop) in enumerate(shots):
        clip, start, _ = SOURCES[src]
        part = folder / f"{name}-{k}.mp4"
        subprocess.run([FFMPEG, "-v", "error", "-y", "-ss", str(start + offset), "-i", str(VIDEOS / clip),
                        "-t", str(SHOT), "-vf", f"{CROPS[crop]},setsar=1,fps=24", "-an", "-c:v", "libx264",
                        "-preset", "veryfast", "-pix_fmt", "yuv420p", str(part)], check=True)
        parts.append(part)
    listing = folder / f"{name}.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    return out, spans


def mask(times: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    return np.array([any(a <= t < b for a, b in spans) for t in times], bool)


def unrelated_ap(scores: np.ndarray, times: np.ndarray, shots: list, spans: list, other: set[str],
                 exclude: np.ndarray) -> float | None:
    """Mean AP of each unrelated source ranked among the unrelated samples (None for fewer than two)."""
    if len(other) < 2:
        return None
    pool = mask(times, [sp for (src, _, _), sp in zip(shots, spans) if src in other]) & ~exclude
    aps = [average_precision(scores[pool], mask(times, [sp for (s, _, _), sp in zip(shots, spans) if s == u])[pool])
           for u in sorted(other)]
    return float(np.mean(aps))


def transfer(media: Path | None, pairs: bool = False) -> None:
    methods_ = ("ctvsum", "visp")
    with tempfile.TemporaryDirectory() as tmp:
        folder = media or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        (pa, spa), (pb, spb) = cut(VIDEO_A, "transfer-a", folder), cut(VIDEO_B, "transfer-b", folder)
        a = summarize(pa, Options(methods=list(methods_)))
        b = summarize(pb, Options(methods=list(methods_)))
        print(f"video A {a.video.duration:.0f} s ({len(VIDEO_A)} shots), video B {b.video.duration:.0f} s "
              f"({len(VIDEO_B)} shots), sources: {', '.join(SOURCES)}; shots of {SHOT:.0f} s")
        print("AP before -> after (gain); 'next' = video B, scored by the profile's saved model")
        worst = {m: [] for m in methods_}
        for t, (kept, keep_i, skipped, skip_i) in enumerate(TRIALS):
            lab_a = mask(a.times, [spa[i] for i in keep_i + skip_i])
            pos_a = mask(a.times, [sp for (src, _, _), sp in zip(VIDEO_A, spa) if src in kept])
            pos_b = mask(b.times, [sp for (src, _, _), sp in zip(VIDEO_B, spb) if src in kept])
            name = "+".join(kept) if len(kept) < 3 else "film (scenes)"
            print(f"trial {t + 1}: keep 2 shots of {name}, skip 2 of {'+'.join(skipped)}; held out: "
                  f"{int((pos_a & ~lab_a).sum())} samples in A (chance {(pos_a & ~lab_a).sum() / (~lab_a).sum():.2f}), "
                  f"{int(pos_b.sum())} in B (chance {pos_b.mean():.2f})")
            for m in methods_:
                sim_a, sim_b, un = measure(a, b, spa, spb, kept, keep_i, skip_i, m, f"transfer-{t}-{m}-{Path(tmp).name}", Path(tmp))
                fmt = lambda p: f"{p[0]:.3f} -> {p[1]:.3f} ({p[1] - p[0]:+.3f})"  # noqa: E731
                unr = "n/a (one unrelated source)" if un[0][0] is None else f"A {fmt(un[0])}, B {fmt(un[1])}"
                what = "head (ctvsum)" if m == "ctvsum" else "ViSP         "
                print(f"  {what} similar: this video {fmt(sim_a)}, next video {fmt(sim_b)}; unrelated: {unr}")
                worst[m].append((sim_a, sim_b, [u for u in un if u[0] is not None]))
        learning_curve(a, b, spa, spb, Path(tmp))
        summary(worst, "trial")
        if pairs:
            rows = {m: [] for m in methods_}
            for kept, skipped in itertools.permutations(SOURCES, 2):
                keep_i = [i for i, sh in enumerate(VIDEO_A) if sh[0] == kept]
                skip_i = [i for i, sh in enumerate(VIDEO_A) if sh[0] == skipped][:2]
                if len(keep_i) < 3:  # two labelled and one held out at least
                    continue
                for m in methods_:
                    sim_a, sim_b, un = measure(a, b, spa, spb, (kept,), keep_i[:2], skip_i, m,
                                               f"pair-{kept}-{skipped}-{m}-{Path(tmp).name}", Path(tmp))
                    rows[m].append((sim_a, sim_b, [u for u in un if u[0] is not None]))
            print(f"every ordered pair (kept source with 3 shots in A, skipped source): {len(rows['ctvsum'])} pairs")
            summary(rows, "pair")


def goal(p: tuple[float, float]) -> bool:
    return p[1] - p[0] >= 0.2 or (p[0] > 0.65 and p[1] >= 0.85)


def summary(rows: dict, what: str) -> None:
    for m, rs in rows.items():
        met = sum(goal(r[0]) and goal(r[1]) for r in rs)
        drop = min((u[1] - u[0] for r in rs for u in r[2]), default=0.0)
        print(f"{m}: similar-content goal (gain >= +0.2, or >= 0.85 from above 0.65, this and next video) "
              f"met in {met} of {len(rs)} {what}s; worst unrelated change {drop:+.3f} "
              f"({'within' if drop >= -0.02 else 'OUTSIDE'} -0.02)")


def measure(a, b, spa, spb, kept, keep_i, skip_i, m: str, profile: str, tmp: Path):
    """Label A, personalize, score B: AP pairs (before, after) of the kept source in A's unlabelled
    samples and in B, and of the unrelated sources (A, B; None where fewer than two)."""
    skipped = {VIDEO_A[i][0] for i in skip_i}
    other = set(SOURCES) - set(kept) - skipped
    lab_a = mask(a.times, [spa[i] for i in list(keep_i) + list(skip_i)])
    pos_a = mask(a.times, [sp for (src, _, _), sp in zip(VIDEO_A, spa) if src in kept])
    pos_b = mask(b.times, [sp for (src, _, _), sp in zip(VIDEO_B, spb) if src in kept])
    with LabelStore(tmp / "labels.sqlite") as store:
        for i in keep_i:
            store.set(profile, a.features.key, *spa[i], KEEP)
        for i in skip_i:
            store.set(profile, a.features.key, *spa[i], SKIP)
        after_a = pers.personalize(a, profile, store, base=m).scores
    after_b = pers.personal_scores(b, profile).scores
    pre_a, pre_b = a.scores[m].scores, b.scores[m].scores
    ap = lambda s, p, keep: average_precision(s[keep], p[keep])  # noqa: E731
    sim_a = (ap(pre_a, pos_a, ~lab_a), ap(after_a, pos_a, ~lab_a))
    sim_b = (ap(pre_b, pos_b, np.ones_like(pos_b)), ap(after_b, pos_b, np.ones_like(pos_b)))
    none = np.zeros(len(b.times), bool)
    un = [(unrelated_ap(pre_a, a.times, VIDEO_A, spa, other, lab_a),
           unrelated_ap(after_a, a.times, VIDEO_A, spa, other, lab_a)),
          (unrelated_ap(pre_b, b.times, VIDEO_B, spb, other, none),
           unrelated_ap(after_b, b.times, VIDEO_B, spb, other, none))]
    return sim_a, sim_b, un


def learning_curve(a, b, spa, spb, tmp: Path, k_max: int = 6, seeds: int = 5) -> None:
    """AP after k = 1..k_max labels, each on the first of `personalize.suggestions`, against
    labels on random shots (mean of `seeds` orders); the person keeps the kept source and skips
    everything else (the head, CTVSUM: the expert is the same for ViSP)."""
    src = lambda t, shots, spans: next(sh[0] for sh, (x, y) in zip(shots, spans) if x <= t < y)  # noqa: E731
    shot_src = [src((x + y) / 2, VIDEO_A, spa) for x, y in a.shot_secs]
    print(f"labels following the suggestions vs on random shots (mean of {seeds} orders); video A has "
          f"{len(a.shot_secs)} detected shots; AP of the kept source: A's unlabelled samples / video B")
    for t, (kept, *_rest) in enumerate(TRIALS):
        pos_b = mask(b.times, [sp for (x, _, _), sp in zip(VIDEO_B, spb) if x in kept])
        pos_a = mask(a.times, [sp for (x, _, _), sp in zip(VIDEO_A, spa) if x in kept])
        curves = {}
        for how in ["suggested"] + [f"random-{r}" for r in range(seeds)]:
            order = list(np.random.default_rng(int(how[7:]) if how != "suggested" else 0).permutation(len(shot_src)))
            profile, row = f"curve-{t}-{how}-{tmp.name}", []  # a new profile each run (no saved model)
            with LabelStore(tmp / "curve.sqlite") as store:
                for _ in range(k_max):
                    if how == "suggested":
                        i = pers.suggestions(a, profile, store, n=3)[0]
                    else:
                        i = order.pop(0)
                    store.set(profile, a.features.key, *a.shot_secs[i], KEEP if shot_src[i] in kept else SKIP)
                    got = pers.personalize(a, profile, store, base="ctvsum").scores
                    free = ~mask(a.times, [(lb.start, lb.end) for lb in store.get(profile)])
                    nxt = pers.personal_scores(b, profile).scores
                    row.append((average_precision(got[free], pos_a[free]) if pos_a[free].any() else float("nan"),
                                average_precision(nxt, pos_b)))
            curves[how] = np.array(row)
        rand = np.nanmean([v for k, v in curves.items() if k != "suggested"], axis=0)
        name = "+".join(kept) if len(kept) < 3 else "film (scenes)"
        fmt = lambda r: " ".join(f"{x:.2f}/{y:.2f}" for x, y in r)  # noqa: E731
        print(f"  trial {t + 1} (keep {name}), k = 1..{k_max}:\n    suggested {fmt(curves['suggested'])}\n"
              f"    random    {fmt(rand)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="ctvsum")
    ap.add_argument("--part", choices=("all", "ap", "transfer", "speed"), default="all")
    ap.add_argument("--pairs", action="store_true", help="transfer: also every ordered pair of sources")
    ap.add_argument("--media", type=Path, help="keep the built videos here (reused when present)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes beside the fit")
    args = ap.parse_args()
    if args.part in ("all", "ap"):
        gain(args.method)
    if args.part in ("all", "transfer"):
        transfer(args.media, args.pairs)
    if args.part in ("all", "speed"):
        speed(args.repeats, args.load)


if __name__ == "__main__":
    main()
