"""The one training loop of every trainable method: `fit`.

Seeded; one checkpoint per epoch, written atomically (a cancel or a crash leaves the last
one intact); resume from it; device `auto` (CUDA when torch sees one, else the CPU, with a
message); mixed precision (torch.autocast + GradScaler) on CUDA; DistributedDataParallel
when started by `torchrun` (WORLD_SIZE > 1: nccl on CUDA, gloo on the CPU, a
DistributedSampler, only rank 0 writes checkpoints and reports).

Progress events, `progress(stage, fraction, info)` (fraction of the whole run):
  "device"  {"device", "message"}                           once, before training
  "train"   {"epoch", "epochs", "step", "steps", "loss", "parts"}   after every step
  "epoch"   {"epoch", "epochs", "loss", "parts", "seconds", "samples_per_s", "checkpoint"}
  "paused"  {"epoch", "epochs", "step", "steps"}           when `pause` stops the run
  "resumed" {"epoch", "epochs", "step", "steps", "paused_s"} when it goes on
  "done"    {"epoch", "checkpoint", "samples_per_s"}
Epochs are counted from 1; after a resume they continue from the checkpoint's epoch.
"paused"/"resumed" carry `step`, the number of steps done in the epoch so far. The time spent
paused counts neither in an epoch's `seconds` nor in `samples_per_s`.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

import vsumgui
from vsumgui.core import checkpoints as ckpts, methods, nn as vnn
from trainer import hparams
from vsumgui.core.atomic import check_writable
from vsumgui.core.errors import Cancelled, VsumError, check_cancel
from vsumgui.core.methods.trained import resolve_device, world  # the device choice of every method
from trainer.checkpoint import training_checkpoint
from trainer.data import TrainProgress, WindowDataset, collate

@dataclass
class Config:
    """How to train. `hparams` overrides the method's defaults (`Method.hparams`)."""

    out: Path
    epochs: int = 40  # CTVSUM supp. Table 1
    batch_size: int = 32  # CTVSUM supp. Table 1 (Standard, TVSum)
    device: str = "auto"
    seed: int = 0
    amp: bool = True  # used on CUDA only
    hparams: dict[str, Any] = field(default_factory=dict)
    workers: int = 0  # DataLoader workers; windows are cheap to cut in the main process


@dataclass
class Result:
    checkpoint: Path
    epoch: int
    history: list[dict] = field(default_factory=list)  # one "epoch" event info per epoch run
    samples_per_s: float = 0.0
    device: str = "cpu"


class Objective(nn.Module):
    """The model and its method's loss as one module, so DistributedDataParallel sees the
    whole forward pass (its gradient hooks need the wrapped module's forward)."""

    def __init__(self, method: type[methods.Method], model: nn.Module) -> None:
        super().__init__()
        self.method = method
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.method.loss(self.model, batch)


def init_distributed(device: torch.device) -> bool:
    """Join torchrun's process group (nccl on CUDA, gloo on the CPU); False when not distributed."""
    _, size, _ = world()
    if size <= 1:
        return False
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def _hparams(method: type[methods.Method], given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(method.hparams))
    if unknown:
        raise VsumError(f"unknown hyper-parameter(s) for {method.name}: {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(method.hparams))}")
    out = dict(method.hparams)
    for k, v in given.items():
        out[k] = hparams.parse(k, v, method.hparams[k]) if isinstance(v, str) else v
    try:
        hparams.check(out)
    except ValueError as e:
        raise VsumError(str(e)) from None
    return out


PAUSE_POLL_S = 0.1  # how often a paused run looks at the cancel flag


def wait_while_paused(pause: threading.Event | None, cancel: threading.Event | None,
                      on_pause=None) -> float | None:
    """Block while `pause` is set (between steps); returns the seconds spent paused, None when
    it was not paused.

    Sleeps on the cancel flag's wait (no busy loop) and raises Cancelled as soon as `cancel` is
    set, paused or not. `on_pause()` is called once when the wait begins.
    """
    check_cancel(cancel)
    if pause is None or not pause.is_set():
        return None
    if on_pause is not None:
        on_pause()
    t0 = time.perf_counter()
    idle = cancel if cancel is not None else threading.Event()  # never set: a plain sleep
    while pause.is_set():
        if idle.wait(PAUSE_POLL_S):
            raise Cancelled()
    return time.perf_counter() - t0


def _mean_parts(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def fit(
    method: str | type[methods.Method],
    data: WindowDataset,
    config: Config,
    progress: TrainProgress | None = None,
    cancel: threading.Event | None = None,
    resume: bool = False,
    pause: threading.Event | None = None,
) -> Result:
    """Train `method` on `data`; returns where the last checkpoint is. Raises VsumError for
    user errors and Cancelled when `cancel` is set (the previous checkpoint stays as it was).
    While `pause` is set the run waits before its next step (see `wait_while_paused`)."""
    cls = methods.method_class(method) if isinstance(method, str) else method
    if not cls.trainable:
        raise VsumError(f"method {cls.name!r} is not trainable")
    if config.epochs < 1 or config.batch_size < 1:
        raise VsumError("epochs and batch size must be at least 1")
    if len(data.entries) < 2:
        raise VsumError(f"training needs at least 2 videos (the contrastive losses compare videos); "
                        f"found {len(data.entries)}")
    device, message = resolve_device(config.device)
    distributed = init_distributed(device)
    rank, size, _ = world()
    lead = rank == 0
    if distributed and device.type == "cpu":  # the processes share the cores
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", size))))
    else:  # a thread born while another one scored with few threads would inherit their count
        torch.set_num_threads(vnn.default_threads())

    def report(stage: str, frac: float, info: dict) -> None:
        if progress and lead:
            progress(stage, frac, info)

    hp = _hparams(cls, config.hparams)
    start_epoch, state = 0, None
    # the epochs a method's schedule (TRIM's two stages) is planned over: fixed by the first run and
    # kept in the checkpoint, so a resume with more (or fewer) epochs continues the same schedule
    schedule = config.epochs
    out = Path(config.out)
    if lead:
        check_writable(out)  # before the first epoch, not after it
        for stale in out.parent.glob(f".{glob.escape(out.name)}.*.part"):  # left by a killed run's save
            with contextlib.suppress(OSError):
                stale.unlink()
    if resume:
        state = ckpts.load(out)
        state.check(method=cls.name, backbone=data.backbone, dim=data.dim)
        if state.optimizer is None:
            raise VsumError(f"{out}: has no optimizer state (an inference-only checkpoint); cannot resume")
        changed = {k: v for k, v in hp.items() if k in config.hparams and state.hparams.get(k) != v}
        if changed:
            raise VsumError(f"--resume keeps the checkpoint's hyper-parameters; these differ: "
                            + ", ".join(f"{k}={v}" for k, v in changed.items()))
        hp = {**hp, **state.hparams}
        start_epoch = state.epoch
        # older checkpoints lack it: the epochs of the run that wrote them is the best guess
        schedule = int(state.header.get("schedule_epochs", state.header.get("epochs", config.epochs)))
        if start_epoch >= config.epochs:
            raise VsumError(f"{out}: already trained for {start_epoch} epochs; ask for more with --epochs")
    data.window = int(hp.get("window", data.window))

    torch.manual_seed(config.seed)
    model = cls.build_model(data.dim, hp)
    if state is not None:
        model.load_state_dict(state.model)
    model.to(device)
    objective: nn.Module = Objective(cls, model)
    if distributed:
        objective = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(hp["lr"]), weight_decay=float(hp["weight_decay"]))
    amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    if state is not None:
        optimizer.load_state_dict(state.optimizer)
        if amp and state.scaler:
            scaler.load_state_dict(state.scaler)

    data.seed = config.seed
    if distributed:
        sampler = DistributedSampler(data, num_replicas=size, rank=rank, shuffle=True, seed=config.seed)
        per_rank = len(sampler)
    else:
        sampler = RandomSampler(data, generator=torch.Generator())
        per_rank = len(data)
    batch = min(config.batch_size, per_rank)
    loader = DataLoader(data, batch_size=batch, sampler=sampler, drop_last=True, collate_fn=collate,
                        num_workers=config.workers, pin_memory=device.type == "cuda")
    steps = len(loader)
    report("device", start_epoch / config.epochs,
           {"device": str(device), "message": message or f"training on {device}"
            + (f" ({size} processes)" if distributed else "") + (" with mixed precision" if amp else "")})

    header_base = {
        "method": cls.name, "backbone": data.backbone, "dim": data.dim, "hparams": hp,
        "epochs": config.epochs, "schedule_epochs": schedule, "batch_size": config.batch_size, "seed": config.seed,
        "data": data.summary(), "vsumgui": vsumgui.__version__, "torch": torch.__version__,
        "sample_rate": data.source.get("sample_rate"),
    }
    history: list[dict] = []
    total_samples, total_time = 0, 0.0
    for epoch in range(start_epoch, config.epochs):
        data.set_epoch(epoch)
        cls.begin_epoch(model, epoch, schedule)
        if distributed:
            sampler.set_epoch(epoch)
        else:
            sampler.generator.manual_seed(config.seed * 1_000_003 + epoch)
        objective.train()
        t0 = time.perf_counter()
        losses, parts_rows, seen = [], [], 0
        paused_s = 0.0
        for step, b in enumerate(loader):
            where = {"epoch": epoch + 1, "epochs": config.epochs, "step": step, "steps": steps}
            frac = (epoch + step / steps) / config.epochs
            waited = wait_while_paused(pause, cancel, lambda: report("paused", frac, dict(where)))
            if waited is not None:
                paused_s += waited
                report("resumed", frac, {**where, "paused_s": waited})
            b = {k: v.to(device, non_blocking=True) for k, v in b.items()}
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                loss, parts = objective(b)
            if not torch.isfinite(loss):
                raise VsumError(f"the loss became {loss.item()} at epoch {epoch + 1}, step {step + 1}; "
                                "try a lower learning rate (--hp lr=...)")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            seen += len(b["x"])
            losses.append(float(loss.detach()))
            parts_rows.append({k: float(v) for k, v in parts.items()})
            report("train", (epoch + (step + 1) / steps) / config.epochs,
                   {"epoch": epoch + 1, "epochs": config.epochs, "step": step + 1, "steps": steps,
                    "loss": losses[-1], "parts": parts_rows[-1]})
        if cancel is not None and cancel.is_set():  # a cancelled epoch is not saved
            raise Cancelled()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0 - paused_s
        mean = float(np.mean(losses)) if losses else math.nan
        parts_mean = _mean_parts(parts_rows)
        if distributed:  # the loss over all processes, and all their samples
            t = torch.tensor([mean, float(seen)], dtype=torch.float64, device=device)
            dist.all_reduce(t)
            mean, seen = float(t[0]) / size, int(t[1])
        total_samples += seen
        total_time += seconds
        info = {"epoch": epoch + 1, "epochs": config.epochs, "loss": mean, "parts": parts_mean,
                "seconds": seconds, "samples_per_s": seen / seconds if seconds > 0 else math.nan,
                "checkpoint": str(out)}
        if lead:
            header = {**header_base, "epoch": epoch + 1, "loss": mean, "parts": parts_mean,
                      "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            ckpts.save(out, training_checkpoint(header, model, optimizer, scaler if amp else None))
        if distributed:
            dist.barrier()  # no process runs ahead of the checkpoint
        history.append(info)
        report("epoch", (epoch + 1) / config.epochs, info)
    rate = total_samples / total_time if total_time > 0 else 0.0
    report("done", 1.0, {"epoch": config.epochs, "checkpoint": str(out), "samples_per_s": rate})
    return Result(out, config.epochs, history, rate, str(device))
