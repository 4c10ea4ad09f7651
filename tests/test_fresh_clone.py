"""A clone alone passes the tests: the sample videos are in the repository, and the tests that
need the TVSum/SumMe annotations skip where they are missing, unless CI requires them."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import MEDIA, ROOT, VIDEOS


def test_sample_videos_are_in_the_repository():
    tracked = subprocess.run(["git", "ls-files", "tests/data/videos"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert sorted(tracked) == sorted(f"tests/data/videos/{v.name}" for v in VIDEOS) and len(VIDEOS) >= 3
    for v in VIDEOS:
        assert (MEDIA / v.name).resolve().stat().st_size > 100_000, v  # a link resolves to the real file


def _run_annotation_test(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VSUMGUI_TEST_DATA", "VSUMGUI_REQUIRE"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           "tests/test_evaluate.py::test_split_files"],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_missing_annotations_skip_with_a_reason(tmp_path):
    r = _run_annotation_test(VSUMGUI_TEST_DATA=str(tmp_path))
    assert r.returncode == 0 and "1 skipped" in r.stdout, r.stdout
    assert f"TVSum/SumMe annotations not found at {tmp_path}" in r.stdout


def test_ci_turns_a_missing_annotation_skip_into_a_failure(tmp_path):
    r = _run_annotation_test(VSUMGUI_TEST_DATA=str(tmp_path), VSUMGUI_REQUIRE_DATA="1")
    assert r.returncode == 1 and "1 error" in r.stdout and "skipped" not in r.stdout.splitlines()[-1], r.stdout
    assert "VSUMGUI_REQUIRE_DATA=1" in r.stdout
