"""`vsumgui`: the window by default; sub-commands run headless on the same pipeline."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from vsumgui.core import methods
from vsumgui.core.atomic import write_text
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.select import MODES

COMMANDS = ("summarize", "methods")


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
                   sample_rate=args.sample_rate, use_cache=not args.no_cache)
    bar = None if args.quiet else ProgressBar()
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
          f"{' (cached features)' if summary.cache_hit else ''}, {took:.2f} s")
    print(f"summary by {sel.method} ({sel.mode}, {sel.ratio:.0%}): {len(sel.segments)} segments, "
          f"{sel.duration:.2f} s of {v.duration:.2f} s")
    for s, e in sel.segments:
        print(f"  {_fmt(s)} - {_fmt(e)}")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    for name in methods.names():
        m = methods.create(name)
        doc = (type(m).__doc__ or "").strip().splitlines()
        print(f"{name:<18} {m.status:<24} {m.title}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vsumgui", description="Video summarizer. With no command, opens the window.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summarize", help="summarize a video headless")
    s.add_argument("video")
    s.add_argument("--method", nargs="+", metavar="NAME", help="methods to compute (default: every ready one)")
    s.add_argument("--driver", help="method whose scores drive the selection (default: the first)")
    s.add_argument("--ratio", type=float, default=0.15, help="summary length as a fraction (default 0.15)")
    s.add_argument("--mode", choices=MODES, default="knapsack")
    s.add_argument("--sample-rate", type=float, default=2.0, help="frames sampled per second (default 2)")
    s.add_argument("--json", metavar="OUT", help="write the JSON document here")
    s.add_argument("--csv", metavar="OUT", help="write the shot list as CSV here")
    s.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_summarize)
    m = sub.add_parser("methods", help="list methods and whether each is ready")
    m.set_defaults(func=cmd_methods)
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
    if args.command == "summarize" and not 0 < args.ratio <= 1:
        build_parser().error("--ratio must be in (0, 1]")
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
