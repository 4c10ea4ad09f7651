"""Shared fixtures: real sample videos, an isolated cache, one summary of the sample per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The TVSum/SumMe annotations and splits: beside the checkout, or where $VSUMGUI_TEST_DATA says.
SHARED = Path(os.environ.get("VSUMGUI_TEST_DATA") or ROOT.parent / "shared" / "data")
SAMPLE = ROOT / "resources" / "sample" / "big_buck_bunny_0_30.webm"
MEDIA = ROOT / "tests" / "data" / "videos"  # the sample videos, in the repository (tests/data/README.md)
VIDEOS = sorted(MEDIA.glob("*"))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True, scope="session")
def _isolated_dirs(tmp_path_factory):
    """Cache, data and settings of the app go to a temporary folder, never the user's."""
    base = tmp_path_factory.mktemp("vsumgui-home")
    old = {k: os.environ.get(k) for k in ("VSUMGUI_CACHE_DIR", "VSUMGUI_DATA_DIR", "XDG_CONFIG_HOME")}
    os.environ["VSUMGUI_CACHE_DIR"] = str(base / "cache")
    os.environ["VSUMGUI_DATA_DIR"] = str(base / "data")
    os.environ["XDG_CONFIG_HOME"] = str(base / "config")
    yield base
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _default_settings():
    """Every test starts from the window's default settings: a test that moves the ratio slider
    (saved in QSettings, under the session's config folder) must not change the next test's."""
    yield
    mod = sys.modules.get("vsumgui.ui.settings")
    if mod is not None:
        mod.settings().clear()


@pytest.fixture(scope="session")
def sample_video() -> Path:
    assert SAMPLE.exists(), "the bundled sample video is missing from resources/"
    return SAMPLE


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """The folder of real sample videos kept in the repository (CC0 / CC-BY)."""
    assert len(VIDEOS) >= 3, f"{MEDIA} should hold the three sample videos"
    return MEDIA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The TVSum/SumMe annotations: skipped where they are missing, unless VSUMGUI_REQUIRE_DATA=1
    (.ci/run sets it where the folder is present, so that no such test is skipped there)."""
    if not (SHARED / "tvsum").exists():
        if os.environ.get("VSUMGUI_REQUIRE_DATA") == "1":
            pytest.fail(f"{SHARED} is missing but VSUMGUI_REQUIRE_DATA=1")
        pytest.skip(f"TVSum/SumMe annotations not found at {SHARED} (set VSUMGUI_TEST_DATA)")
    return SHARED


@pytest.fixture(scope="session")
def sample_summary(sample_video, _isolated_dirs):
    """The sample summarized once with the default options (features cached for later tests)."""
    from vsumgui.core.pipeline import summarize

    return summarize(sample_video)


def shown_window(qtbot):
    """A MainWindow shown for one test; closed afterwards, and its job threads waited for."""
    from vsumgui.ui import jobs
    from vsumgui.ui.window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    qtbot.waitUntil(lambda: jobs.running() == 0, timeout=60_000)


@pytest.fixture
def window(qtbot):
    yield from shown_window(qtbot)
