"""Types and ranges of the trainable methods' hyper-parameters (`--hp KEY=VALUE`).

Each key has one rule, whichever method uses it; a key with no rule of its own (a new method's)
must still be a finite number. `check` is what the trainer calls before any work, so the CLI and
an API user get the same sentence (a VsumError from `parse`, a ValueError from `check`).
"""

from __future__ import annotations

from typing import Any

from vsumgui.core.errors import VsumError, in_range, number_rule

# key: (lo, hi, lo_open, hi_open, integer); our choice of bounds where the papers are silent:
# wide enough for any sensible run, narrow enough that no value can hang or blow up the trainer
RULES: dict[str, tuple[float | None, float | None, bool, bool, bool]] = {
    "lr": (0, 1, True, False, False),
    "weight_decay": (0, 1, False, False, False),
    "dropout": (0, 1, False, True, False),
    "tau": (0, 100, True, False, False),
    "heads": (1, 256, False, False, True),
    "layers": (1, 64, False, False, True),
    "filter_layers": (1, 64, False, False, True),
    "d_model": (1, 16384, False, False, True),
    "d_inner": (1, 65536, False, False, True),
    "width": (1, 65536, False, False, True),
    "proj_hidden": (1, 65536, False, False, True),
    "proj_dim": (1, 65536, False, False, True),
    "window": (2, 100_000, False, False, True),
    "n": (1, 10_000, False, False, True),
    "segment": (1, 100_000, False, False, True),
    "ratio": (0, 1, True, False, False),
    "a": (0, 1, True, False, False),
    "stage1": (0, 1, False, False, False),
    "mask_min": (0, 1, False, True, False),
    "mask_max": (0, 1, True, True, False),
    "sinkhorn_scaling": (0, 1, True, True, False),
    "sinkhorn_blur": (0, 100, True, False, False),
}
NONNEG = (0, 1e6, False, False, False)  # loss weights and the like (alpha, beta, lambda1, nu, ...)


def rule(key: str, default: Any) -> tuple[float | None, float | None, bool, bool, bool]:
    if key in RULES:
        return RULES[key]
    lo, hi, lo_open, hi_open, _ = NONNEG
    return lo, hi, lo_open, hi_open, isinstance(default, int)


def describe(key: str, default: Any) -> str:
    """The allowed values in words."""
    if isinstance(default, bool):
        return "true or false"
    return number_rule(*rule(key, default))


def parse(key: str, text: str, default: Any) -> Any:
    """A `--hp` value as the default's type; VsumError naming the key and the allowed values."""
    if isinstance(default, bool):
        low = str(text).strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise VsumError(f"--hp {key}={text}: must be {describe(key, default)}")
    integer = rule(key, default)[4]
    try:
        value: Any = int(text) if integer else float(text)
    except (TypeError, ValueError):
        raise VsumError(f"--hp {key}={text}: must be {describe(key, default)}") from None
    if not in_range(value, *rule(key, default)):
        raise VsumError(f"--hp {key}={text}: must be {describe(key, default)}")
    return value


def check(hp: dict[str, Any]) -> None:
    """Raise ValueError unless every value is in its range and they agree with each other."""
    for key, value in hp.items():
        if isinstance(value, bool):
            continue
        if not in_range(value, *rule(key, value)):
            raise ValueError(f"hyper-parameter {key}: must be {describe(key, value)}, not {value!r}")
    width = hp.get("d_model")
    if "heads" in hp and width is not None and int(width) % int(hp["heads"]):
        raise ValueError(f"hyper-parameter heads: must divide d_model ({width}), not {hp['heads']!r}")
    if "mask_min" in hp and "mask_max" in hp and hp["mask_min"] > hp["mask_max"]:
        raise ValueError(f"hyper-parameter mask_min: must be at most mask_max ({hp['mask_max']}), "
                         f"not {hp['mask_min']!r}")
