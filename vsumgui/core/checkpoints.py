"""Checkpoints of trained methods: one file with the weights and a JSON header.

The file is `torch.save` of a dict holding only tensors, strings and numbers, so it is
read with `torch.load(weights_only=True)` (no pickled code runs):

    {"format": "vsumgui-checkpoint", "version": 1,
     "header": "<JSON: method, backbone, dim, sample_rate, hparams, epoch, data, ...>",
     "model": state_dict, "optimizer": state_dict | None, "scaler": state_dict | None}

A method finds its checkpoint in this order: the path it is given; the user's
`<checkpoints_dir>/<method>.pt` (what `vsumgui-train` writes by default); the demo
checkpoint bundled in `resources/checkpoints/<method>.pt`.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vsumgui.core import paths
from vsumgui.core.atomic import atomic_path
from vsumgui.core.errors import VsumError

if TYPE_CHECKING:  # torch is imported where a checkpoint is read or written, not to list methods
    import torch

FORMAT = "vsumgui-checkpoint"
VERSION = 1
SUFFIX = ".pt"
NONE = "none"  # as a method's checkpoint: use no checkpoint at all (not even the demo one)
_REQUIRED = ("method", "backbone", "dim", "hparams", "epoch")


@dataclass
class Checkpoint:
    """A checkpoint in memory: the header (JSON-able dict) and the state dicts."""

    header: dict[str, Any]
    model: dict[str, torch.Tensor]
    optimizer: dict | None = None
    scaler: dict | None = None
    path: Path | None = field(default=None, compare=False)

    @property
    def method(self) -> str:
        return str(self.header["method"])

    @property
    def backbone(self) -> str:
        return str(self.header["backbone"])

    @property
    def dim(self) -> int:
        return int(self.header["dim"])

    @property
    def hparams(self) -> dict[str, Any]:
        return dict(self.header["hparams"])

    @property
    def epoch(self) -> int:
        return int(self.header["epoch"])

    def check(self, method: str | None = None, backbone: str | None = None, dim: int | None = None) -> None:
        """Raise VsumError when this checkpoint is for another method, backbone or feature width."""
        where = self.path or "the checkpoint"
        if method is not None and self.method != method:
            raise VsumError(f"{where} is a {self.method!r} checkpoint, not {method!r}")
        if (backbone is not None and backbone != self.backbone) or (dim is not None and dim != self.dim):
            got = f"{backbone} features ({dim}-d)" if backbone else f"{dim}-d features"
            raise VsumError(f"{where} was trained on {self.backbone} features ({self.dim}-d) and cannot "
                            f"score {got}; train one for these features with vsumgui-train")


def _cpu(state: Any) -> Any:
    """A copy of a (nested) state dict with every tensor on the CPU, detached."""
    import torch

    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: _cpu(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_cpu(v) for v in state)
    return state


def save(path: str | os.PathLike, ckpt: Checkpoint) -> Path:
    """Write atomically (temp name + rename): an interrupted save leaves the old file intact."""
    path = Path(path)
    missing = [k for k in _REQUIRED if k not in ckpt.header]
    if missing:
        raise ValueError(f"checkpoint header lacks {missing}")
    blob = {"format": FORMAT, "version": VERSION, "header": json.dumps(ckpt.header, sort_keys=True),
            "model": _cpu(ckpt.model), "optimizer": _cpu(ckpt.optimizer), "scaler": _cpu(ckpt.scaler)}
    # serialized in memory, then one plain write: torch.save straight to a file on a full disk
    # raises an obscure RuntimeError; a plain write raises OSError ("the disk is full")
    import torch

    data = io.BytesIO()
    torch.save(blob, data)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.getbuffer())
    return path


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint (tensors on the CPU); VsumError when missing, damaged or foreign."""
    path = Path(path)
    if not path.is_file():
        raise VsumError(f"{path}: no such checkpoint file")
    import torch

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, random bytes, a pickle with code: all refused alike
        raise VsumError(f"{path}: not a readable checkpoint (damaged file or another format: "
                        f"{type(e).__name__})") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise VsumError(f"{path}: not a vsumgui checkpoint")
    if blob.get("version") != VERSION:
        raise VsumError(f"{path}: checkpoint format version {blob.get('version')} is not supported "
                        f"(this vsumgui reads version {VERSION})")
    try:
        header = json.loads(blob["header"])
        missing = [k for k in _REQUIRED if k not in header]
        if missing or not isinstance(blob.get("model"), dict):
            raise ValueError(f"missing {missing or 'model'}")
    except (ValueError, TypeError, KeyError) as e:
        raise VsumError(f"{path}: damaged checkpoint header ({e})") from e
    return Checkpoint(header, blob["model"], blob.get("optimizer"), blob.get("scaler"), path)


def user_path(method: str) -> Path:
    """Where `vsumgui-train` writes a method's checkpoint by default (it takes precedence)."""
    return paths.checkpoints_dir() / f"{method}{SUFFIX}"


def demo_path(method: str) -> Path:
    """The demo-scale checkpoint bundled with the application."""
    return paths.resources_dir() / "checkpoints" / f"{method}{SUFFIX}"


def find(method: str) -> tuple[Path | None, str | None]:
    """(path, source) of the checkpoint a method uses when given none: "user", "demo" or (None, None)."""
    for source, p in (("user", user_path(method)), ("demo", demo_path(method))):
        if p.is_file():
            return p, source
    return None, None
