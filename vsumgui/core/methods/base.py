"""The Method base class and its registry (one file per method, registered by name)."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from vsumgui.core.errors import VsumError

_REGISTRY: dict[str, type["Method"]] = {}
_FOUND = False  # every method module imported (see `_discover`)
_FINDING = threading.RLock()


@dataclass
class MethodScores:
    """One score per sampled frame, plus named components (None = not available)."""

    scores: np.ndarray
    components: dict[str, np.ndarray | None] = field(default_factory=dict)


class Method(ABC):
    """A frame-importance method. Works for any feature width.

    A method trained by `trainer/` derives from `trained.TrainedMethod` (its checkpoint, model
    and loss); one that needs no training derives from this class and defines `_score`.
    """

    name: str = ""
    title: str = ""
    needs_checkpoint: bool = False
    order: int = 100  # position in lists and plots
    component_names: tuple[str, ...] = ()
    trainable: ClassVar[bool] = False
    # False for scores that depend only on position (baselines): a quick look scores them on the
    # time grid, content methods score its distinct keyframes (pipeline.score_features)
    reads_content: ClassVar[bool] = True

    def __init__(self, checkpoint: str | os.PathLike | None = None) -> None:
        """`checkpoint` is for trained methods (`TrainedMethod`); here there is none."""
        self.checkpoint: Path | None = None
        self.checkpoint_source: str | None = None  # "given", "user", "demo" or None

    @property
    def ready(self) -> bool:
        """True when the method can score (it needs no checkpoint, or has one)."""
        return not self.needs_checkpoint or self.checkpoint is not None

    @property
    def status(self) -> str:
        return "ready" if self.ready else "needs training"

    def check(self, features: np.ndarray) -> np.ndarray:
        """(T, D) float32 features, or VsumError when the method is not ready or they are no such array."""
        if not self.ready:
            raise VsumError(f"method {self.name!r} needs training (no checkpoint); run vsumgui-train")
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or len(features) == 0:
            raise VsumError(f"method {self.name!r}: expected (frames, dims) features, got {features.shape}")
        return features

    def score(self, features: np.ndarray, backbone: str | None = None) -> MethodScores:
        """Scores for (T, D) features; raises VsumError when the method is not ready, or when
        its checkpoint was trained on another backbone or feature width."""
        return self._score(self.check(features))

    @abstractmethod
    def _score(self, features: np.ndarray) -> MethodScores: ...


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
                if mod.name not in ("base", "trained"):  # the bases: every other module is one method
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
