"""The base of the methods scored by a trained network: where the checkpoint is found, loading it
(once per process, in a bounded cache), the device, and windowed inference (`frame_scores`).

A method file then holds only its paper: the model (`build_model`), the loss (`loss`), the
per-frame output the scores are made of (`frame_output`) and the documented choices. The
trainer (`trainer/`) needs nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from vsumgui.core import checkpoints, nn as vnn
from vsumgui.core.errors import VsumError
from vsumgui.core.lru import LRU
from vsumgui.core.methods.base import Method, MethodScores

WINDOW = 200  # samples a network sees at once, in training and at inference (CTVSUM §5.3)


# loaded models by checkpoint file (and the features they score): the GUI summarizes many videos
# with one checkpoint, and every Personalize of ViSP makes a new one
MODELS = LRU(8)


def world() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) when not distributed."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def resolve_device(spec: str) -> tuple[torch.device, str | None]:
    """(device, message for the user or None). `auto`: CUDA when available, else the CPU."""
    spec = (spec or "auto").strip().lower()
    _, size, local = world()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local % torch.cuda.device_count() if size > 1 else 0), None
        return torch.device("cpu"), "no CUDA device available: training on the CPU"
    if spec == "cpu":
        return torch.device("cpu"), None
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise VsumError(f"--device {spec}: no CUDA device is available (torch {torch.__version__}, "
                            "torch.cuda.is_available() is False); use --device cpu or auto")
        index = local if spec == "cuda" and size > 1 else (0 if spec == "cuda" else spec[5:])
        try:
            index = int(index)
        except ValueError:
            raise VsumError(f"--device {spec}: expected cuda or cuda:N") from None
        if not 0 <= index < torch.cuda.device_count():
            raise VsumError(f"--device {spec}: there are {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index), None
    raise VsumError(f"--device {spec}: expected auto, cpu, cuda or cuda:N")


class TrainedMethod(Method):
    """A method whose scores come from a network trained by `trainer/` and saved as a checkpoint.

    `hparams` holds the defaults (with where each comes from in `hparam_notes`); a checkpoint's
    own hyper-parameters win. Scoring runs on `device` ("cpu": the models are small, a video is
    a few hundred samples, and the scores are then the same on every machine).
    """

    needs_checkpoint = True
    trainable: ClassVar[bool] = True
    hparams: ClassVar[dict[str, Any]] = {"window": WINDOW}
    hparam_notes: ClassVar[dict[str, str]] = {}
    device: ClassVar[str] = "cpu"

    def __init__(self, checkpoint: str | os.PathLike | None = None) -> None:
        """`checkpoint`: a path; None to use the user's or the demo checkpoint when there is
        one; "none" (checkpoints.NONE) for no checkpoint at all."""
        super().__init__()
        if checkpoint is not None and str(checkpoint).lower() != checkpoints.NONE:
            self.checkpoint, self.checkpoint_source = Path(checkpoint), "given"
        elif checkpoint is None:
            self.checkpoint, self.checkpoint_source = checkpoints.find(self.name)
        self.model: nn.Module | None = None  # the trained model, loaded on first use
        self.header: dict[str, Any] | None = None
        self._loaded_for: tuple[str | None, int] | None = None

    @property
    def status(self) -> str:
        if not self.ready:
            return "needs training"
        if self.checkpoint_source == "demo":
            return "ready (demo checkpoint)"
        if self.checkpoint_source in ("user", "given"):
            return "ready (checkpoint)"
        return "ready (training-free)"

    @property
    def window(self) -> int:
        """The window the checkpoint was trained with (inference cuts the video alike)."""
        return int((self.header or {}).get("hparams", {}).get("window", self.hparams["window"]))

    def score(self, features: np.ndarray, backbone: str | None = None) -> MethodScores:
        features = self.check(features)
        if self.checkpoint is None:
            return self._score(features)
        self._load(features.shape[1], backbone)
        with vnn.few_threads(1):
            return self._score(features)

    def _load(self, dim: int, backbone: str | None) -> None:
        """Load the checkpoint once (and check it fits these features).

        A checkpoint that was found automatically (user or demo) but fits other features is
        set aside for these features when the method can score without one (CTVSUM falls
        back to its training-free scores); a given one, or a needed one, is an error.
        """
        if self._loaded_for == (backbone, dim):
            return
        st = self.checkpoint.stat() if self.checkpoint.is_file() else None
        key = ((self.name, self.checkpoint_source, str(self.checkpoint.resolve()), st.st_mtime_ns, st.st_size,
                backbone, dim) if st else None)
        got = MODELS.get(key) if key else None
        if got is not None:
            self.model, self.header = got
            self._loaded_for = (backbone, dim)
            return
        ckpt = checkpoints.load(self.checkpoint)
        ckpt.check(method=self.name)
        try:
            ckpt.check(backbone=backbone, dim=dim)
        except VsumError:
            if self.checkpoint_source in ("user", "demo") and not self.needs_checkpoint:
                self.model, self.header, self._loaded_for = None, None, (backbone, dim)
                if key:
                    MODELS.put(key, (None, None))
                return
            raise
        model = self.build_model(ckpt.dim, {**self.hparams, **ckpt.hparams})
        try:
            model.load_state_dict(ckpt.model)
        except RuntimeError as e:
            raise VsumError(f"{self.checkpoint}: weights do not fit the {self.name} model "
                            f"({str(e).splitlines()[0]})") from e
        self.model = model.to(resolve_device(self.device)[0]).eval()
        self.header, self._loaded_for = ckpt.header, (backbone, dim)
        if key:
            MODELS.put(key, (self.model, self.header))

    def _score(self, features: np.ndarray) -> MethodScores:
        return MethodScores(self.frame_scores(self.model, features, self.window))

    # --- the paper's parts, in each method's file ---
    network: ClassVar[type[nn.Module]]  # made as network(dim, hparams), keeps hparams as `.hp`

    @classmethod
    def build_model(cls, dim: int, hparams: dict[str, Any]) -> nn.Module:
        """The trainable model for features of width `dim` (the defaults, overridden by `hparams`)."""
        return cls.network(dim, {**cls.hparams, **hparams})

    @classmethod
    def loss(cls, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total loss, named parts) for a batch {"x": (B, T, D) features, "src": (B, T) index of
        the source sample of each window position, "video": (B,) video id}."""
        raise NotImplementedError(f"method {cls.name!r} defines no loss")

    @classmethod
    def begin_epoch(cls, model: nn.Module, epoch: int, epochs: int) -> None:
        """Called by the trainer before each epoch (0-based `epoch`, also after a resume): a method
        with a schedule (TRIM's two stages) sets it on the model here. `epochs` is what the schedule
        was planned over (the first run's --epochs, kept in the checkpoint), and `epoch` may pass it
        when a resume asks for more."""

    @classmethod
    def frame_output(cls, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """(1, L, D) features of a window -> (1, L) the frame scores; by default the model's output."""
        return model(x)

    @classmethod
    def frame_scores(cls, model: nn.Module, features: np.ndarray, window: int) -> np.ndarray:
        """(T,) scores of (T, D) features: the network sees interleaved groups of at most `window`
        samples that span the whole video, like its training windows (core/nn.grouped)."""
        device = next(model.parameters()).device
        x = torch.from_numpy(np.asarray(features, np.float32)).to(device)
        with torch.inference_mode():
            s = vnn.grouped(lambda w: cls.frame_output(model, w), x, window)
        return s.double().cpu().numpy()
