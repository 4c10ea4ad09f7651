"""The Method base class and its registry (one file per method, registered by name)."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vsumgui.core import checkpoints
from vsumgui.core.errors import VsumError

if TYPE_CHECKING:
    import torch

_REGISTRY: dict[str, type["Method"]] = {}
_FOUND = False  # every method module imported (see `_discover`)
_FINDING = threading.RLock()
_LOADED: dict[tuple, tuple] = {}  # (method, source, file, mtime, size, backbone, dim) -> (model, header)


@dataclass
class MethodScores:
    """One score per sampled frame, plus named components (None = not available)."""

    scores: np.ndarray
    components: dict[str, np.ndarray | None] = field(default_factory=dict)


class Method(ABC):
    """A frame-importance method. Works for any feature width.

    A trainable method also defines `hparams` (defaults, with where each comes from in
    `hparam_notes`), `build_model(dim, hparams)` and `loss(model, batch)`; the trainer
    (`trainer/`) needs nothing else, and writes checkpoints the method then loads.
    """

    name: str = ""
    title: str = ""
    needs_checkpoint: bool = False
    order: int = 100  # position in lists and plots
    component_names: tuple[str, ...] = ()

    # --- training interface (trainable methods only) ---
    trainable: ClassVar[bool] = False
    hparams: ClassVar[dict[str, Any]] = {}
    hparam_notes: ClassVar[dict[str, str]] = {}

    def __init__(self, checkpoint: str | os.PathLike | None = None) -> None:
        """`checkpoint`: a path; None to use the user's or the demo checkpoint when there is
        one; "none" (checkpoints.NONE) for no checkpoint at all."""
        self.checkpoint_source: str | None = None  # "given", "user", "demo" or None
        self.checkpoint: Path | None = None
        if checkpoint is not None and str(checkpoint).lower() != checkpoints.NONE:
            self.checkpoint, self.checkpoint_source = Path(checkpoint), "given"
        elif checkpoint is None and self.trainable:
            self.checkpoint, self.checkpoint_source = checkpoints.find(self.name)
        self.model: "torch.nn.Module | None" = None  # the trained model, loaded on first use
        self.header: dict[str, Any] | None = None
        self._loaded_for: tuple[str | None, int] | None = None

    @property
    def ready(self) -> bool:
        """True when the method can score (it needs no checkpoint, or has one)."""
        return not self.needs_checkpoint or self.checkpoint is not None

    @property
    def status(self) -> str:
        if not self.ready:
            return "needs training"
        if self.checkpoint_source == "demo":
            return "ready (demo checkpoint)"
        if self.checkpoint_source in ("user", "given"):
            return "ready (checkpoint)"
        return "ready (training-free)" if self.trainable else "ready"

    def score(self, features: np.ndarray, backbone: str | None = None) -> MethodScores:
        """Scores for (T, D) features; raises VsumError when the method is not ready, or when
        its checkpoint was trained on another backbone or feature width."""
        if not self.ready:
            raise VsumError(f"method {self.name!r} needs training (no checkpoint); run vsumgui-train")
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or len(features) == 0:
            raise VsumError(f"method {self.name!r}: expected (frames, dims) features, got {features.shape}")
        if self.checkpoint is None:
            return self._score(features)
        self._load(features.shape[1], backbone)
        from vsumgui.core.nn import few_threads  # torch only for methods that have a model

        with few_threads(1):
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
        if key in _LOADED:  # one load per checkpoint file and process (the GUI summarizes many videos)
            self.model, self.header = _LOADED[key]
            self._loaded_for = (backbone, dim)
            return
        ckpt = checkpoints.load(self.checkpoint)
        ckpt.check(method=self.name)
        try:
            ckpt.check(backbone=backbone, dim=dim)
        except VsumError:
            if self.checkpoint_source in ("user", "demo") and not self.needs_checkpoint:
                self.model, self.header, self._loaded_for = None, None, (backbone, dim)
                _LOADED[key] = (None, None)
                return
            raise
        hp = {**self.hparams, **ckpt.hparams}
        model = self.build_model(ckpt.dim, hp)
        try:
            model.load_state_dict(ckpt.model)
        except RuntimeError as e:
            raise VsumError(f"{self.checkpoint}: weights do not fit the {self.name} model "
                            f"({str(e).splitlines()[0]})") from e
        self.model, self.header, self._loaded_for = model.eval(), ckpt.header, (backbone, dim)
        _LOADED[key] = (self.model, self.header)

    @abstractmethod
    def _score(self, features: np.ndarray) -> MethodScores: ...

    @classmethod
    def build_model(cls, dim: int, hparams: dict[str, Any]) -> "torch.nn.Module":
        """The trainable model for features of width `dim`."""
        raise NotImplementedError(f"method {cls.name!r} is not trainable")

    @classmethod
    def loss(cls, model: "torch.nn.Module", batch: dict[str, "torch.Tensor"]) -> tuple["torch.Tensor", dict[str, "torch.Tensor"]]:
        """(total loss, named parts) for a batch {"x": (B, T, D) features, "src": (B, T) index of
        the source sample of each window position, "video": (B,) video id}."""
        raise NotImplementedError(f"method {cls.name!r} is not trainable")

    @classmethod
    def begin_epoch(cls, model: "torch.nn.Module", epoch: int, epochs: int) -> None:
        """Called by the trainer before each epoch (0-based `epoch` of `epochs`, also after a
        resume): a method with a schedule (TRIM's two stages) sets it on the model here."""


def register(cls: type[Method]) -> type[Method]:
    if cls.name in _REGISTRY:
        raise RuntimeError(f"method {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _discover() -> None:
    """Import every method module of the package once (they register themselves). Done at the
    first look-up rather than on import: the methods import torch, and `vsumgui summarize` starts
    decoding before that import is done (issue #20)."""
    global _FOUND
    with _FINDING:
        if not _FOUND:
            import importlib
            import pkgutil

            pkg = importlib.import_module(__package__)
            for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
                if mod.name != "base":
                    importlib.import_module(f"{__package__}.{mod.name}")
            _FOUND = True


def names() -> list[str]:
    _discover()
    return sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].order, n))


def method_class(name: str) -> type[Method]:
    if name not in _REGISTRY:
        _discover()
    if name not in _REGISTRY:
        raise VsumError(f"unknown method {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]


def create(name: str, checkpoint: str | os.PathLike | None = None) -> Method:
    return method_class(name)(checkpoint)


def minmax(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] over the video; a constant sequence carries no ranking and becomes ones."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi - lo > 1e-12 else np.ones_like(x)


def smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d  # (scipy is imported when scores are made, not at start)

    return gaussian_filter1d(np.asarray(x, dtype=np.float64), sigma, mode="nearest") if sigma > 0 else x
