"""Networks run by ONNX Runtime: a torch module exported once into the user cache folder,
checked against torch, then run by later processes without importing torch.

Used by the backbone (`backbones.base`) and by the trained methods (`methods.trained`).
`VSUMGUI_RUNTIME=torch` runs every network with torch instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from vsumgui.core.atomic import atomic_path
from vsumgui.core.errors import VsumError

if TYPE_CHECKING:
    import onnxruntime
    import torch

NAMES = ("onnx", "torch")
OPSET = 17
DYNAMO_OPSET = 18  # the dynamo exporter's lowest


def wanted() -> str:
    """The runtime asked for by VSUMGUI_RUNTIME ("onnx" by default)."""
    want = os.environ.get("VSUMGUI_RUNTIME", "").lower() or "onnx"
    if want not in NAMES:
        raise VsumError(f"VSUMGUI_RUNTIME must be one of {', '.join(NAMES)}, not {want!r}")
    return want


def export(model: "torch.nn.Module", probes: Sequence[np.ndarray], path: Path, dynamic: dict[int, str],
           tolerance: float, dynamo: bool = False) -> None:
    """Export `model` (one array in, one out) to `path` atomically, keeping it only when ONNX
    Runtime gives torch's output on every probe within `tolerance` (relative to the largest
    |output|); RuntimeError otherwise. `dynamic`: the input's and output's axes of free length
    (the probes should differ along them: a length the graph has fixed fails on the others).

    `dynamo`: torch.export's exporter, which keeps a sequence length free through
    `nn.MultiheadAttention` (the TorchScript one fixes it at the probe's length); slower (seconds
    a network) and needing `onnxscript`, so the backbone keeps the TorchScript one."""
    import onnxruntime as ort
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    first = torch.from_numpy(probes[0])
    with atomic_path(path) as tmp, warnings.catch_warnings(), _quiet("torch.onnx", "torch.export"):
        warnings.simplefilter("ignore")  # the exporter's notes (constant folding, ...) are not for users
        with torch.no_grad():
            if dynamo:
                torch.onnx.export(model, (first,), str(tmp), input_names=["x"], output_names=["y"],
                                  dynamic_shapes=(dict(dynamic),), opset_version=DYNAMO_OPSET, dynamo=True,
                                  external_data=False, verbose=False)  # one file: renamed into place whole
            else:
                torch.onnx.export(model, (first,), str(tmp), input_names=["x"], output_names=["y"],
                                  dynamic_axes={"x": dynamic, "y": dynamic}, opset_version=OPSET, dynamo=False)
        check = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        for probe in probes:
            with torch.inference_mode():
                want = model(torch.from_numpy(probe)).numpy()
            try:
                got = check.run(None, {"x": probe})[0]
            except Exception as e:  # noqa: BLE001 - a shape the graph fixed: not kept
                raise RuntimeError(f"the ONNX graph fails on input {probe.shape} ({type(e).__name__})") from e
            err = float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-12)) \
                if got.shape == want.shape else float("inf")
            if not err <= tolerance:
                raise RuntimeError(f"the ONNX graph differs from torch on input {probe.shape} "
                                   f"(relative error {err:.2e})")


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Loggers set to errors only for a while (the dynamo exporter warns about torchvision)."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def session(path: Path, threads: int, providers: Sequence[str] = ("CPUExecutionProvider",),
            rebuild: Callable[[], None] | None = None) -> "onnxruntime.InferenceSession":
    """An inference session on `path` with `threads` intra-op threads that sleep when idle (spinning
    ones would take CPU from the decoding threads). A file that does not load is rebuilt once by
    `rebuild` (a damaged cache); without one the error is raised."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=list(providers))
    except Exception:
        if rebuild is None:
            raise
        with contextlib.suppress(OSError):
            os.unlink(path)
        rebuild()
        return ort.InferenceSession(str(path), opts, providers=list(providers))


def runner(s: "onnxruntime.InferenceSession") -> Callable[[np.ndarray], np.ndarray]:
    """The session as a function of its one input (thread-safe: ONNX Runtime runs calls concurrently)."""
    name = s.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return s.run(None, {name: x})[0]

    return run
