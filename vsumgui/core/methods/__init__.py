"""Scoring methods. Every module in this package registers one method; adding a method
is adding a file."""

from __future__ import annotations

import importlib
import pkgutil

from vsumgui.core.methods.base import Method, MethodScores, create, method_class, minmax, names, register

for _mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _mod.name not in ("base", "trained"):  # the bases: every other module is one method
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["Method", "MethodScores", "create", "method_class", "minmax", "names", "register"]
