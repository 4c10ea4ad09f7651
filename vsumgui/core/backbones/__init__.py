"""Frame-feature backbones: one base class, one file each, registered by name."""

from __future__ import annotations

import importlib
import pkgutil

from vsumgui.core.backbones.base import Backbone, get, names, register

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")

DEFAULT = "efficientnet-lite0"

__all__ = ["Backbone", "DEFAULT", "get", "names", "register"]
