"""User folders (platformdirs), overridable by environment for tests and portable setups."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "vsumgui"


def cache_dir() -> Path:
    """Rebuildable data (feature cache). VSUMGUI_CACHE_DIR overrides."""
    return Path(os.environ.get("VSUMGUI_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def data_dir() -> Path:
    """Data the user made (labels, checkpoints, profiles). VSUMGUI_DATA_DIR overrides."""
    return Path(os.environ.get("VSUMGUI_DATA_DIR") or platformdirs.user_data_dir(APP))


def checkpoints_dir() -> Path:
    return data_dir() / "checkpoints"


def resources_dir() -> Path:
    """Bundled resources (sample video, demo checkpoints): `resources/` beside the package in a
    checkout or editable install. VSUMGUI_RESOURCES_DIR overrides."""
    env = os.environ.get("VSUMGUI_RESOURCES_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "resources"
