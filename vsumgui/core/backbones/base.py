"""The Backbone base class and its registry."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

import numpy as np

from vsumgui.core.errors import VsumError

_REGISTRY: dict[str, type["Backbone"]] = {}
_INSTANCES: dict[str, "Backbone"] = {}


class Backbone(ABC):
    """Turns a batch of RGB frames (N, H, W, 3) uint8 at `input_size` into (N, dim) float32."""

    name: str = ""
    dim: int = 0
    input_size: tuple[int, int] = (224, 224)  # width, height

    @abstractmethod
    def embed(self, frames: np.ndarray) -> np.ndarray: ...

    @staticmethod
    def threads() -> int:
        return int(os.environ.get("VSUMGUI_THREADS", 0)) or (os.cpu_count() or 1)


def register(cls: type[Backbone]) -> type[Backbone]:
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Backbone:
    """The shared instance of a backbone (models are loaded once per process)."""
    if name not in _REGISTRY:
        raise VsumError(f"unknown feature backbone {name!r}; known: {', '.join(names())}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY[name]()
    return _INSTANCES[name]
