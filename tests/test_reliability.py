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
import signal
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
from test_export import _release, _unwritable, listing
from trainer import data as tdata, loop
from trainer.cli import main as train_main
from vsumgui.cli import main
from vsumgui.core import atomic, checkpoints, export, features, methods, paths
from vsumgui.core.errors import VsumError
from vsumgui.core.labels import LabelStore
from vsumgui.core.pipeline import Options, summarize
from vsumgui.core.video import iter_keyframes, iter_samples, read_frame
from vsumgui.ui import worker as workers
from vsumgui.ui.style import fmt_time

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

    def fresh(self) -> Path:
        """A copy of the plain video with content of its own (so nothing of it is cached yet)."""
        self.copies += 1
        dst = self.root / f"copy {self.copies}.mp4"
        dst.write_bytes(self.get("plain").read_bytes() + os.urandom(64))  # trailing bytes: a new cache key
        return dst

    def get(self, case: str) -> Path:
        if case == "deleted":  # consumed by its test
            return self.fresh()
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
    def _raw_h264(d: Path) -> Path:
        # an elementary stream as some cameras and drones write: no container, so no stated
        # length, frame count or timestamps at all
        p = d / "camera.h264"
        ffmpeg("-f", "lavfi", "-i", f"{SRC}:duration=4", *H264, "-f", "h264", p)
        return p

    @staticmethod
    def _named_pipe(d: Path) -> Path:
        p = d / "pipe.mp4"  # nobody writes into it: reading would wait for ever
        os.mkfifo(p)
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
    "raw-h264": Expect(4.0, 100),
    "named-pipe": Expect(error="not a regular file (a pipe or a device)"),
    "unicode-path": Expect(2.4, 60),
    "deleted": Expect(6.0, 150),
}


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Media:
    return Media(tmp_path_factory.mktemp("awkward"))


def cache_files() -> set[Path]:
    return {p for p in paths.cache_dir().rglob("*") if p.is_file()} if paths.cache_dir().exists() else set()


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
    printed, err = capsys.readouterr()
    assert "Traceback" not in err
    if want.error:
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1
        assert lines[0] == f"vsumgui: error: {path}: {want.error}"
        assert not out.exists() and cache_files() == before
        return
    assert code == 0 and err == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    check_summary(doc, want)
    # a very short video can have every shot over the budget: the summary is empty, and says why
    assert ("note: no shot fits in 15%" in printed) == (not doc["selection"]["segments"])
    if case == "deleted":
        assert not path.exists()  # it really went away while the decoder was reading it


def test_an_empty_summary_says_why(tmp_path, capsys, sample_video):
    """A budget below one sample (1 % of 30 s is 0.3 s; every sample lasts 0.5 s): nothing can be
    chosen, and the CLI says why. (The awkward-input cases above check the note against the
    selection; this one makes it empty.)"""
    out = tmp_path / "bunny.json"
    assert main(["summarize", str(sample_video), "--ratio", "0.01", "--method", "random",
                 "--json", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8"))["selection"]["segments"] == []
    assert "note: no shot fits in 1% of 0:30" in printed


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
@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", list(CASES))
def test_gui_awkward_input(case, media, window, qtbot, monkeypatch):
    want = CASES[case]
    path = media.get(case)
    if case == "deleted":
        real = workers.summarize
        monkeypatch.setattr(workers, "summarize", lambda p, o, progress, cancel, *rest: real(
            p, o, deleting(path, progress), cancel, *rest))
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
    if not s.selection.segments:  # nothing fits the budget: exporting says why
        window.show_export()
        assert window.last_message.text() == ("No shot fits in 15% of the video: "
                                              "raise the summary length to choose one.")
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


# --- faults ---------------------------------------------------------------------------------
def full_disk(monkeypatch) -> list[Path]:
    """From now on a write into one of our temporary files (`*.part`, see core.atomic) stores half
    of its data and then fails as a full disk does (OSError ENOSPC). Returns the files it hit."""
    real_open = pathlib.Path.open
    hit: list[Path] = []

    class Full:
        def __init__(self, f) -> None:
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

    def open_(self, mode="r", *a, **kw):
        f = real_open(self, mode, *a, **kw)
        if self.name.endswith(".part") and any(c in mode for c in "wax+"):
            hit.append(self)
            return Full(f)
        return f

    monkeypatch.setattr(pathlib.Path, "open", open_)
    return hit


def one_error_line(err: str, prog: str = "vsumgui") -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def plain_summary(media):
    s = summarize(media.get("plain"))
    s.select(0.5, "knapsack")
    assert len(s.selection.segments) >= 1
    return s


def test_disk_full_during_export_keeps_the_old_files(plain_summary, tmp_path, monkeypatch):
    export.export(plain_summary, tmp_path, ["edl", "json", "csv"])
    before = listing(tmp_path)
    hit = full_disk(monkeypatch)
    with pytest.raises(VsumError, match=r"\.edl: the disk is full$"):
        export.export(plain_summary, tmp_path, ["edl", "json", "csv", "otio"], overwrite=True)
    assert hit  # the simulated disk really refused a write
    assert listing(tmp_path) == before  # the old files untouched, no temporary file left


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) for ffmpeg's real ENOSPC")
def test_disk_full_while_ffmpeg_writes_keeps_the_old_files(plain_summary, tmp_path, monkeypatch):
    from vsumgui.core.export import _media

    export.export(plain_summary, tmp_path, ["clips", "edl"])
    before = listing(tmp_path)
    real = _media.run_ffmpeg
    # ffmpeg writes into /dev/full: every write fails with ENOSPC, as on a full disk
    monkeypatch.setattr(_media, "run_ffmpeg", lambda args, *a, **kw: real([*args[:-1], "/dev/full"], *a, **kw))
    with pytest.raises(VsumError, match=r"segment 1: the disk is full$"):
        export.export(plain_summary, tmp_path, ["clips", "edl", "json"], overwrite=True)
    assert listing(tmp_path) == before


def test_disk_full_during_cache_write(media, tmp_path, monkeypatch, capsys):
    src = media.fresh()
    opts = Options(methods=["uniform-sampling"])
    before = {p: p.stat().st_mtime_ns for p in cache_files()}
    hit = full_disk(monkeypatch)
    # a cache, not data (issue 15): the summary is made without it, and says so in one line
    s = summarize(src, opts)
    assert not s.cache_hit and s.video.duration == pytest.approx(6.0, abs=0.05)
    assert len(s.notes) == 1 and "the feature cache cannot be written" in s.notes[0] and "disk is full" in s.notes[0]
    assert s.to_json()["warnings"] == []  # about this run, not the video
    after = {p: p.stat().st_mtime_ns for p in cache_files() if p.parent.name != "models"}  # the backbone's own file
    assert hit and after == {p: t for p, t in before.items() if p.parent.name != "models"}  # nothing half-written
    monkeypatch.undo()  # space again: it works, and the cache is written
    assert not summarize(src, opts).cache_hit and summarize(src, opts).cache_hit


@pytest.mark.parametrize("damage", ["truncated", "inconsistent"])
def test_damaged_feature_cache_is_rebuilt(damage, media):
    src = media.fresh()
    opts = Options(methods=["uniform-sampling"])
    first = summarize(src, opts)
    cache = features.cache_path(features.content_key(src), "efficientnet-lite0", 2.0)
    if damage == "truncated":  # HDF5 cut short (a crash of another program, a full disk elsewhere)
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    else:  # a readable HDF5 file whose arrays disagree (written by another tool)
        with h5py.File(cache, "r+") as f:
            del f["times"]
            f["times"] = first.times[:-3]
    again = summarize(src, opts)
    assert not again.cache_hit
    np.testing.assert_allclose(again.features.features, first.features.features, atol=1e-4)
    np.testing.assert_array_equal(again.shot_secs, first.shot_secs)
    assert summarize(src, opts).cache_hit


@pytest.fixture(scope="module")
def train_h5(media) -> list[Path]:
    """Feature files of two real videos (our cache files, which the trainer reads with --h5)."""
    out = []
    for case in ("plain", "concatenated-ts"):
        feats, _ = features.ensure(media.get(case))
        out.append(features.cache_path(feats.key, feats.backbone, feats.sample_rate))
    return out


def train_args(h5: list[Path], out: Path, epochs: int, *more: str) -> list[str]:
    return ["pretrain", "--h5", *map(str, h5), "--method", "ctvsum", "--epochs", str(epochs), "--batch-size", "2",
            "--device", "cpu", "--out", str(out), "--hp", "window=64", *more]


def test_disk_full_while_saving_a_checkpoint_keeps_the_last_one(train_h5, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ck.pt"
    assert train_main(train_args(train_h5, out, 1, "-q")) == 0
    before = out.read_bytes()
    hit = full_disk(monkeypatch)
    assert train_main(train_args(train_h5, out, 3, "--resume", "-q")) == 1
    assert one_error_line(capsys.readouterr().err, "vsumgui-train").endswith("ck.pt: the disk is full")
    assert hit and out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
    assert checkpoints.load(out).epoch == 1


@pytest.mark.timeout(240)
def test_kill_9_during_training_then_resume(train_h5, tmp_path, capsys):
    out = tmp_path / "ck.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "trainer", *train_args(train_h5, out, 100_000, "-q")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not out.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        time.sleep(0.3)  # a checkpoint per epoch: killed amid epochs and saves
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    last = checkpoints.load(out)  # what is in place is always a whole checkpoint
    e = last.epoch
    assert 1 <= e < 100_000 and last.optimizer is not None
    capsys.readouterr()
    assert train_main(train_args(train_h5, out, e + 2, "--resume")) == 0
    printed = capsys.readouterr().out
    assert f"epoch {e + 1:>3}/{e + 2}" in printed and f"epoch {e + 2:>3}/{e + 2}" in printed
    assert f"epoch {e:>3}/" not in printed  # resumed after the last complete epoch, none redone
    assert checkpoints.load(out).epoch == e + 2
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # a temporary file the kill left is gone


@pytest.mark.timeout(120)
def test_labels_survive_kill_9_while_writing(tmp_path):
    db = tmp_path / "labels.sqlite"
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from vsumgui.core.labels import LabelStore, KEEP\n"
            f"s = LabelStore({str(db)!r})\n"
            "i = 0\n"
            "while True:\n"
            "    s.set('p', 'v', float(i), i + 1.0, KEEP)\n"
            "    print(i, flush=True)\n"
            "    i += 1\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if int(line) >= 300:
                break
        os.kill(proc.pid, signal.SIGKILL)  # it is writing labels as fast as it can
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    committed = int(line) + 1
    wal = Path(f"{db}-wal")
    assert wal.exists() and wal.stat().st_size > 0  # the kill left un-checkpointed transactions
    with LabelStore(db) as s:
        assert s.recovered_from is None
        assert s.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        got = [lb.start for lb in s.get("p", "v")]
    assert len(got) >= committed and got == [float(i) for i in range(len(got))]  # every one, no gaps


def test_read_only_output_folder_fails_before_the_work(media, train_h5, tmp_path, capsys, monkeypatch):
    def boom(*a, **kw):
        raise AssertionError("started the work before checking the output folder")

    ro = _unwritable(tmp_path / "ro")
    try:
        monkeypatch.setattr("vsumgui.core.pipeline.summarize", boom)
        for opt in ("--json", "--csv"):
            assert main(["summarize", str(media.get("short")), opt, str(ro / "out"), "-q"]) == 1
            assert "cannot write here" in one_error_line(capsys.readouterr().err)
        monkeypatch.setattr(tdata, "from_h5", boom)
        monkeypatch.setattr(loop, "fit", boom)
        assert train_main(train_args(train_h5, ro / "ck.pt", 1, "-q")) == 1
        assert "cannot write here" in one_error_line(capsys.readouterr().err, "vsumgui-train")
    finally:
        _release(ro)


# --- damaged, foreign and malicious checkpoints ------------------------------------------------
class Payload:
    """Unpickling this runs code: it creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def bad_checkpoint(kind: str, folder: Path, marker: Path) -> Path:
    p = folder / f"{kind}.pt"
    demo = checkpoints.demo_path("ctvsum")
    if kind == "truncated":
        p.write_bytes(demo.read_bytes()[:4000])
    elif kind == "garbage":
        p.write_bytes(os.urandom(3000))
    elif kind == "foreign":  # a torch file, but not ours (a bare state dict)
        torch.save({"weight": torch.zeros(3)}, p)
    elif kind == "other-method":
        p.write_bytes(checkpoints.demo_path("csum").read_bytes())
    elif kind == "malicious":  # our format around a pickled object whose loading runs code
        header = checkpoints.load(demo).header
        torch.save({"format": checkpoints.FORMAT, "version": checkpoints.VERSION, "header": json.dumps(header),
                    "model": {}, "optimizer": Payload(marker), "scaler": None}, p)
    elif kind == "malicious-pickle":  # the same in a bare pickle (the pre-zip torch format)
        p.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    return p


BAD = {"truncated": "not a readable checkpoint", "garbage": "not a readable checkpoint",
       "foreign": "not a vsumgui checkpoint", "other-method": "is a 'csum' checkpoint, not 'ctvsum'",
       "malicious": "not a readable checkpoint", "malicious-pickle": "not a readable checkpoint"}


def test_the_payload_is_live(tmp_path):
    """The malicious files below would run code if anything unpickled them."""
    pickle.loads((p := bad_checkpoint("malicious-pickle", tmp_path, tmp_path / "ran")).read_bytes())
    assert (tmp_path / "ran").exists()
    torch.load(bad_checkpoint("malicious", tmp_path, tmp_path / "ran too"), weights_only=False)
    assert (tmp_path / "ran too").exists() and p.exists()


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_checkpoint_via_cli_is_refused_in_one_line(kind, media, tmp_path, capsys):
    marker = tmp_path / "payload ran"
    ck = bad_checkpoint(kind, tmp_path, marker)
    out = tmp_path / "o.json"
    assert main(["summarize", str(media.get("short")), "--checkpoint", f"ctvsum={ck}", "--json", str(out),
                 "-q"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"vsumgui: error: {ck}") and BAD[kind] in line
    assert not out.exists()
    if kind != "other-method":  # that one is a real checkpoint, for csum
        assert train_main(["info", str(ck)]) == 1
        assert BAD[kind] in one_error_line(capsys.readouterr().err, "vsumgui-train")
        with pytest.raises(VsumError, match=BAD[kind]):
            methods.create("ctvsum", ck).score(np.ones((4, 1280), np.float32))
    assert not marker.exists()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["truncated", "malicious"])
def test_bad_user_checkpoint_in_the_window_is_a_message(kind, media, window, qtbot, tmp_path):
    user = checkpoints.user_path("ctvsum")
    assert not user.exists()
    marker = tmp_path / "payload ran"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_bytes(bad_checkpoint(kind, tmp_path, marker).read_bytes())
    try:
        assert window.open_video(media.get("short"))
        with qtbot.waitSignal(window.messageShown, timeout=100_000):
            window.summarize()
        text = window.last_message.text()
        assert text.startswith(f"{user}: not a readable checkpoint") and "\n" not in text
        qtbot.waitUntil(lambda: window.worker is None, timeout=30_000)
        assert window.summary is None and window.run_panel.summarize_button.isEnabled()
    finally:
        user.unlink()
    assert not marker.exists()


# --- security ---------------------------------------------------------------------------------
SOURCES = sorted(p for d in ("vsumgui", "trainer") for p in (ROOT / d).rglob("*.py"))
SUBPROCESS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
              "subprocess.check_output"}
SHELLS = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput",
          "asyncio.create_subprocess_shell", "pty.spawn"}
UNPICKLE = {"pickle.load", "pickle.loads", "pickle.Unpickler", "dill.load", "dill.loads", "joblib.load",
            "marshal.load", "marshal.loads", "shelve.open", "yaml.load", "yaml.unsafe_load"}


def resolved_calls(tree: ast.Module):
    """(dotted name of the function with import aliases undone, call node) for every call."""
    alias: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                alias[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                alias[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, f = [], node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                parts.append(alias.get(f.id, f.id))
                yield ".".join(reversed(parts)), node


def is_const(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def test_no_shell_and_no_unpickling_in_the_code():
    bad: list[str] = []
    seen = {"subprocess": 0, "torch.load": 0}
    for path in SOURCES:
        for name, call in resolved_calls(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            where = f"{path.relative_to(ROOT)}:{call.lineno} {name}"
            kw = {k.arg: k.value for k in call.keywords}
            if name in SUBPROCESS:
                seen["subprocess"] += 1
                if "shell" in kw and not is_const(kw["shell"], False):
                    bad.append(f"{where}: shell=")
                if call.args and isinstance(call.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    bad.append(f"{where}: a command string, not an argument list")
            if name in SHELLS or name.startswith(("os.exec", "os.spawn")):
                bad.append(f"{where}: runs a shell or replaces the process")
            if name == "torch.load":
                seen["torch.load"] += 1
                if not is_const(kw.get("weights_only"), True):
                    bad.append(f"{where}: without weights_only=True")
            if name in UNPICKLE:
                bad.append(f"{where}: unpickles")
            if name in ("numpy.load", "np.load") and not is_const(kw.get("allow_pickle", ast.Constant(False)), False):
                bad.append(f"{where}: allow_pickle")
    assert not bad
    assert seen["subprocess"] >= 1 and seen["torch.load"] >= 2  # the walk sees the real calls


def test_the_ast_check_finds_what_it_forbids():
    code = ("import subprocess as sp, os, torch\nfrom pickle import loads\n"
            "sp.run('ls', shell=True)\nos.system('ls')\ntorch.load('x')\nloads(b'')\n")
    names = [n for n, _ in resolved_calls(ast.parse(code))]
    assert names == ["subprocess.run", "os.system", "torch.load", "pickle.loads"]


# --- issue 15: outputs never replace what is not theirs --------------------------------------
def no_work(monkeypatch) -> None:
    def boom(*a, **kw):
        raise AssertionError("started the work before refusing the output")

    monkeypatch.setattr("vsumgui.core.pipeline.summarize", boom)


@pytest.mark.parametrize("opt", ["--json", "--csv"])
def test_output_onto_the_input_video_is_refused(opt, media, tmp_path, capsys, monkeypatch):
    video = tmp_path / "v.mp4"
    video.write_bytes(media.get("short").read_bytes())
    twin = tmp_path / "twin.mp4"
    os.link(video, twin)  # the same file under another name
    before = video.read_bytes()
    no_work(monkeypatch)
    for out in (video, twin):
        assert main(["summarize", str(video), opt, str(out), "-q"]) == 1
        assert "is the input video" in one_error_line(capsys.readouterr().err)
    assert video.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["twin.mp4", "v.mp4"]


def test_outputs_that_are_not_files_are_refused(media, tmp_path, capsys, monkeypatch):
    import socket

    no_work(monkeypatch)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.json"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    loop_link = tmp_path / "loop.json"
    loop_link.symlink_to(loop_link)
    cases = {fifo: "named pipe", sock_path: "socket", Path(os.devnull): "device", tmp_path: "folder",
             loop_link: "loop of symbolic links", tmp_path / "fifo.json" / "x.json": "not a folder"}
    try:
        for out, word in cases.items():
            assert main(["summarize", str(media.get("short")), "--json", str(out), "-q"]) == 1, out
            assert word in one_error_line(capsys.readouterr().err)
            with pytest.raises(VsumError, match=word):  # every writer gets the same guard
                atomic.write_text(out, "{}")
    finally:
        sock.close()
    assert fifo.is_fifo() and sock_path.is_socket() and loop_link.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_symlinked_output_replaces_its_target_and_stays_a_link(media, tmp_path, capsys):
    real = tmp_path / "real" / "out.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "out.json"
    link.symlink_to(real)
    assert main(["summarize", str(media.get("short")), "--json", str(link), "-q"]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["video"]["duration"] == pytest.approx(1.2, abs=0.05)
    # a dangling link into a missing folder: that folder was never named by the user, so not made
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere" / "x.json")
    with pytest.raises(VsumError, match="no such folder"):
        atomic.write_text(dangling, "{}")
    assert not (tmp_path / "nowhere").exists()
    # a path the user named gets its missing folders; one the program derives does not
    atomic.write_text(tmp_path / "a" / "b" / "c.json", "{}")
    assert (tmp_path / "a" / "b" / "c.json").read_text() == "{}"
    with pytest.raises(VsumError, match="no such folder"):
        atomic.write_text(tmp_path / "d" / "e.json", "{}", parents=False)
    assert not (tmp_path / "d").exists()


def test_a_replaced_file_keeps_its_mode(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("old")
    out.chmod(0o600)
    atomic.write_text(out, "new")
    assert out.read_text() == "new" and (out.stat().st_mode & 0o777) == 0o600


# --- issue 15: every number validated where it enters -----------------------------------------
BAD_FLAGS = [("--sample-rate", v) for v in ("-1", "0", "nan", "inf", "-inf", "1e9", "x")] + \
            [("--ratio", v) for v in ("0", "-0.1", "1.5", "nan", "inf")] + \
            [("--crossfade", v) for v in ("-1", "nan", "inf", "1e6")]


@pytest.mark.parametrize("flag,value", BAD_FLAGS)
def test_bad_numbers_exit_2_naming_the_flag(flag, value, media, capsys, monkeypatch):
    no_work(monkeypatch)
    with pytest.raises(SystemExit) as e:
        main(["summarize", str(media.get("short")), f"{flag}={value}", "--export", "/nonexistent-dir"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"argument {flag}: must be a number" in err[0] and repr(value) in err[0]


@pytest.mark.parametrize("hp", ["lr=nan", "lr=-1", "lr=0", "lr=inf", "heads=0", "heads=3", "window=0", "window=1",
                                "dropout=5", "dropout=1", "dropout=-0.1", "layers=1.5", "d_model=abc", "bogus=1"])
def test_bad_hyper_parameters_exit_2_before_any_work(hp, train_h5, tmp_path, capsys, monkeypatch):
    def boom(*a, **kw):
        raise AssertionError("started the work before checking --hp")

    monkeypatch.setattr(tdata, "from_h5", boom)
    monkeypatch.setattr(loop, "fit", boom)
    assert train_main(train_args(train_h5, tmp_path / "ck.pt", 1, "-q", "--hp", hp)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vsumgui-train pretrain: error: --hp {hp.split('=')[0]}")
    assert "must" in err[0] or "unknown" in err[0]
    with pytest.raises(VsumError):  # the trainer itself checks too (an API user)
        loop._hparams(methods.method_class("ctvsum"), dict([hp.split("=")]))


@pytest.mark.parametrize("flag", ["--epochs", "--batch-size", "--windows-per-video", "--sample-rate"])
def test_bad_trainer_flags_exit_2(flag, train_h5, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        train_main([*train_args(train_h5, tmp_path / "ck.pt", 1, "-q"), flag, "0"])
    assert e.value.code == 2 and f"argument {flag}: must be" in capsys.readouterr().err


@pytest.mark.timeout(30)
@pytest.mark.parametrize("rate", [-1.0, 0.0, math.nan, math.inf, -math.inf, 1e9])
def test_the_samplers_refuse_a_bad_rate_at_once(rate, media):
    for sampler in (iter_samples, iter_keyframes):
        with pytest.raises(ValueError, match=r"sample_rate: must be a number > 0 and at most 120"):
            next(sampler(media.get("short"), rate))
    with pytest.raises(ValueError, match="sample_rate: must be"):
        summarize(media.get("short"), Options(sample_rate=rate, use_cache=False))


def test_the_selection_refuses_a_bad_ratio(plain_summary):
    for ratio in (0.0, -1.0, 1.5, math.nan, math.inf):
        with pytest.raises(ValueError, match="ratio: must be a number > 0 and at most 1"):
            plain_summary.select(ratio)


# --- issue 15: one line for every failure; a typo is a typo -----------------------------------
def test_an_internal_error_is_one_line_and_a_crash_report(media, tmp_path, capsys, monkeypatch):
    def bug(*a, **kw):
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setenv("VSUMGUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("vsumgui.core.pipeline.summarize", bug)
    assert main(["summarize", str(media.get("short")), "-q"]) == 70
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vsumgui: internal error (ZeroDivisionError: a bug of ours)")
    report = Path(err[0].rsplit("a crash report is in ", 1)[1])
    assert report.parent == tmp_path / "state"
    text = report.read_text()
    assert "Traceback" in text and "a bug of ours" in text and "summarize" in text and "numpy" in text


@pytest.mark.parametrize("argv,hint", [(["sumarize"], "did you mean 'summarize'?"),
                                       (["sumarize", "x.mp4"], "did you mean 'summarize'?"),
                                       (["summarise", "x.mp4", "--fast"], "did you mean 'summarize'?"),
                                       (["metods"], "did you mean 'methods'?"),
                                       (["nothing-like-it.mp4"], "commands: summarize, batch, methods, eval")])
def test_a_typo_is_a_usage_error_and_never_opens_the_window(argv, hint, capsys, monkeypatch):
    monkeypatch.setattr("vsumgui.ui.app.run", lambda *a: pytest.fail("opened the window"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vsumgui: error: {argv[0]!r} is neither a file nor a command")
    assert hint in err[0]


def test_no_display_is_one_line(media, capsys, monkeypatch):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("vsumgui.ui.app.run", lambda *a: pytest.fail("opened the window"))
    assert main([str(media.get("short"))]) == 1
    assert "no display" in one_error_line(capsys.readouterr().err)


def test_a_read_only_cache_means_a_summary_without_it(media, tmp_path, capsys, monkeypatch):
    ro = _unwritable(tmp_path / "ro")
    try:
        monkeypatch.setenv("VSUMGUI_CACHE_DIR", str(ro / "cache"))
        out = tmp_path / "o.json"
        assert main(["summarize", str(media.get("short")), "--json", str(out), "-q", "--method", "uniform-sampling"]) == 0
        printed, err = capsys.readouterr()
        line = err.strip().splitlines()
        assert len(line) == 1 and line[0].startswith("vsumgui: warning: the feature cache cannot be written")
        assert json.loads(out.read_text())["video"]["duration"] == pytest.approx(1.2, abs=0.05)
    finally:
        _release(ro)


# --- issue 15: damaged media decoded as far as FFmpeg can -------------------------------------
def ffmpeg_decoded(path: Path) -> float:
    """Seconds of video FFmpeg itself decodes (frames at 25 fps), as `ffmpeg -i F -f null -`."""
    r = subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
                       capture_output=True, text=True, errors="replace", timeout=120)
    frames = [int(x) for x in __import__("re").findall(r"frame=\s*(\d+)", r.stderr)]
    return (frames[-1] if frames else 0) / 25.0


@pytest.fixture(scope="module")
def damaged(media, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("damaged")
    src = d / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=9.6", *H264, "-g", "50",
           "-movflags", "+faststart", src)
    data = bytearray(src.read_bytes())
    zeroed = bytearray(data)
    at = len(data) // 4
    zeroed[at:at + 4096] = bytes(4096)
    (d / "zeroed.mp4").write_bytes(zeroed)
    (d / "truncated.mp4").write_bytes(data[: int(len(data) * 0.5)])
    return {"zeroed": d / "zeroed.mp4", "truncated": d / "truncated.mp4"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["zeroed", "truncated"])
@pytest.mark.parametrize("fast", [False, True])
def test_damaged_media_decoded_as_far_as_ffmpeg_and_said(case, fast, damaged, tmp_path, capsys):
    path = damaged[case]
    want = ffmpeg_decoded(path)
    out = tmp_path / "o.json"
    args = ["summarize", str(path), "--json", str(out), "-q", "--method", "uniform-sampling", "--no-cache"]
    assert main(args + (["--fast"] if fast else [])) == 0
    printed, err = capsys.readouterr()
    assert err == ""
    doc = json.loads(out.read_text())
    assert doc["video"]["duration"] == pytest.approx(want, abs=0.5)
    assert doc["warnings"] and all(f"note: {w}" in printed for w in doc["warnings"])
    if case == "truncated":  # the length shown is the decoded one, and the rest is said to be unreadable
        assert doc["warnings"][0].startswith("decoded 0:0") and "of 0:09.6; the rest is unreadable" in doc["warnings"][0]
        assert doc["video"]["duration"] < 6
    else:
        assert want > 9 and "could not be decoded and" in " ".join(doc["warnings"])
    segs = np.asarray(doc["selection"]["segments"]).reshape(-1, 2)
    assert np.all(segs[:, 1] <= doc["video"]["duration"] + 1e-6) and np.all(segs[:, 1] > segs[:, 0])


def test_an_undecodable_codec_is_named(tmp_path, capsys):
    av1 = tmp_path / "av1.mp4"
    try:
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1", "-c:v", "libaom-av1",
               "-cpu-used", "8", "-crf", "50", av1)
    except subprocess.CalledProcessError:
        pytest.skip("the bundled ffmpeg has no AV1 encoder")
    try:
        cv2_reads = cv2.VideoCapture(str(av1)).read()[0]
    except cv2.error:
        cv2_reads = False
    if cv2_reads:
        pytest.skip("this OpenCV decodes AV1")
    assert main(["summarize", str(av1), "-q"]) == 1
    assert one_error_line(capsys.readouterr().err) == f"vsumgui: error: {av1}: AV1 video: not supported by this build's decoder"


@pytest.mark.timeout(180)
def test_the_window_says_what_could_not_be_read(damaged, window, qtbot):
    path = damaged["truncated"]
    assert window.open_video(path)
    qtbot.mouseClick(window.run_panel.summarize_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.summary is not None or window.last_message is not None, timeout=150_000)
    s = window.summary
    assert s is not None and s.warnings and s.video.duration < 6
    assert s.warnings[0] in window.statusBar().currentMessage()
    assert window.status_info.text().startswith(fmt_time(s.video.duration))  # the decoded length


def test_a_symlink_loop_is_named(tmp_path, capsys):
    loop_link = tmp_path / "loop.mp4"
    loop_link.symlink_to(loop_link)
    assert main(["summarize", str(loop_link), "-q"]) == 1
    assert one_error_line(capsys.readouterr().err) == f"vsumgui: error: {loop_link}: a loop of symbolic links"


@pytest.mark.slow
def test_verbose_lets_ffmpeg_speak(damaged, capfd):
    """FFmpeg's log is quiet by default (nothing on file descriptor 2) and shown with --verbose (a
    real subprocess there: OpenCV reads the level once per process)."""
    args = ["summarize", str(damaged["zeroed"]), "-q", "--no-cache", "--method", "uniform-sampling"]
    assert main(args) == 0
    assert capfd.readouterr().err == ""
    r = subprocess.run([sys.executable, "-m", "vsumgui", *args, "--verbose"], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0 and "Invalid NAL unit size" in r.stderr


def test_a_deleted_input_protects_nothing(media, tmp_path):
    video = tmp_path / "gone.mp4"
    video.write_bytes(media.get("short").read_bytes())
    atomic.protect(video)
    with pytest.raises(VsumError, match="is the input video"):
        atomic.write_text(video, "{}")
    video.unlink()  # its inode may now be reused by any new file: that one is not the video
    out = tmp_path / "new.json"
    out.write_text("old")
    atomic._INPUTS[(out.stat().st_dev, out.stat().st_ino)] = str(video)  # as if the inode were reused
    atomic.write_text(out, "{}")
    assert out.read_text() == "{}"
