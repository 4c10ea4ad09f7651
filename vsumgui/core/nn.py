"""Torch building blocks shared by the trainable methods (Qt-free, no training loop here).

Importing this module (or a method file) does not import torch: `torch`, `nn` and `F` here are
stand-ins that import the real module at their first use, and a network class derives from
`Network`, which becomes a `torch.nn.Module` when it is first built. A summary whose methods
run from their exported ONNX graphs (`methods.trained`) then never loads torch (2.4 s of CPU
time at start, issue #20); training, personalization and export load it as they use it.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from functools import lru_cache
from types import ModuleType
from typing import Any, Callable, Iterator, TypeVar

import numpy as np


class _Lazy:
    """A module imported at its first attribute access (no library does this for a name alone:
    `importlib.util.LazyLoader` would put a half-made torch into sys.modules for every library)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:  # only for names not in __dict__: every torch name
        module = self.__dict__.get("_module")
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self.__dict__["_name"])
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


torch: ModuleType = _Lazy("torch")  # type: ignore[assignment]
nn: ModuleType = _Lazy("torch.nn")  # type: ignore[assignment]
F: ModuleType = _Lazy("torch.nn.functional")  # type: ignore[assignment]


class Network:
    """The base of a method's network: written like a `torch.nn.Module` subclass (`__init__`
    calling `super().__init__()`, `forward`), it is one when built. The class statement needs no
    torch; the first instance makes (once) the subclass `(cls, torch.nn.Module)` and returns an
    instance of it, so `isinstance(model, cls)` and `isinstance(model, torch.nn.Module)` hold."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        real = _torch_class(cls)
        return super().__new__(real)


N = TypeVar("N", bound=type)


@lru_cache(maxsize=None)
def _torch_class(cls: N) -> N:
    import torch as _torch

    if issubclass(cls, _torch.nn.Module):
        return cls
    return type(cls.__name__, (cls, _torch.nn.Module), {"__module__": cls.__module__,
                                                         "__qualname__": cls.__qualname__,
                                                         "__doc__": cls.__doc__})


@lru_cache(maxsize=None)
def default_threads() -> int:
    """The process's torch thread count (cores, or OMP_NUM_THREADS), read once."""
    return torch.get_num_threads()


@contextlib.contextmanager
def few_threads(n: int = 1) -> Iterator[None]:
    """Run this thread's torch work with at most `n` intra-op threads; the process default after.

    For small models (the methods' scoring, personalization fits): their operations are too
    short to share among threads, and with more threads than free cores each barrier waits for
    a thread the system has set aside (measured: 2-10x slower on 2 busy cores). With OpenMP the
    count belongs to the calling thread, so other threads keep theirs; the exit restores the
    process default, never a value read on entry (a thread born inside another thread's block
    would read 1 and keep it). Threads that must not inherit a small count set `default_threads()`
    themselves (`trainer.loop.fit`).
    """
    default = default_threads()
    torch.set_num_threads(max(1, min(n, default)))
    try:
        yield
    finally:
        torch.set_num_threads(default)


def encoder(d_model: int, heads: int, d_inner: int, layers: int, dropout: float = 0.0) -> nn.TransformerEncoder:
    """A stack of standard (post-norm, ReLU) Transformer encoder layers, batch first."""
    layer = nn.TransformerEncoderLayer(d_model, heads, d_inner, dropout, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def frame_scorer(dim: int, d_model: int, heads: int, d_inner: int, layers: int,
                 dropout: float = 0.0) -> tuple[nn.Linear, nn.TransformerEncoder, nn.Linear]:
    """(proj, encoder, head): Linear to `d_model` -> Transformer encoder -> Linear to one logit
    per frame (CSUM's g, ViSP's summarizer); a model keeps them as attributes of its own, so
    that its checkpoints keep their names. See `frame_logits`."""
    return nn.Linear(dim, d_model), encoder(d_model, heads, d_inner, layers, dropout), nn.Linear(d_model, 1)


def frame_logits(proj: nn.Module, enc: nn.Module, head: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(B, T, D) -> (B, T) float32 logits of a `frame_scorer`."""
    return head(enc(proj(x))).squeeze(-1).float()


def unit(x: torch.Tensor) -> torch.Tensor:
    """L2-normalize the last dimension."""
    return F.normalize(x, dim=-1, eps=1e-12)


@contextlib.contextmanager
def full_precision(x: torch.Tensor) -> Iterator[None]:
    """Turn autocast off: exp/log losses and their distances are computed in float32."""
    with torch.autocast(x.device.type, enabled=False):
        yield


def sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distances of unit vectors, ||a - b||^2 = 2 - 2 a.b, batched over leading dims."""
    return (2.0 - 2.0 * a @ b.transpose(-1, -2)).clamp_min(0.0)


def masked_logmeanexp(v: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(mean of exp(v) over the masked entries); 0 where no entry is masked in."""
    count = mask.sum(dim)
    lse = torch.logsumexp(v.masked_fill(~mask, float("-inf")), dim)
    return torch.where(count > 0, lse - count.clamp_min(1).log(), torch.zeros_like(lse))


def scale_rows(x: torch.Tensor, dim: int = -1) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale each row to [0, 1] along `dim` (a training target); returns (scaled, ok), ok False for
    a constant row (unlike `methods.minmax`, which makes a constant video's scores ones)."""
    lo = x.amin(dim, keepdim=True)
    hi = x.amax(dim, keepdim=True)
    span = hi - lo
    ok = span > 1e-6
    return (x - lo) / span.clamp_min(1e-6), ok.squeeze(dim)


A = TypeVar("A")  # a torch tensor or a numpy array


def grouped(fn: Callable[[A], A], x: A, window: int) -> A:
    """Apply a sequence model `fn` ((1, L, D) -> (1, L, ...)) to (T, D) at inference (torch
    tensors or numpy arrays alike).

    Training sees `window` samples spread over the whole video, so a long video is cut into
    interleaved groups (every g-th sample, g = ceil(T / window)) that each span the whole
    video like a training window; a short one is run as it is.
    """
    t = len(x)
    if t <= window:
        return fn(x[None])[0]
    g = math.ceil(t / window)
    out = None
    for r in range(g):
        part = fn(x[r::g][None])[0]
        if out is None:
            shape = (t, *part.shape[1:])
            out = np.empty(shape, part.dtype) if isinstance(part, np.ndarray) else part.new_empty(shape)
        out[r::g] = part
    return out
