"""`vsumgui`: the window by default; sub-commands run headless on the same pipeline."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from vsumgui.core import methods
from vsumgui.core.atomic import check_writable, write_text
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.pipeline import DEFAULT_MODE
from vsumgui.core.select import MODES

COMMANDS = ("summarize", "methods", "eval", "batch")


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.stage = ""
        self.last = 0.0

    def __call__(self, stage: str, frac: float) -> None:
        now = time.monotonic()
        if stage == self.stage and frac < 1.0 and now - self.last < 0.2:
            return
        self.last = now
        bar = "#" * int(frac * 30)
        line = f"{stage:<10} [{bar:<30}] {frac * 100:5.1f}%"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if frac >= 1.0 else ""))
        elif stage != self.stage or frac >= 1.0:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.stage = stage


def _fmt(t: float) -> str:
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:05.2f}"


def cmd_summarize(args: argparse.Namespace) -> int:
    from vsumgui.core.pipeline import Options, summarize

    opts = Options(methods=args.method or None, driver=args.driver, ratio=args.ratio, mode=args.mode,
                   sample_rate=args.sample_rate, use_cache=not args.no_cache, fast=args.fast,
                   checkpoints=dict(args.checkpoint or []))
    bar = None if args.quiet else ProgressBar()
    for out in (args.json, args.csv):  # an output that cannot be written fails now, not after the work
        if out:
            check_writable(out)
    if args.export:  # a folder that cannot be written fails now, not after the summary is computed
        from vsumgui.core import export

        export.check_folder(Path(args.export), create=False)
    start = time.perf_counter()
    summary = summarize(args.video, opts, bar, threading.Event())
    took = time.perf_counter() - start
    doc = summary.to_json()
    if args.json:
        write_text(args.json, json.dumps(doc))
    if args.csv:
        rows = ["shot,start,end,length,score,selected"]
        sel = set(summary.selection.shots)
        sc = summary.selector().shot_scores
        for i, (s, e) in enumerate(summary.shot_secs):
            rows.append(f"{i},{s:.3f},{e:.3f},{e - s:.3f},{sc[i]:.6f},{int(i in sel)}")
        write_text(args.csv, "\n".join(rows) + "\n")
    sel = summary.selection
    v = summary.video
    print(f"{Path(v.path).name}: {_fmt(v.duration)}, {v.width}x{v.height}, {v.fps:.3g} fps, "
          f"{len(summary.shot_secs)} shots, methods: {', '.join(summary.scores)}"
          f"{' (cached features)' if summary.cache_hit else ''}{' (fast: keyframes only)' if args.fast else ''}, "
          f"{took:.2f} s")
    print(f"summary by {sel.method} ({sel.mode}, {sel.ratio:.0%}): {len(sel.segments)} segments, "
          f"{sel.duration:.2f} s of {v.duration:.2f} s")
    for s, e in sel.segments:
        print(f"  {_fmt(s)} - {_fmt(e)}")
    if not sel.segments:  # a very short video: every shot is over the budget
        print(f"note: no shot fits in {sel.ratio:.0%} of {_fmt(v.duration)}; ask for a longer summary with --ratio")
    if args.export:
        existing = [] if args.overwrite else export.preflight(summary, args.export, args.formats,
                                                              args.accurate, args.crossfade)
        if existing:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise VsumError(f"{existing[0]}{more} already exist{'' if more else 's'}: "
                            "pass --overwrite to replace, or export to another folder")
        start = time.perf_counter()
        result = export.export(summary, args.export, args.formats, accurate=args.accurate,
                               overwrite=args.overwrite, progress=None if args.quiet else ProgressBar(),
                               cancel=threading.Event(), crossfade=args.crossfade)
        print(f"exported {len(result.files)} files to {Path(args.export)} "
              f"({'accurate' if args.accurate else 'fast'} mode, {time.perf_counter() - start:.2f} s):")
        for f in result.files:
            print(f"  {f.name}")
        for n in result.notes:
            print(f"note: {n}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Summarize every video under the paths into --out (see vsumgui/core/batch.py)."""
    from vsumgui.core import batch

    opts = batch.BatchOptions(methods=args.method or None, driver=args.driver, ratio=args.ratio, mode=args.mode,
                              sample_rate=args.sample_rate, fast=args.fast, checkpoints=dict(args.checkpoint or []),
                              export=args.export or bool(args.formats), formats=args.formats,
                              accurate=args.accurate)
    cancel = threading.Event()
    res = batch.run(args.paths, args.out, opts, workers=args.workers, cluster=args.cluster,
                    retry_failed=args.retry_failed, progress=None if args.quiet else batch.TextBar(), cancel=cancel)
    print(f"{res.total} videos: {res.done} summarized, {res.skipped} done before, "
          f"{len(res.failed)} failed ({res.seconds:.1f} s{f' on {res.workers} workers' if res.workers else ''})")
    for path, reason in res.failed:
        print(f"  failed: {path}: {reason}")
    print(f"index: {Path(args.out) / 'index.html'}")
    if res.cancelled:
        print("vsumgui: interrupted (run the same command again to go on)", file=sys.stderr)
        return 130
    return 1 if res.failed else 0


def cmd_methods(args: argparse.Namespace) -> int:
    for name in methods.names():
        m = methods.create(name)
        doc = (type(m).__doc__ or "").strip().splitlines()
        print(f"{name:<18} {m.status:<24} {m.title}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from vsumgui.core import datasets, evaluate

    bar = None if args.quiet else ProgressBar()
    data = args.data or datasets.default_data()
    if args.human:
        if data is None:
            raise VsumError("no annotation folder at ../shared/data beside the program; pass --data DIR")
        report = evaluate.human_baseline(args.dataset, data, args.stride, bar, threading.Event())
    else:
        report = evaluate.evaluate_h5(args.h5, args.method, args.dataset, args.split, args.fold, data,
                                      args.checkpoint, bar, threading.Event())
    if args.json:
        report.write_json(args.json)
    print(report.table())
    if args.human:
        tau, rho = evaluate.TABLE1[report.dataset]
        print(f"CTVSUM Table 1, human row: tau {tau:.4f}  rho {rho:.4f}")
    return 0


def _formats(spec: str) -> list[str]:
    from vsumgui.core.export import parse_formats

    try:
        return parse_formats(spec)
    except VsumError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _checkpoint(spec: str) -> tuple[str, str]:
    """METHOD=FILE -> (method, file)."""
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path:
        raise argparse.ArgumentTypeError(f"expected METHOD=FILE, not {spec!r}")
    return name.strip(), path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vsumgui", description="Video summarizer. With no command, opens the window.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summarize", help="summarize a video headless")
    s.add_argument("video")
    s.add_argument("--method", nargs="+", metavar="NAME", help="methods to compute (default: every ready one)")
    s.add_argument("--driver", help="method whose scores drive the selection (default: the first)")
    s.add_argument("--ratio", type=float, default=0.15, help="summary length as a fraction (default 0.15)")
    s.add_argument("--mode", choices=MODES, default=DEFAULT_MODE,
                   help=f"how shots are chosen (default {DEFAULT_MODE})")
    s.add_argument("--sample-rate", type=float, default=2.0, help="frames sampled per second (default 2)")
    s.add_argument("--json", metavar="OUT", help="write the JSON document here")
    s.add_argument("--csv", metavar="OUT", help="write the shot list as CSV here")
    s.add_argument("--checkpoint", type=_checkpoint, action="append", metavar="METHOD=FILE",
                   help="use this checkpoint for a method (repeatable; default: the user's, else the demo one)")
    s.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    s.add_argument("--fast", action="store_true",
                   help="quick first look: decode keyframes only (many times faster; shots fall on keyframes)")
    e = s.add_argument_group("export")
    e.add_argument("--export", metavar="DIR", help="export the summary into this folder")
    e.add_argument("--formats", type=_formats, metavar="LIST",
                   help="comma-separated: clips,video,edl,otio,fcpxml,csv,json,llc or all "
                        "(default: the edit lists edl,otio,fcpxml,csv,json,llc)")
    e.add_argument("--accurate", action="store_true",
                   help="clips and video re-encoded (H.264/AAC MP4) with frame-exact cuts "
                        "(default: fast stream copy, cut on keyframes)")
    e.add_argument("--crossfade", type=float, default=0.0, metavar="SECONDS",
                   help="crossfade between shots in the summary video (re-encodes it)")
    e.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_summarize)
    b = sub.add_parser("batch", help="summarize every video in folders, on this machine or a Dask cluster",
                       description="One job per video (found by probing), run on a local Dask cluster or an "
                       "existing scheduler; writes OUT/<folder>/<name>-summary.json, the exports, OUT/index.html "
                       "and OUT/index.csv. Running it again skips the videos done before.")
    b.add_argument("paths", nargs="+", metavar="PATH", help="folders (walked recursively) or video files")
    b.add_argument("--out", required=True, metavar="OUT", help="output folder (also holds the job list)")
    b.add_argument("--method", nargs="+", metavar="NAME", help="methods to compute (default: every ready one)")
    b.add_argument("--driver", help="method whose scores drive the selection (default: the first)")
    b.add_argument("--ratio", type=float, default=0.15, help="summary length as a fraction (default 0.15)")
    b.add_argument("--mode", choices=MODES, default=DEFAULT_MODE, help=f"how shots are chosen (default {DEFAULT_MODE})")
    b.add_argument("--sample-rate", type=float, default=2.0, help="frames sampled per second (default 2)")
    b.add_argument("--checkpoint", type=_checkpoint, action="append", metavar="METHOD=FILE",
                   help="use this checkpoint for a method (repeatable)")
    b.add_argument("--fast", action="store_true", help="decode keyframes only (many times faster)")
    b.add_argument("--export", action="store_true", help="also write the exports beside each JSON")
    b.add_argument("--formats", type=_formats, metavar="LIST", help="exports to write (implies --export; "
                   "default: the edit lists edl,otio,fcpxml,csv,llc)")
    b.add_argument("--accurate", action="store_true", help="clips and video re-encoded with frame-exact cuts")
    b.add_argument("--workers", type=int, metavar="N", help="local worker processes, one thread each "
                   "(default: one per core, within memory)")
    b.add_argument("--cluster", metavar="ADDRESS", help="use this Dask scheduler (e.g. tcp://host:8786) instead "
                   "of a local cluster; its workers need vsumgui and the videos at the same paths")
    b.add_argument("--retry-failed", action="store_true", help="also redo the videos that failed before")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_batch)
    m = sub.add_parser("methods", help="list methods and whether each is ready")
    m.set_defaults(func=cmd_methods)
    e = sub.add_parser("eval", help="evaluate on TVSum / SumMe: F1 at 15 %%, Kendall tau-b, Spearman rho",
                       description="Either the human baseline from the raw annotations (--human) or a method "
                       "on an eccv16-style benchmark file (--h5).")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--human", action="store_true", help="annotators against each other (needs --dataset)")
    what.add_argument("--h5", metavar="FILE", help="benchmark file, e.g. eccv16_dataset_tvsum_google_pool5.h5")
    e.add_argument("--dataset", choices=("tvsum", "summe"), help="default for --h5: from the file name")
    e.add_argument("--data", metavar="DIR", help="folder with tvsum/ydata-tvsum50.mat and summe/GT/ "
                   "(default: ../shared/data beside the program, when it exists)")
    e.add_argument("--method", metavar="NAME", help="method to evaluate with --h5 (see `vsumgui methods`)")
    e.add_argument("--checkpoint", metavar="FILE", help="checkpoint for a method that needs one")
    e.add_argument("--split", metavar="FILE", help="split JSON: evaluate the test videos of each fold")
    e.add_argument("--fold", type=int, metavar="K", help="only fold K (0-based) of --split")
    e.add_argument("--stride", type=int, default=1, metavar="N",
                   help="--human: compare annotators at every N-th frame (default 1: all frames)")
    e.add_argument("--json", metavar="OUT", help="write the results as JSON here")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_eval)
    return p


def run_gui(argv: list[str]) -> int:
    g = argparse.ArgumentParser(prog="vsumgui", description="Open the vsumgui window "
                                f"(commands: {', '.join(COMMANDS)}; see vsumgui COMMAND --help).")
    g.add_argument("video", nargs="?", help="video to open")
    args = g.parse_args(argv)
    from vsumgui.ui.app import run

    return run(args.video)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        return run_gui(argv)
    args = build_parser().parse_args(argv)
    if args.command == "batch" and (args.workers is not None and args.workers < 1 or args.workers and args.cluster):
        build_parser().error("--workers must be at least 1, and is for the local cluster (not with --cluster)")
    if args.command in ("summarize", "batch") and not 0 < args.ratio <= 1:
        build_parser().error("--ratio must be in (0, 1]")
    if args.command == "eval":
        if args.human and not args.dataset:
            build_parser().error("eval --human needs --dataset tvsum|summe")
        if args.h5 and not args.method:
            build_parser().error("eval --h5 needs --method NAME")
        if args.fold is not None and not args.split:
            build_parser().error("--fold needs --split FILE")
        if args.stride < 1:
            build_parser().error("--stride must be at least 1")
    if args.command == "summarize" and not args.export and (args.formats or args.accurate or args.overwrite
                                                           or args.crossfade):
        build_parser().error("--formats, --accurate, --crossfade and --overwrite need --export DIR")
    if args.command == "summarize" and args.crossfade < 0:
        build_parser().error("--crossfade must be >= 0")
    try:
        return args.func(args)
    except Cancelled:
        print("vsumgui: cancelled", file=sys.stderr)
        return 1
    except VsumError as e:
        print(f"vsumgui: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vsumgui: interrupted", file=sys.stderr)
        return 130
