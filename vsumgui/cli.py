"""`vsumgui`: the window by default; sub-commands run headless on the same pipeline."""

from __future__ import annotations

import argparse
import difflib
import json
import math
import os
import platform
import sys
import threading
import time
import traceback
from pathlib import Path

from vsumgui.core import atomic, methods
from vsumgui.core.atomic import check_writable, write_text
from vsumgui.core.errors import Cancelled, VsumError, in_range, number_rule
from vsumgui.core.pipeline import DEFAULT_MODE
from vsumgui.core.select import MODES
from vsumgui.core.video import MAX_RATE, ffmpeg_log

MAX_CROSSFADE = 10.0  # seconds
INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): a bug of ours, with a crash report


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `prog: error: ...` and exit 2 (no usage block)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class ProgressBar:
    """A one-line progress bar on stderr with the stage's time left (plain lines, at most one
    every 5 s per stage, when stderr is not a terminal)."""

    def __init__(self, stream=sys.stderr, clock=time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.clock = clock
        self.stage = ""
        self.last = 0.0
        self.begun: dict[str, float] = {}  # when each stage was first reported
        self.printed: dict[str, float] = {}  # when each stage last printed a plain line

    def eta(self, stage: str, frac: float) -> float | None:
        """Seconds left in `stage` at its average pace so far (None until it is measurable)."""
        spent = self.clock() - self.begun.get(stage, self.clock())
        return spent * (1.0 - frac) / frac if 0.01 <= frac < 1.0 and spent >= 1.0 else None

    def __call__(self, stage: str, frac: float) -> None:
        now = self.clock()
        self.begun.setdefault(stage, now)
        if stage == self.stage and frac < 1.0 and now - self.last < 0.2:
            return
        self.last = now
        bar = "#" * int(frac * 30)
        left = self.eta(stage, frac)
        line = f"{stage:<10} [{bar:<30}] {frac * 100:5.1f}%" + (f"  ETA {_fmt_eta(left)}" if left is not None else "")
        if self.tty:
            self.stream.write("\r" + line + " " * 4 + ("\n" if frac >= 1.0 else ""))
        elif stage not in self.printed or frac >= 1.0 or now - self.printed[stage] >= 5.0:
            self.stream.write(line + "\n")
            self.printed[stage] = now
        self.stream.flush()
        self.stage = stage


def _fmt_eta(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt(t: float) -> str:
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:05.2f}"


def cmd_summarize(args: argparse.Namespace) -> int:
    from vsumgui.core.pipeline import Options, summarize

    atomic.protect(args.video)  # before the outputs are checked: --json VIDEO is refused now

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
    for w in summary.warnings:
        print(f"note: {w}")
    for n in summary.notes:
        print(f"vsumgui: warning: {n}", file=sys.stderr)
    print(f"summary by {sel.method} ({sel.mode}, {sel.ratio:.0%}): {len(sel.segments)} segments, "
          f"{sel.duration:.2f} s of {v.duration:.2f} s")
    for s, e in sel.segments:
        print(f"  {_fmt(s)} - {_fmt(e)}")
    if not sel.segments:  # a very short video: every shot is over the budget
        print(f"note: no shot fits in {sel.ratio:.0%} of {_fmt(v.duration)}; ask for a longer summary with --ratio")
    if args.export:
        existing = [] if args.overwrite else export.preflight(summary, args.export, args.formats,
                                                              crossfade=args.crossfade, cut=args.cut)
        if existing:
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise VsumError(f"{existing[0]}{more} already exist{'' if more else 's'}: "
                            "pass --overwrite to replace, or export to another folder")
        start = time.perf_counter()
        result = export.export(summary, args.export, args.formats, cut=args.cut,
                               overwrite=args.overwrite, progress=None if args.quiet else ProgressBar(),
                               cancel=threading.Event(), crossfade=args.crossfade)
        print(f"exported {len(result.files)} files to {Path(args.export)} "
              f"({args.cut or 'exact'} cuts, {time.perf_counter() - start:.2f} s):")
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
                              cut=args.cut)
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


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
           integer: bool = False):
    """An argparse type: a finite number (or integer) in a range; a bad value is refused naming
    the range (argparse puts the flag before it), before any work."""
    def parse(text: str) -> float | int:
        try:
            v: float = int(text) if integer else float(text)
        except ValueError:
            v = math.nan
        if not in_range(v, lo, hi, lo_open, hi_open, integer):
            raise argparse.ArgumentTypeError(f"must be {number_rule(lo, hi, lo_open, hi_open, integer)}, "
                                             f"not {text!r}")
        return v
    parse.__name__ = "integer" if integer else "number"
    return parse


def _checkpoint(spec: str) -> tuple[str, str]:
    """METHOD=FILE -> (method, file)."""
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path:
        raise argparse.ArgumentTypeError(f"expected METHOD=FILE, not {spec!r}")
    return name.strip(), path


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="vsumgui", description="Video summarizer. With no command, opens the window.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    s = sub.add_parser("summarize", help="summarize a video headless")
    s.add_argument("video")
    s.add_argument("--method", nargs="+", metavar="NAME", help="methods to compute (default: every ready one)")
    s.add_argument("--driver", help="method whose scores drive the selection (default: the first)")
    s.add_argument("--ratio", type=number(0, 1, lo_open=True), default=0.15,
                   help="summary length as a fraction, in (0, 1] (default 0.15)")
    s.add_argument("--mode", choices=MODES, default=DEFAULT_MODE,
                   help=f"how shots are chosen (default {DEFAULT_MODE})")
    s.add_argument("--sample-rate", type=number(0, MAX_RATE, lo_open=True), default=2.0,
                   help=f"frames sampled per second, in (0, {MAX_RATE:g}] (default 2)")
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
    e.add_argument("--cut", choices=("exact", "smart", "keyframe"), default=None,
                   help="how clips and the summary video are cut: exact (default: re-encoded H.264/AAC MP4, "
                        "frame-exact), smart (frame-exact, copies whole GOPs of H.264/HEVC, re-encodes the rest), "
                        "keyframe (stream copy from the keyframe before each cut, not frame-exact)")
    e.add_argument("--accurate", dest="cut", action="store_const", const="exact",
                   help="same as --cut exact (kept for older scripts)")
    e.add_argument("--crossfade", type=number(0, MAX_CROSSFADE), default=0.0, metavar="SECONDS",
                   help=f"crossfade between shots in the summary video, 0 to {MAX_CROSSFADE:g} s (re-encodes it)")
    e.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.add_argument("-v", "--verbose", action="store_true", help="show FFmpeg's own messages")
    s.set_defaults(func=cmd_summarize)
    b = sub.add_parser("batch", help="summarize every video in folders, on this machine or a Dask cluster",
                       description="One job per video (found by probing), run on a local Dask cluster or an "
                       "existing scheduler; writes OUT/<folder>/<name>-summary.json, the exports, OUT/index.html "
                       "and OUT/index.csv. Running it again skips the videos done before.")
    b.add_argument("paths", nargs="+", metavar="PATH", help="folders (walked recursively) or video files")
    b.add_argument("--out", required=True, metavar="OUT", help="output folder (also holds the job list)")
    b.add_argument("--method", nargs="+", metavar="NAME", help="methods to compute (default: every ready one)")
    b.add_argument("--driver", help="method whose scores drive the selection (default: the first)")
    b.add_argument("--ratio", type=number(0, 1, lo_open=True), default=0.15,
                   help="summary length as a fraction, in (0, 1] (default 0.15)")
    b.add_argument("--mode", choices=MODES, default=DEFAULT_MODE, help=f"how shots are chosen (default {DEFAULT_MODE})")
    b.add_argument("--sample-rate", type=number(0, MAX_RATE, lo_open=True), default=2.0,
                   help=f"frames sampled per second, in (0, {MAX_RATE:g}] (default 2)")
    b.add_argument("--checkpoint", type=_checkpoint, action="append", metavar="METHOD=FILE",
                   help="use this checkpoint for a method (repeatable)")
    b.add_argument("--fast", action="store_true", help="decode keyframes only (many times faster)")
    b.add_argument("--export", action="store_true", help="also write the exports beside each JSON")
    b.add_argument("--formats", type=_formats, metavar="LIST", help="exports to write (implies --export; "
                   "default: the edit lists edl,otio,fcpxml,csv,llc)")
    b.add_argument("--cut", choices=("exact", "smart", "keyframe"), default=None,
                   help="how clips and the summary video are cut (as for summarize; default exact)")
    b.add_argument("--accurate", dest="cut", action="store_const", const="exact", help="same as --cut exact")
    where = b.add_mutually_exclusive_group()
    where.add_argument("--workers", type=number(1, 1024, integer=True), metavar="N",
                       help="local worker processes, one thread each (default: one per core, within memory)")
    where.add_argument("--cluster", metavar="ADDRESS", help="use this Dask scheduler (e.g. tcp://host:8786) "
                       "instead of a local cluster; its workers need vsumgui and the videos at the same paths")
    b.add_argument("--retry-failed", action="store_true", help="also redo the videos that failed before")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.add_argument("-v", "--verbose", action="store_true", help="show FFmpeg's own messages")
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
    e.add_argument("--fold", type=number(0, 10_000, integer=True), metavar="K",
                   help="only fold K (0-based) of --split")
    e.add_argument("--stride", type=number(1, 1_000_000, integer=True), default=1, metavar="N",
                   help="--human: compare annotators at every N-th frame (default 1: all frames)")
    e.add_argument("--json", metavar="OUT", help="write the results as JSON here")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.add_argument("-v", "--verbose", action="store_true", help="show FFmpeg's own messages")
    e.set_defaults(func=cmd_eval)
    return p


def commands() -> list[str]:
    """The sub-command names, from the parser itself."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def has_display() -> bool:
    """Whether Qt can open a window: a display server, or a platform plugin the user chose."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_gui(argv: list[str]) -> int:
    g = Parser(prog="vsumgui", description="Open the vsumgui window "
               f"(commands: {', '.join(commands())}; see vsumgui COMMAND --help).")
    g.add_argument("video", nargs="?", help="video to open")
    args = g.parse_args(argv)
    if not has_display():
        print("vsumgui: error: no display to open the window on (DISPLAY is not set); "
              "headless, use a command such as: vsumgui summarize VIDEO", file=sys.stderr)
        return 1
    from vsumgui.ui.app import run

    return run(args.video)


def state_dir() -> Path:
    """Where crash reports go (platformdirs' user state folder). VSUMGUI_STATE_DIR overrides."""
    import platformdirs

    return Path(os.environ.get("VSUMGUI_STATE_DIR") or platformdirs.user_state_dir("vsumgui"))


def crash_report(argv: list[str], exc: BaseException) -> Path:
    """Write the traceback, versions and the command to a new file in the state folder."""
    import importlib.metadata as md

    versions = []
    for dist in ("vsumgui", "numpy", "torch", "av", "opencv-python-headless", "opencv-python", "PySide6", "h5py"):
        try:
            versions.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            continue
    text = "\n".join([
        f"vsumgui crash report, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"command: {' '.join([Path(sys.argv[0]).name, *argv])}",
        f"python {platform.python_version()} on {platform.platform()}",
        "versions: " + ", ".join(versions),
        "",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ])
    path = state_dir() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    write_text(path, text)
    return path


def guarded(prog: str, body, argv: list[str], interrupted: str = "interrupted") -> int:
    """Run a command line's `body(argv)`: Ctrl-C is exit 130 with one line, and a bug of ours is
    one line plus a crash report (exit 70), never a traceback. Shared by vsumgui and vsumgui-train."""
    try:
        return body(argv)
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
    except Exception as e:
        try:
            where = f"; a crash report is in {crash_report(argv, e)}"
        except Exception as why:  # noqa: BLE001  (the report itself failed: still one line)
            where = f" (no crash report: {why})"
        print(f"{prog}: internal error ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}){where}",
              file=sys.stderr)
        return INTERNAL_ERROR


def main(argv: list[str] | None = None) -> int:
    return guarded("vsumgui", _main, sys.argv[1:] if argv is None else argv)


def _main(argv: list[str]) -> int:
    names = commands()
    if not argv:
        return run_gui(argv)
    first = argv[0]
    if first not in names and not first.startswith("-"):
        if os.path.lexists(first):
            return run_gui(argv)  # a file to open (a second argument is a usage error there)
        close = difflib.get_close_matches(first, names, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"commands: {', '.join(names)}"
        print(f"vsumgui: error: {first!r} is neither a file nor a command; {hint}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    ffmpeg_log(getattr(args, "verbose", False))
    if args.command == "eval":
        if args.human and not args.dataset:
            build_parser().error("eval --human needs --dataset tvsum|summe")
        if args.h5 and not args.method:
            build_parser().error("eval --h5 needs --method NAME")
        if args.fold is not None and not args.split:
            build_parser().error("--fold needs --split FILE")
    if args.command == "summarize" and not args.export and (args.formats or args.cut or args.overwrite
                                                           or args.crossfade):
        build_parser().error("--formats, --cut, --crossfade and --overwrite need --export DIR")
    try:
        return args.func(args)
    except Cancelled:
        print("vsumgui: cancelled", file=sys.stderr)
        return 1
    except VsumError as e:
        print(f"vsumgui: error: {e}", file=sys.stderr)
        return 1
