"""Scoring methods. Every module in this package registers one method; adding a method
is adding a file. The modules are imported at the first look-up (`names`, `create`,
`method_class`), not with the package: they import torch."""

from __future__ import annotations

from vsumgui.core.methods.base import Method, MethodScores, create, method_class, minmax, names, register

__all__ = ["Method", "MethodScores", "create", "method_class", "minmax", "names", "register"]
