"""Issue 10, reliability: awkward inputs built here with the bundled ffmpeg, faults (full disk,
damaged caches and checkpoints, kill -9, read-only folders) and security (no shell, no unpickling).

Every awkward input goes through the CLI and the window: each gives a correct summary, or one
clear sentence (CLI: exit 1 and one line; window: one message box), never a traceback or a hang.
"""

from __future__ import annotations

import ast
import errno
import json
import math
import os
import pathlib
import pickle
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import h5py
import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from conftest import ROOT
from test_export import _release, _unwritable
from vsumgui.cli import main
from vsumgui.core import checkpoints, export, features, methods, paths
from vsumgui.core.errors import VsumError
from vsumgui.core.pipeline import Options, summarize
from vsumgui.core.video import iter_keyframes, iter_samples, read_frame
from vsumgui.ui import worker as workers
from vsumgui.ui.style import fmt_time
from vsumgui.ui.window import MainWindow

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SRC = "testsrc2=size=320x240:rate=25"  # a moving test pattern: cheap to make and to encode
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def ffmpeg(*args: object) -> None:
    """Run the bundled ffmpeg with an argument list (never a shell)."""
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *map(str, args)],
                   check=True, capture_output=True, timeout=120)


def mkv_with_duration(src: Path, dst: Path, seconds: float) -> Path:
    """A copy of a Matroska file whose header states another duration: the 8-byte float of the
    Segment Info Duration element (ID 0x4489, size 0x88) is rewritten, everything else is real."""
    data = src.read_bytes()
    at = data.find(b"\x44\x89\x88")
    assert at > 0, "no Duration element in the Matroska header"
    scale = 1e-3  # the muxer's default TimestampScale is 1 ms
    dst.write_bytes(data[:at + 3] + struct.pack(">d", seconds / scale) + data[at + 11:])
    return dst


class Media:
    """The awkward inputs, each built on first use in one folder for the whole session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[str, Path] = {}
        self.copies = 0

    def get(self, case: str) -> Path:
        if case == "deleted":  # consumed by its test: a fresh copy with unique content each time
            self.copies += 1
            dst = self.root / f"deleted-{self.copies}.mp4"
            dst.write_bytes(self.get("plain").read_bytes() + os.urandom(64))  # a new cache key
            return dst
        if case not in self.made:
            self.made[case] = getattr(self, "_" + case.replace("-", "_"))(self.root)
        return self.made[case]

    @staticmethod
    def _plain(d: Path) -> Path:
        p = d / "plain.mp4"
        ffmpeg("-f", "lavfi", "-i", f"{SRC}:duration=6", "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
               *H264, "-c:a", "aac", "-shortest", p)
        return p

    @staticmethod
    def _audio_only(d: Path) -> Path:
        p = d / "audio only.m4a"
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac", p)
        return p

    @staticmethod
    def _one_frame(d: Path) -> Path:
        p = d / "one frame.mp4"
        ffmpeg("-f", "lavfi", "-i", SRC, "-frames:v", "1", *H264, p)
        return p

    @staticmethod
    def _short(d: Path) -> Path:
        p = d / "short.mp4"
        ffmpeg("-f", "lavfi", "-i", f"{SRC}:duration=1.2", "-f", "lavfi", "-i", "sine=duration=1.2",
               *H264, "-c:a", "aac", "-shortest", p)
        return p

    @staticmethod
    def _4k(d: Path) -> Path:
        p = d / "uhd.mp4"  # a small pattern scaled up: real 3840x2160 H.264, quick to encode
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=480x270:rate=25:duration=2,scale=3840:2160:flags=neighbor",
               *H264, "-crf", "45", p)
        return p

    @staticmethod
    def _landscape(d: Path) -> Path:
        p = d / "landscape.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3", *H264, p)
        return p

    def _rotated(self, d: Path) -> Path:
        # what a phone held upright writes: landscape pixels plus a display matrix saying
        # "turn 90 degrees clockwise" (ffmpeg's -display_rotation is counter-clockwise)
        p = d / "phone portrait.mp4"
        ffmpeg("-display_rotation", "270", "-i", self.get("landscape"), "-c", "copy", p)
        return p

    @staticmethod
    def _vfr(d: Path) -> Path:
        # 50 frames at 50 fps (1 s), then 30 frames at 10 fps (3 s): 80 frames over 3.92 s
        p = d / "vfr.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=50",
               "-vf", "setpts='if(lt(N,50),N*0.02,1+(N-50)*0.1)/TB'", "-frames:v", "80", "-fps_mode", "vfr",
               *H264, p)
        return p

    @staticmethod
    def _mkv(d: Path) -> Path:
        p = d / "four seconds.mkv"
        ffmpeg("-f", "lavfi", "-i", f"{SRC}:duration=4", *H264, p)
        return p

    def _header_too_long(self, d: Path) -> Path:
        return mkv_with_duration(self.get("mkv"), d / "header says 40 s.mkv", 40.0)

    def _header_too_short(self, d: Path) -> Path:
        return mkv_with_duration(self.get("mkv"), d / "header says 0.4 s.mkv", 0.4)

    @staticmethod
    def _concatenated_ts(d: Path) -> Path:
        # `cat a.ts a.ts`: a real way to join recordings; the timestamps start over midway and
        # the stated length (from the first and last timestamps) is half the real one
        part = d / "part.ts"
        ffmpeg("-f", "lavfi", "-i", f"{SRC}:duration=3", *H264, "-f", "mpegts", part)
        p = d / "joined.ts"
        p.write_bytes(part.read_bytes() * 2)
        return p

    @staticmethod
    def _unicode_path(d: Path) -> Path:
        folder = d / "my videos" / "été 2024 (copy)"
        folder.mkdir(parents=True)
        p = folder / "vidéo été 日本 #1.mp4"
        ffmpeg("-f", "lavfi", "-i", f"{SRC}:duration=2.4", *H264, p)
        return p


@dataclass(frozen=True)
class Expect:
    """What a case must give: a summary of this video, or this error."""

    duration: float = 0.0
    n_frames: int = 0
    size: tuple[int, int] = (320, 240)
    rotation: int = 0
    error: str = ""


CASES = {
    "audio-only": Expect(error="has no video stream (audio only)"),
    "one-frame": Expect(0.04, 1),
    "short": Expect(1.2, 30),
    "4k": Expect(2.0, 50, (3840, 2160)),
    "rotated": Expect(3.0, 75, (180, 320), 90),
    "vfr": Expect(3.92, 80),
    "header-too-long": Expect(4.0, 100),
    "header-too-short": Expect(4.0, 100),
    "concatenated-ts": Expect(6.0, 150),
    "unicode-path": Expect(2.4, 60),
    "deleted": Expect(6.0, 150),
}


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    return Media(tmp_path_factory.mktemp("awkward"))


def cache_files() -> set[Path]:
    return set(paths.cache_dir().rglob("*")) if paths.cache_dir().exists() else set()


def check_summary(doc: dict, want: Expect) -> None:
    """The JSON contract holds for this video: its real length and frames, samples over all of it
    by media time, shots covering [0, duration], scores for every sample, a budget kept."""
    v = doc["video"]
    d = v["duration"]
    assert d == pytest.approx(want.duration, abs=0.05)
    assert v["n_frames"] == want.n_frames
    assert (v["width"], v["height"]) == want.size and v["rotation"] == want.rotation
    t = np.asarray(doc["times"])
    assert t[0] == 0.0 and np.all(np.diff(t) > 0) and t[-1] < d
    assert len(t) == math.ceil(d * doc["sample_rate"] - 1e-6)  # sampled to the end, not to a header's figure
    shots = np.asarray(doc["shots"])
    assert len(shots) >= 1 and shots[0, 0] == 0.0 and shots[-1, 1] == pytest.approx(d)
    assert np.all(shots[:, 1] > shots[:, 0]) and np.allclose(shots[1:, 0], shots[:-1, 1])
    assert doc["methods"]
    for m in doc["methods"].values():
        assert len(m["scores"]) == len(t) and np.isfinite(m["scores"]).all()
    sel = doc["selection"]
    segs = np.asarray(sel["segments"]).reshape(-1, 2)
    assert np.all(segs >= 0) and np.all(segs <= d + 1e-6)
    assert (segs[:, 1] - segs[:, 0]).sum() <= sel["ratio"] * d + 1e-6


def deleting(path: Path, progress=None):
    """A progress callback that deletes `path` once decoding is under way."""
    def cb(stage: str, frac: float) -> None:
        if stage == "decoding" and frac > 0 and path.exists():
            path.unlink()
        if progress:
            progress(stage, frac)
    return cb


# --- inputs through the CLI -----------------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(CASES))
def test_cli_awkward_input(case, media, tmp_path, capsys, monkeypatch):
    want = CASES[case]
    path = media.get(case)
    out = tmp_path / "résumé 概要.json"  # the output path is awkward too
    args = ["summarize", str(path), "--json", str(out)]
    if case == "deleted":  # deleted from the progress callback (the decoding thread), mid-decode
        monkeypatch.setattr("vsumgui.cli.ProgressBar", lambda: deleting(path))
    else:
        args.append("-q")
    before = cache_files()
    code = main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if want.error:
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1
        assert lines[0] == f"vsumgui: error: {path}: {want.error}"
        assert not out.exists() and cache_files() == before
        return
    assert code == 0 and err == ""
    check_summary(json.loads(out.read_text(encoding="utf-8")), want)
    if case == "deleted":
        assert not path.exists()  # it really went away while the decoder was reading it


def test_vfr_samples_follow_timestamps(media):
    """Frames are kept by media time: 2 per second in the 50 fps second and in the 10 fps rest."""
    path = media.get("vfr")
    kept = [(s.index, round(s.time, 3)) for s in iter_samples(path, 2.0, (32, 32))]
    # frame n is at n * 0.02 s for n < 50, then at 1 + (n - 50) * 0.1 s
    assert kept == [(0, 0.0), (25, 0.5), (50, 1.0), (55, 1.5), (60, 2.0), (65, 2.5), (70, 3.0), (75, 3.5)]


def test_rotated_frames_are_upright_in_both_samplers(media):
    """The phone video's frames are the landscape pixels turned 90 degrees clockwise, in the full
    and in the fast (keyframes) sampler alike."""
    land, rot = read_frame(media.get("landscape"), 1.0), read_frame(media.get("rotated"), 1.0)
    assert land.shape == (180, 320, 3) and rot.shape == (320, 180, 3)
    assert np.abs(cv2.rotate(land, cv2.ROTATE_90_CLOCKWISE).astype(int) - rot).mean() < 1.0
    full = next(iter_samples(media.get("rotated"), 2.0)).rgb
    fast = next(iter_keyframes(media.get("rotated"), 2.0)).rgb
    assert full.shape == fast.shape == (320, 180, 3)
    assert np.abs(full.astype(int) - fast).mean() < 3.0


# --- inputs through the window --------------------------------------------------------------
@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=60_000)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", list(CASES))
def test_gui_awkward_input(case, media, window, qtbot, monkeypatch):
    want = CASES[case]
    path = media.get(case)
    if case == "deleted":
        real = workers.summarize
        monkeypatch.setattr(workers, "summarize", lambda p, o, progress, cancel: real(
            p, o, deleting(path, progress), cancel))
    if want.error:
        assert not window.open_video(path)
        assert window.last_message.text() == f"Cannot open {path.name}: {want.error}."
        assert window.path is None and not window.run_panel.summarize_button.isEnabled()
        return
    assert window.open_video(path) and window.last_message is None
    qtbot.mouseClick(window.run_panel.summarize_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.summary is not None or window.last_message is not None, timeout=150_000)
    assert window.last_message is None, window.last_message.text()
    s = window.summary
    assert s.video.duration == pytest.approx(want.duration, abs=0.05) and s.video.n_frames == want.n_frames
    for name, curve in window.curves.curves.items():
        x, _ = curve.getData()
        np.testing.assert_allclose(x, s.times)
    assert set(window.curves.curves) == set(s.scores)
    assert len(window.timeline.shot_secs) == len(s.shot_secs) >= 1
    # the status line and the preview show the real length, not a header's figure
    w, h = want.size
    assert window.status_info.text().startswith(f"{fmt_time(s.video.duration)} · {w}×{h}")
    assert window.preview.slider.maximum() == int(s.video.duration * 1000)
    if case == "rotated":  # the preview shows the phone video upright
        qtbot.waitUntil(lambda: window.preview.frame_view.image is not None, timeout=30_000)
        img = window.preview.frame_view.image
        assert img.height() > img.width()


@pytest.mark.timeout(120)
def test_gui_file_deleted_after_opening(media, window, qtbot):
    path = media.get("deleted")
    assert window.open_video(path)
    path.unlink()
    with qtbot.waitSignal(window.messageShown, timeout=60_000):
        window.summarize()
    assert window.last_message.text() == f"{path}: no such file"
    qtbot.waitUntil(lambda: window.worker is None, timeout=30_000)
    assert window.run_panel.summarize_button.isEnabled()
