"""`vsumgui-train`: unsupervised pretraining of the trainable methods on a folder of videos.

    vsumgui-train pretrain --videos DIR --method ctvsum [--epochs N] [--batch-size B]
                  [--device auto|cpu|cuda[:i]] [--out CKPT] [--resume] [--h5 FILE ...]
    vsumgui-train info CKPT          print a checkpoint's header
    vsumgui-train strip CKPT [--out OUT]   drop the optimizer state (inference only, smaller)

Several GPUs: `torchrun --nproc_per_node=N -m trainer pretrain ...`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from trainer import hparams
from vsumgui.cli import Parser, guarded, number
from vsumgui.core import backbones, checkpoints as ckpts, methods
from vsumgui.core.atomic import check_writable
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.video import MAX_RATE, ffmpeg_log

PROG = "vsumgui-train"


class Reporter:
    """Progress bar on stderr for steps; one line per epoch on stdout (plain lines off a terminal)."""

    def __init__(self, quiet: bool = False, out=None, err=None) -> None:
        self.quiet, self.out, self.err = quiet, out or sys.stdout, err or sys.stderr
        self.tty = self.err.isatty()
        self.last = 0.0
        self.stage = ""

    def _bar(self, text: str, frac: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.2:
            return
        self.last = now
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {frac * 100:5.1f}% {text}"
        if self.tty:
            self.err.write("\r" + line[:150].ljust(150))
        elif force:
            self.err.write(line + "\n")
        self.err.flush()

    def _clear(self) -> None:
        if self.tty:
            self.err.write("\r" + " " * 150 + "\r")
            self.err.flush()

    def __call__(self, stage: str, frac: float, info: dict) -> None:
        if self.quiet:
            return
        if stage == "features":
            text = (f"features {info['index'] + 1}/{info['count']} {info['video']}" if "video" in info
                    else f"features of {info.get('count', 0)} files")
            self._bar(text, frac, force=stage != self.stage or frac >= 1.0)
            if frac >= 1.0:
                self._clear()
        elif stage == "device":
            self._clear()
            print(info["message"], file=self.out, flush=True)
        elif stage == "train":
            self._bar(f"epoch {info['epoch']}/{info['epochs']} step {info['step']}/{info['steps']} "
                      f"loss {info['loss']:.4f}", frac)
        elif stage == "epoch":
            self._clear()
            parts = " ".join(f"{k} {v:.4f}" for k, v in info["parts"].items())
            print(f"epoch {info['epoch']:>3}/{info['epochs']}  loss {info['loss']:.4f}  ({parts})  "
                  f"{info['samples_per_s']:.1f} windows/s  {info['seconds']:.2f} s", file=self.out, flush=True)
        elif stage == "done":
            print(f"checkpoint: {info['checkpoint']} (epoch {info['epoch']}; "
                  f"{info['samples_per_s']:.1f} windows/s)", file=self.out, flush=True)
        self.stage = stage


def _parse_hp(items: list[str] | None, method: type[methods.Method] | None = None) -> dict[str, str]:
    """KEY=VALUE items; with `method`, every key known and every value of its type and in its range
    (VsumError naming the key and the allowed values), so a bad value stops before any work."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise VsumError(f"--hp {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    if method is not None:
        unknown = sorted(set(out) - set(method.hparams))
        if unknown:
            raise VsumError(f"--hp {unknown[0]}: unknown hyper-parameter for {method.name}; "
                            f"known: {', '.join(sorted(method.hparams))}")
        parsed = {k: hparams.parse(k, v, method.hparams[k]) for k, v in out.items()}
        try:
            hparams.check({**method.hparams, **parsed})
        except ValueError as e:
            raise VsumError(f"--hp {str(e).removeprefix('hyper-parameter ')}") from None
    return out


def cmd_pretrain(args: argparse.Namespace) -> int:
    import torch.distributed as dist

    from trainer import data as tdata, loop

    rank, size, _ = loop.world()
    report = Reporter(args.quiet or rank != 0)
    cancel = threading.Event()
    method = methods.method_class(args.method)
    out = Path(args.out) if args.out else ckpts.user_path(method.name)
    config = loop.Config(out=out, epochs=args.epochs, batch_size=args.batch_size, device=args.device,
                         seed=args.seed, amp=not args.no_amp, hparams=_parse_hp(args.hp))
    device, _ = loop.resolve_device(args.device)
    if rank == 0:
        check_writable(out)  # before the features are extracted, not after the first epoch
    distributed = loop.init_distributed(device)
    try:
        def build() -> tdata.WindowDataset:
            kw = {"windows_per_video": args.windows_per_video}
            if args.videos:
                return tdata.from_videos(args.videos, args.backbone or backbones.DEFAULT, args.sample_rate,
                                         report, cancel, **kw)
            return tdata.from_h5(args.h5, args.backbone, **kw)

        if distributed and rank != 0:
            dist.barrier()  # rank 0 extracts and caches the features first; the others read the cache
        ds = build()
        if distributed and rank == 0:
            dist.barrier()
        if ds.skipped and rank == 0 and not args.quiet:
            print(f"skipped {len(ds.skipped)} unreadable file(s):", file=sys.stderr)
            for path, why in ds.skipped:
                print(f"  {why}" if why.startswith(path) else f"  {path}: {why}", file=sys.stderr)
        if rank == 0 and not args.quiet:
            print(f"{len(ds.entries)} videos, {sum(e.length for e in ds.entries)} samples of {ds.backbone} "
                  f"features ({ds.dim}-d); training {method.name} for {args.epochs} epochs -> {out}", flush=True)
        loop.fit(method, ds, config, report, cancel, resume=args.resume)
    finally:
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    ckpt = ckpts.load(args.checkpoint)
    print(json.dumps({**ckpt.header, "has_optimizer_state": ckpt.optimizer is not None}, indent=2, sort_keys=True))
    return 0


def cmd_strip(args: argparse.Namespace) -> int:
    from trainer.checkpoint import strip

    path = strip(args.checkpoint, args.out)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB (inference only)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    trainable = [n for n in methods.names() if methods.method_class(n).trainable]
    p = Parser(prog=PROG, description="Pretrain vsumgui's methods without labels.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    t = sub.add_parser("pretrain", help="unsupervised pretraining on a folder of videos or h5 features")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--videos", metavar="DIR", help="folder of videos (subfolders included)")
    src.add_argument("--h5", nargs="+", metavar="FILE", help="eccv16-style h5 feature files instead of videos")
    t.add_argument("--method", required=True, choices=trainable)
    t.add_argument("--epochs", type=number(1, 1_000_000, integer=True), default=40, help="total epochs (default 40; with --resume, the target)")
    t.add_argument("--batch-size", type=number(1, 65536, integer=True), default=32, help="windows per step and process (default 32)")
    t.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    t.add_argument("--out", metavar="CKPT", help="checkpoint to write every epoch "
                   f"(default: the user's checkpoint, which vsumgui then uses: {ckpts.user_path('METHOD')})")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--hp", action="append", metavar="KEY=VALUE", help="override a hyper-parameter (repeatable)")
    t.add_argument("--windows-per-video", type=number(1, 10_000, integer=True), default=1,
                   help="random windows drawn from each video per epoch (default 1; more for tiny libraries)")
    t.add_argument("--sample-rate", type=number(0, MAX_RATE, lo_open=True), default=2.0,
                   help=f"samples per second for features, in (0, {MAX_RATE:g}] (default 2)")
    t.add_argument("--backbone", help=f"feature backbone (default {backbones.DEFAULT}; for --h5, the name "
                   "recorded when the file has none)")
    t.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    t.add_argument("-v", "--verbose", action="store_true", help="show FFmpeg's own messages")
    t.set_defaults(func=cmd_pretrain)
    i = sub.add_parser("info", help="print a checkpoint's header")
    i.add_argument("checkpoint")
    i.set_defaults(func=cmd_info)
    s = sub.add_parser("strip", help="drop the optimizer state: a smaller, inference-only checkpoint")
    s.add_argument("checkpoint")
    s.add_argument("--out", help="write here instead of replacing the checkpoint")
    s.set_defaults(func=cmd_strip)
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(PROG, _main, sys.argv[1:] if argv is None else argv,
                   "interrupted (the last finished epoch's checkpoint is kept)")


def _main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ffmpeg_log(getattr(args, "verbose", False))
    if args.command == "pretrain":
        try:
            _parse_hp(args.hp, methods.method_class(args.method))
        except VsumError as e:  # a usage error: exit 2, one line, before any work
            print(f"{PROG} pretrain: error: {e}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except Cancelled:
        print(f"{PROG}: cancelled", file=sys.stderr)
        return 1
    except VsumError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
