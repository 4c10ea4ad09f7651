"""The Backbone base class and its registry.

A backbone describes its network once, as a torch module (`build`); the base class runs it,
with ONNX Runtime when available (the graph is exported from that same module at first use
into the user cache folder, checked against torch, and reused by later runs without
importing torch), else with torch in channels-last layout. Both give the same features
(to float rounding, ~1e-6 relative), so the feature cache does not depend on the runtime.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from vsumgui.core import cpu, paths, runtime
from vsumgui.core.errors import VsumError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_REGISTRY: dict[str, type["Backbone"]] = {}
_INSTANCES: dict[str, "Backbone"] = {}
ONNX_FORMAT = 2  # bump when the exported graph changes (inputs, outputs, opset)
TOLERANCE = 1e-4  # largest |onnx - torch| allowed, relative to the largest |feature|


class Backbone(ABC):
    """Turns a batch of RGB frames (N, H, W, 3) uint8 at `input_size` into (N, dim) float32.

    Subclasses give `build()`: a torch module from uint8 NHWC frames (as a tensor) to (N, dim)
    features, preprocessing included, so that both runtimes see exactly the same graph; and
    `version()`: a string that changes whenever the weights or the model code change.
    """

    name: str = ""
    dim: int = 0
    input_size: tuple[int, int] = (224, 224)  # width, height

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one model shared by GUI worker threads: loaded once
        self._run: Callable[[np.ndarray], np.ndarray] | None = None
        self._serial = threading.Lock()  # held around torch calls (ONNX Runtime runs concurrently)
        self.runtime = ""  # "onnx" or "torch" once loaded
        self.workers = 1  # concurrent `embed` calls worth making (set when loaded)
        self.device = "cpu"  # where the network runs: "cuda" with onnxruntime-gpu and a GPU

    @abstractmethod
    def build(self) -> "torch.nn.Module": ...

    def version(self) -> str:
        return "1"

    @staticmethod
    def threads() -> int:
        """Inference threads: VSUMGUI_THREADS, else one per core this process may use."""
        return cpu.inference_threads()

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """Features of a batch; thread-safe (with ONNX Runtime, calls from threads run in parallel)."""
        frames = np.ascontiguousarray(frames, dtype=np.uint8)
        if self._run is None:
            self.load()
        return self._run(frames).astype(np.float32, copy=False)

    def load(self) -> "Backbone":
        """Load the network now (it is otherwise loaded at the first `embed`)."""
        with self._lock:
            if self._run is None:
                self._run = self._load()
        return self

    @property
    def loaded(self) -> bool:
        return self._run is not None

    def _load(self) -> Callable[[np.ndarray], np.ndarray]:
        if runtime.wanted() == "onnx":
            try:
                run = self._onnx()
                self.runtime = "onnx"
                return run
            except Exception as e:  # no onnxruntime, or the graph cannot be built here: torch does it
                log.info("backbone %s: ONNX Runtime not used (%s); running torch", self.name, e)
        self.runtime = "torch"
        return self._torch()

    # -- torch -------------------------------------------------------------------------------
    def _torch(self) -> Callable[[np.ndarray], np.ndarray]:
        import torch

        torch.set_num_threads(self.threads())
        self.workers = 1  # torch spreads one call over its own threads
        # channels-last runs the depthwise convolutions several times faster on CPU (measured)
        model = self.build().eval().to(memory_format=torch.channels_last)

        def run(frames: np.ndarray) -> np.ndarray:
            with self._serial, torch.inference_mode():
                return model(torch.from_numpy(frames)).numpy()

        return run

    # -- ONNX Runtime ------------------------------------------------------------------------
    def onnx_path(self) -> Path:
        tag = hashlib.blake2b(f"{self.name}|{self.version()}|{ONNX_FORMAT}".encode(), digest_size=6).hexdigest()
        return paths.cache_dir() / "models" / f"{self.name}-{tag}.onnx"

    def _onnx(self) -> Callable[[np.ndarray], np.ndarray]:
        import onnxruntime as ort

        path = self.onnx_path()
        if not os.path.exists(path):
            self.export_onnx(path)
        # whole batches in parallel, few threads each (see cpu.inference_split)
        self.workers, intra = cpu.inference_split(self.threads())
        providers = ["CPUExecutionProvider"]
        if os.environ.get("VSUMGUI_DEVICE", "").lower() != "cpu" and "CUDAExecutionProvider" in \
                ort.get_available_providers():  # onnxruntime-gpu installed and a GPU present (untested here)
            providers.insert(0, "CUDAExecutionProvider")
            self.workers = 1  # one stream of batches keeps a GPU busy; the CPU decodes
        session = runtime.session(path, intra, providers, rebuild=lambda: self.export_onnx(path))
        self.device = "cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu"
        return runtime.runner(session)

    def export_onnx(self, path: Path) -> None:
        """Export `build()` to ONNX (atomically), keeping it only if it matches torch."""
        w, h = self.input_size
        probe = np.random.default_rng(0).integers(0, 256, (2, h, w, 3), dtype=np.uint8)
        runtime.export(self.build().eval(), [probe, probe[:1]], path, {0: "n"}, TOLERANCE)


def register(cls: type[Backbone]) -> type[Backbone]:
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Backbone:
    """The shared instance of a backbone; the network itself loads at the first `embed`."""
    if name not in _REGISTRY:
        raise VsumError(f"unknown feature backbone {name!r}; known: {', '.join(names())}")
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY[name]()
    return _INSTANCES[name]
