"""The base of the methods scored by a trained network: where the checkpoint is found, loading it
(once per process, in a bounded cache), the device, and windowed inference (`frame_scores`).

A method file then holds only its paper: the model (`build_model`), the loss (`loss`), the
per-frame output the scores are made of (`frame_output`) and the documented choices. The
trainer (`trainer/`) needs nothing else.

Scoring runs the network with ONNX Runtime: the first use of a checkpoint exports
`frame_output` of its model to the user cache (`<cache>/models/<method>-<tag>.onnx`, with
the checkpoint's header beside it as JSON), checked against torch; later processes read those
two files and never import torch (issue #20). The tag covers the checkpoint's bytes and the
code of the method, so a retrained checkpoint or a changed method is exported anew. Where the
export fails (or VSUMGUI_RUNTIME=torch), torch runs the model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from vsumgui.core import checkpoints, memo, nn as vnn, paths, runtime
from vsumgui.core.atomic import atomic_path
from vsumgui.core.errors import VsumError
from vsumgui.core.lru import LRU
from vsumgui.core.methods.base import Method, MethodScores
from vsumgui.core.nn import nn, torch

if TYPE_CHECKING:
    import torch as _torch

log = logging.getLogger(__name__)

WINDOW = 200  # samples a network sees at once, in training and at inference (CTVSUM §5.3)
ONNX_FORMAT = 1  # bump when the exported graphs change (inputs, outputs, opset)
TOLERANCE = 1e-4  # largest |onnx - torch| of an exported method, relative to its largest |output|
KEEP_GRAPHS = 4  # exported graphs kept per method (a user's, the demo's, a few recent trainings)


# loaded models by checkpoint file (and the features they score): the GUI summarizes many videos
# with one checkpoint, and every Personalize of ViSP makes a new one
MODELS = LRU(8)


def world() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) when not distributed."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def resolve_device(spec: str) -> tuple["_torch.device", str | None]:
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
        self.run: Callable[[np.ndarray], np.ndarray] | None = None  # the network, loaded on first use
        self.runtime = ""  # what runs it: "onnx" or "torch"
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
        if self.checkpoint is not None:
            self._load(features.shape[1], backbone)
        return self._score(features)

    def _load(self, dim: int, backbone: str | None) -> None:
        """Load the network once (and check that the checkpoint fits these features).

        A checkpoint that was found automatically (user or demo) but fits other features is
        set aside for these features when the method can score without one (CTVSUM falls
        back to its training-free scores); a given one, or a needed one, is an error.
        """
        if self._loaded_for == (backbone, dim):
            return
        st = self.checkpoint.stat() if self.checkpoint.is_file() else None
        key = ((self.name, self.checkpoint_source, str(self.checkpoint.resolve()), st.st_mtime_ns, st.st_size,
                backbone, dim, runtime.wanted()) if st else None)
        got = MODELS.get(key) if key else None
        if got is None:
            got = self._open(dim, backbone)
            if key:
                MODELS.put(key, got)
        self.run, self.runtime, self.header = got
        self._loaded_for = (backbone, dim)

    def _open(self, dim: int, backbone: str | None) -> tuple[Callable | None, str, dict | None]:
        """(run, runtime, header) of the checkpoint: its exported graph when there is one, else the
        checkpoint read by torch (and exported for the next time); (None, "", None) when set aside."""
        # a missing or unreadable checkpoint: checkpoints.load below says so
        graph = self.onnx_path() if runtime.wanted() == "onnx" and self.checkpoint.is_file() else None
        if graph is not None and graph.exists() and graph.with_suffix(".json").exists():
            try:
                header = json.loads(graph.with_suffix(".json").read_text())
                if self._fits(checkpoints.Checkpoint(header, {}, path=self.checkpoint), dim, backbone):
                    run = runtime.runner(runtime.session(graph, 1))
                    with contextlib.suppress(OSError):
                        os.utime(graph)  # recently used: kept when older graphs are removed
                    return run, "onnx", header
                return None, "", None
            except VsumError:
                raise
            except Exception as e:  # a damaged cache entry: made again from the checkpoint
                log.info("%s: cached graph not used (%s)", self.name, e)
        ckpt = checkpoints.load(self.checkpoint)
        if not self._fits(ckpt, dim, backbone):
            return None, "", None
        model = self.build_model(ckpt.dim, {**self.hparams, **ckpt.hparams})
        try:
            model.load_state_dict(ckpt.model)
        except RuntimeError as e:
            raise VsumError(f"{self.checkpoint}: weights do not fit the {self.name} model "
                            f"({str(e).splitlines()[0]})") from e
        model = model.to(resolve_device(self.device)[0]).eval()
        failed = graph.with_suffix(".failed") if graph is not None else None
        tried = f"torch {torch.__version__}: "  # another torch may export what this one could not
        if graph is not None and not _starts(failed, tried):
            try:
                self.export_onnx(model, ckpt.header, graph)
                return runtime.runner(runtime.session(graph, 1)), "onnx", ckpt.header
            except Exception as e:  # an operation the exporter lacks (a user's method): torch runs it
                log.info("%s: not exported to ONNX (%s); running torch", self.name, e)
                # not a full disk, an unwritable cache or a missing package: later processes do not try again
                if not isinstance(e, (OSError, ImportError, VsumError)):
                    with contextlib.suppress(OSError, VsumError), atomic_path(failed) as tmp:
                        tmp.write_text(f"{tried}{type(e).__name__}: {e}\n")
        return self._torch_runner(model, threads=1), "torch", ckpt.header

    def _fits(self, ckpt: checkpoints.Checkpoint, dim: int, backbone: str | None) -> bool:
        """Whether the checkpoint scores these features (False: set aside, see `_load`)."""
        ckpt.check(method=self.name)
        try:
            ckpt.check(backbone=backbone, dim=dim)
        except VsumError:
            if self.checkpoint_source in ("user", "demo") and not self.needs_checkpoint:
                return False
            raise
        return True

    def onnx_path(self) -> Path:
        """Where the checkpoint's exported graph is cached (its header beside it, as .json)."""
        tag = memo.tag(self.name, self.checkpoint.read_bytes(), memo.source(type(self)), memo.source(vnn),
                       memo.source(__name__), str(ONNX_FORMAT))
        return paths.cache_dir() / "models" / f"{self.name}-{tag}.onnx"

    @classmethod
    def export_onnx(cls, model: "_torch.nn.Module", header: dict[str, Any], path: Path) -> None:
        """Export `frame_output` of `model` (a free window length) and the header beside it."""
        class Output(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, x: "_torch.Tensor") -> "_torch.Tensor":
                return cls.frame_output(self.model, x)

        rng = np.random.default_rng(0)
        probes = [rng.standard_normal((1, n, int(header["dim"]))).astype(np.float32) for n in (37, 1, 200)]
        runtime.export(Output().eval(), probes, path, {1: "length"}, TOLERANCE, dynamo=True)
        with atomic_path(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(header, sort_keys=True))
        # the graphs of older checkpoints (every training run makes one): the recently used stay
        graphs = sorted(path.parent.glob(f"{cls.name}-*.onnx"), key=_mtime, reverse=True)
        for old in graphs[KEEP_GRAPHS:]:
            for f in (old, old.with_suffix(".json"), old.with_suffix(".failed")):
                with contextlib.suppress(OSError):
                    f.unlink()

    @classmethod
    def _torch_runner(cls, model: "_torch.nn.Module", threads: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
        """`frame_output` of a torch model as a function of numpy windows; with `threads`, run with
        at most that many torch threads (see `vnn.few_threads`), else with the caller's."""
        device = next(model.parameters()).device

        def run(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return cls.frame_output(model, torch.from_numpy(x).to(device)).float().cpu().numpy()

        if threads is None:
            return run

        def few(x: np.ndarray) -> np.ndarray:
            with vnn.few_threads(threads):
                return run(x)

        return few

    def infer(self, features: np.ndarray) -> np.ndarray:
        """(T, ...) float64 output of the loaded network on (T, D) features, in interleaved groups
        of at most `window` samples that span the whole video, like its training windows
        (core/nn.grouped)."""
        return vnn.grouped(self.run, np.ascontiguousarray(features, np.float32), self.window).astype(np.float64)

    def _score(self, features: np.ndarray) -> MethodScores:
        return MethodScores(self.infer(features))

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
        """(T,) scores of (T, D) features by a torch model (a personalized one, or in training),
        windowed as at inference (`infer`)."""
        return vnn.grouped(cls._torch_runner(model), np.asarray(features, np.float32), window).astype(np.float64)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile (another process pruned it)
        return 0.0


def _starts(path: Path, text: str) -> bool:
    """Whether the file exists and begins with `text`."""
    try:
        return path.read_text().startswith(text)
    except (OSError, UnicodeDecodeError):
        return False
