"""Results derived from cached features (shots, method scores), cached beside them.

Re-opening a summarized video then costs a small file read instead of shot segmentation
and scoring (seconds for an hour of video: CTVSUM compares every sample with every other,
and a trained method first loads torch and its checkpoint).
An entry is named by the feature cache entry it came from and a tag of everything else it
depends on (the source code that computed it, its settings, a checkpoint's content), and it holds a
fingerprint of the features, so a changed method, shot rule or feature never gets a stale
result. Writing is best effort: a failure only costs the recomputation next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
from functools import lru_cache
from pathlib import Path

import numpy as np

from vsumgui.core import paths
from vsumgui.core.atomic import atomic_path
from vsumgui.core.errors import VsumError


def folder() -> Path:
    return paths.cache_dir() / "derived"


@lru_cache(maxsize=None)
def _module_bytes(name: str) -> bytes:
    try:  # found, not imported: hashing a module's code must not cost its imports (torch)
        spec = importlib.util.find_spec(name)
        return Path(spec.origin if spec and spec.origin else "").read_bytes()
    except (OSError, TypeError, ImportError, ValueError):  # no source beside the program (a frozen build)
        try:
            from importlib.metadata import version

            return f"{name}|{version('vsumgui')}".encode()
        except Exception:
            return f"{name}|unknown".encode()


def source(obj: object) -> bytes:
    """The source file of the module that defines `obj` (a class, function or module, or a
    module's dotted name)."""
    if isinstance(obj, str):
        return _module_bytes(obj)
    return _module_bytes(obj.__name__ if inspect.ismodule(obj) else obj.__module__)


def tag(*parts: str | bytes) -> str:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()


def fingerprint(features: np.ndarray) -> str:
    """A cheap hash of the features: the shape and 64 spread rows (any recomputation differs)."""
    rows = features[:: max(1, len(features) // 64)]
    return tag(str(features.shape), np.ascontiguousarray(rows).tobytes())


def _path(feats, what: str, key: str) -> Path | None:
    if not feats.key:
        return None
    stem = f"{feats.key}-{feats.backbone}-{feats.sample_rate:g}fps-{feats.sampling}"
    return folder() / f"{stem}-{what}-{key}.npz"


def load(feats, what: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays saved for (feature entry, what, key), or None."""
    path = _path(feats, what, key)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        if str(data.pop("_fingerprint")) != fingerprint(feats.features):
            return None
        return data
    except Exception:  # damaged: recomputed and rewritten
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def save(feats, what: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Save arrays for (feature entry, what, key), replacing older entries of the same `what`."""
    path = _path(feats, what, key)
    if path is None:
        return
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, _fingerprint=np.array(fingerprint(feats.features)), **arrays)
        prefix = path.name[: -len(f"{key}.npz")]
        for old in path.parent.glob(prefix + "*.npz"):
            if old != path and "-" not in old.name[len(prefix):]:  # not another `what` sharing the prefix
                with contextlib.suppress(OSError):
                    old.unlink()
    except (OSError, VsumError):  # a cache, not data: next time it is recomputed
        pass
