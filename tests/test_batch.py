"""`vsumgui batch`: a folder of real videos (the samples, a damaged file, a video without an
extension, a text file) on a real dask LocalCluster, with a real SQLite job list."""

from __future__ import annotations

import base64
import csv
import dataclasses
import json
import re
import shutil
import sqlite3
import threading

import cv2
import numpy as np
import pytest

from conftest import SAMPLE, VIDEOS
from vsumgui.core import batch
from vsumgui.core.batch import BatchOptions

OPTS = BatchOptions(methods=["ctvsum"], export=True, formats=["edl", "csv"])


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """lib/: bunny.webm, flower.mp4, sub/friday (no extension), sub/damaged.mp4 (random bytes),
    notes.txt (not a video)."""
    lib = tmp_path_factory.mktemp("lib")
    (lib / "sub").mkdir()
    shutil.copy(SAMPLE, lib / "bunny.webm")
    by_name = {p.name: p for p in VIDEOS}
    shutil.copy(by_name["flower_cc0.mp4"], lib / "flower.mp4")
    shutil.copy(by_name["friday_cc0.mp4"], lib / "sub" / "friday")
    (lib / "sub" / "damaged.mp4").write_bytes(np.random.default_rng(0).bytes(20000))
    (lib / "notes.txt").write_text("not a video\n")
    return lib


@pytest.fixture(scope="module")
def scheduler(_isolated_dirs):
    """A LocalCluster started by the test (two worker processes, one thread each), shared by the
    module's tests: its startup costs seconds. Yields the scheduler's address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as lc:
        yield lc.scheduler_address


@pytest.fixture(scope="module")
def first(library, scheduler, tmp_path_factory):
    """The library summarized once on the scheduler's address."""
    out = tmp_path_factory.mktemp("out")
    seen = []
    res = batch.run([library], out, OPTS, cluster=scheduler, progress=lambda s: seen.append(
        (s.done, s.todo, s.fraction, dict(s.workers), s.dashboard)))
    return out, res, seen


def _rows(out) -> dict[str, dict]:
    db = sqlite3.connect(out / batch.DB_NAME)
    try:
        return {r[0]: {"state": r[1], "reason": r[2], "key": r[3]}
                for r in db.execute("SELECT path, state, reason, key FROM videos")}
    finally:
        db.close()


def _files(out) -> dict[str, str]:
    db = sqlite3.connect(out / batch.DB_NAME)
    try:
        return dict(db.execute("SELECT path, files FROM videos"))
    finally:
        db.close()


def _snapshot(folder) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder`: its bytes, modification time and inode."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _segments(out) -> dict[str, list]:
    return {p.relative_to(out).as_posix(): json.loads(p.read_text())["selection"]["segments"]
            for p in sorted(out.rglob("*-summary.json"))}


def test_discover_probes_files(library, tmp_path):
    found = [rel for _, rel in batch.discover([library], tmp_path)]
    # the extension-less video is found by probing; the text file is not a video; a damaged
    # file with a video extension is a job (it fails with its reason)
    assert found == ["bunny.webm", "flower.mp4", "sub/damaged.mp4", "sub/friday"]


def test_run_on_scheduler_address(library, first):
    out, res, seen = first
    assert (res.total, res.ran, res.done, res.skipped) == (4, 4, 3, 0)
    assert [(p.split("/")[-1], r) for p, r in res.failed] == [
        ("damaged.mp4", "not a video file, or a format FFmpeg cannot read")]
    assert not res.cancelled and res.workers == 2
    assert seen[-1][4].startswith("http://")  # on a cluster the dashboard's address is shown
    for rel, dur in (("bunny", None), ("flower", None), ("sub/friday", None)):
        doc = json.loads((out / f"{rel}-summary.json").read_text())
        assert set(doc) >= {"video", "sample_rate", "times", "shots", "methods", "selection"}
        assert list(doc["methods"]) == ["ctvsum"]
        segs = doc["selection"]["segments"]
        assert sum(e - s for s, e in segs) <= 0.15 * doc["video"]["duration"] + 1e-6
        assert (out / f"{rel}-summary.edl").exists() and (out / f"{rel}-Scenes.csv").exists()
    assert not list(out.rglob("damaged*")) and not list(out.rglob(".*.part"))
    # progress: counts only grow, the workers reported their stages, the last call is complete
    assert [d for d, *_ in seen] == sorted(d for d, *_ in seen)
    assert seen[-1][:3] == (4, 4, 1.0)
    stages = " ".join(" ".join(w.values()) for *_, w, _ in seen)
    assert re.search(r"(decoding|features|scoring) \d+%", stages)
    assert len(set().union(*(w.keys() for *_, w, _ in seen))) == 2  # both workers had work


def test_resume_skips_finished(library, first, scheduler):
    out, _, _ = first
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*-summary.json")}
    res = batch.run([library], out, OPTS, cluster=scheduler)
    assert (res.ran, res.skipped, len(res.failed)) == (0, 3, 1)  # the failed one is listed, not retried
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*-summary.json")} == before


def test_retry_failed_and_changed_file(library, scheduler, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(library / "sub" / "friday", lib / "a.mp4")
    shutil.copy(library / "sub" / "damaged.mp4", lib / "b.mp4")
    out = tmp_path / "out"
    res = batch.run([lib], out, OPTS, cluster=scheduler)
    assert (res.done, len(res.failed)) == (1, 1)
    assert batch.run([lib], out, OPTS, cluster=scheduler).ran == 0
    again = batch.run([lib], out, OPTS, cluster=scheduler, retry_failed=True)
    assert (again.ran, len(again.failed)) == (1, 1)  # retried, and still damaged
    shutil.copy(library / "flower.mp4", lib / "b.mp4")  # the damaged file replaced by a video
    fixed = batch.run([lib], out, OPTS, cluster=scheduler)
    assert (fixed.ran, fixed.done, fixed.failed) == (1, 1, [])
    rows = _rows(out)
    assert [r["state"] for r in rows.values()] == ["done", "done"]
    assert json.loads((out / "b-summary.json").read_text())["video"]["duration"] == pytest.approx(5.0, abs=0.1)
    # another ratio is another summary: every video is redone
    assert batch.run([lib], out, BatchOptions(methods=["ctvsum"], ratio=0.3), cluster=scheduler).ran == 2


def test_index(library, first):
    out, _, _ = first
    page = (out / "index.html").read_text()
    assert "<script" not in page.lower()
    for name in ("bunny.webm", "flower.mp4", "friday"):
        assert name in page
    for link in re.findall(r'href="([^"]+)"', page):
        assert (out / link).is_file(), link
    assert 'href="sub/friday-summary.json"' in page and 'href="bunny-summary.edl"' in page
    images = re.findall(r'src="data:image/(png|jpeg);base64,([^"]+)"', page)
    assert len(images) == 6  # a strip of chosen shots and a curve per summarized video
    for kind, data in images:
        img = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape[0] >= 32 and img.std() > 1  # a real picture, not blank
    failed = page[page.index("<h2>Failed</h2>"):]
    assert "damaged.mp4" in failed and "not a video file" in failed
    with open(out / "index.csv", newline="") as f:
        rows = {r["video"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"bunny.webm", "flower.mp4", "friday", "damaged.mp4"}
    assert rows["damaged.mp4"]["state"] == "failed" and rows["damaged.mp4"]["json"] == ""
    assert rows["bunny.webm"]["json"] == "bunny-summary.json"
    bunny = json.loads((out / "bunny-summary.json").read_text())
    assert float(rows["bunny.webm"]["duration_s"]) == pytest.approx(bunny["video"]["duration"], abs=1e-3)
    assert float(rows["bunny.webm"]["summary_s"]) == pytest.approx(
        sum(e - s for s, e in bunny["selection"]["segments"]), abs=1e-3)


def test_cancel_leaves_no_partial_output(library, scheduler, tmp_path):
    cancel = threading.Event()

    def progress(s: batch.Status) -> None:
        cancel.set()  # at the first status: waiting for a worker's "%" raced a short video to its end

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(library / "bunny.webm", lib / "bunny.webm")
    with open(lib / "bunny.webm", "ab") as f:
        f.write(b"\0" * 16)  # another content key: nothing of it is cached
    out = tmp_path / "out"
    res = batch.run([lib], out, BatchOptions(methods=["ctvsum"], sample_rate=4.0, export=True), cluster=scheduler,
                    progress=progress, cancel=cancel)
    assert res.cancelled
    # all of the video's outputs or none: a stopped job ("pending": the next run redoes it) has
    # written nothing; one that ended before the cancel reached it has written every file it lists
    names = sorted(p.name for p in out.rglob("*"))
    book = [".vsumgui-batch.lock", "index.csv", "index.html", batch.DB_NAME]
    [row] = _rows(out).values()
    if row["state"] == "pending":
        assert res.ran == 0 and names == book, names
    else:
        assert row["state"] == "done" and res.ran == 1, row
        listed = json.loads(_files(out)[str(lib / "bunny.webm")])
        assert len(listed) > 1 and names == sorted(book + listed), names
        json.loads((out / "bunny-summary.json").read_text(encoding="utf-8"))
    done = batch.run([lib], out, BatchOptions(methods=["ctvsum"], sample_rate=4.0, export=True), cluster=scheduler)
    redone = (1, 1) if row["state"] == "pending" else (0, 0)
    assert (done.ran, done.done) == redone and (out / "bunny-summary.json").exists()


def test_a_stopped_or_failed_job_writes_none_of_its_outputs(library, sample_summary, tmp_path, monkeypatch):
    """One video's outputs appear as a set (its JSON and every export) or not at all: a job
    stopped after one of its exports was written leaves none, and the files an earlier run wrote
    for it (overwritten only by a job that ends) stay as they were; a stop that comes once the
    exports are in place no longer stops the job (its JSON follows them); a job whose export
    fails writes no JSON and no other export. In-process, on the real sample (features cached)."""
    from vsumgui.core import export

    video = batch.Video(path=str(library / "bunny.webm"), out_dir=".", stem="bunny")
    out = tmp_path / "out"
    earlier = batch.run_job(video, str(out), OPTS)
    assert earlier["state"] == "done"
    listed = json.loads(earlier["files"])
    assert len(listed) == 3 and "bunny-summary.json" in listed, listed  # the JSON, the EDL, the CSV
    before = _snapshot(out)
    assert sorted(before) == sorted(listed)

    # stopped between two formats: the first one's file was written (to its temporary name)
    cancel, wrote = threading.Event(), []
    for name in ("edl", "csv"):
        cls = type(export.get(name))
        real = cls.write

        def stop_after(self, job, progress, cancel_=None, _real=real, _name=name):
            _real(self, job, progress, cancel_)
            wrote.append(_name)
            cancel.set()  # as a Ctrl-C between two exports would

        monkeypatch.setattr(cls, "write", stop_after)
    other = dataclasses.replace(OPTS, ratio=0.4)  # new content for every file, had it been written
    rec = batch.run_job(video, str(out), other, cancel=cancel)
    assert rec["state"] == "cancelled" and len(wrote) == 1, (rec, wrote)
    assert _snapshot(out) == before  # the same files, bytes and inodes: none replaced, none added
    monkeypatch.undo()

    # stopped when the exports are in place (their last report): the JSON follows them, never a
    # set of exports without it
    cancel, told = threading.Event(), []
    real_tell, edl = batch._tell, next(n for n in listed if n.endswith(".edl"))

    def tell(msg, worker=None):
        if msg["stage"] == "exporting" and (out / edl).read_bytes() != before[edl][0]:
            told.append(msg["frac"])
            cancel.set()
        real_tell(msg, worker)

    monkeypatch.setattr(batch, "_tell", tell)
    rec = batch.run_job(video, str(out), dataclasses.replace(OPTS, ratio=0.3), cancel=cancel)
    monkeypatch.undo()
    assert told and rec["state"] == "done", (rec, told)
    now = _snapshot(out)
    assert sorted(now) == sorted(before) and now[edl][0] != before[edl][0]
    assert json.loads((out / "bunny-summary.json").read_text())["selection"]["ratio"] == 0.3
    before = now

    # an export that fails (its file name is taken by a folder): no JSON, no other export
    fresh = tmp_path / "fresh"
    taken = next(n for n in listed if n.endswith(".csv"))
    (fresh / taken).mkdir(parents=True)
    rec = batch.run_job(video, str(fresh), other)
    assert rec["state"] == "failed" and "folder" in rec["reason"], rec
    assert [p.relative_to(fresh).as_posix() for p in fresh.rglob("*")] == [taken]

    # and the job that ends writes them all, replacing the earlier ones
    rec = batch.run_job(video, str(out), other)
    assert rec["state"] == "done" and sorted(json.loads(rec["files"])) == sorted(listed)
    after = _snapshot(out)
    changed = [n for n in listed if after[n][0] != before[n][0]]  # the scene list does not follow the ratio
    assert sorted(after) == sorted(before) and "bunny-summary.json" in changed and any(n.endswith(".edl") for n in changed)


@pytest.mark.slow
def test_cli_local_cluster_same_selections(library, first, tmp_path, capsys):
    """The default path: `vsumgui batch` starts its own LocalCluster; the selections equal those
    made on the test's scheduler."""
    from vsumgui.cli import main

    out = tmp_path / "out"
    rc = main(["batch", str(library), "--out", str(out), "--workers", "1", "--method", "ctvsum",
               "--formats", "edl,csv", "-q"])
    printed = capsys.readouterr().out
    assert rc == 1  # one video failed
    assert "4 videos: 3 summarized, 0 done before, 1 failed" in printed
    assert re.search(r"failed: .*damaged\.mp4: not a video file", printed)
    assert _segments(out) == _segments(first[0]) and len(_segments(out)) == 3
    assert main(["batch", str(library), "--out", str(out), "--method", "ctvsum", "--formats", "edl,csv",
                 "-q"]) == 1
    assert "0 summarized, 3 done before, 1 failed" in capsys.readouterr().out


def test_cli_arguments(tmp_path, capsys):
    from vsumgui.cli import main

    with pytest.raises(SystemExit) as e:
        main(["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert e.value.code == 2
    assert main(["batch", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), "-q"]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_library_rows(library, first, tmp_path):
    """What the window's library list shows: every video found, with its job-list state."""
    out, _, _ = first
    rows = batch.library(library, out)
    assert [(p.split("/")[-1], r["state"]) for p, r in ((r["path"], r) for r in rows)] == [
        ("bunny.webm", "done"), ("flower.mp4", "done"), ("damaged.mp4", "failed"), ("friday", "done")]
    assert all(r["thumbs"] for r in rows if r["state"] == "done")
    assert [r["state"] for r in batch.library(library, tmp_path / "none")] == [None] * 4
    assert not (tmp_path / "none").exists()  # listing writes nothing
    assert batch.library_folder(library) == batch.library_folder(str(library) + "/")


def test_one_run_per_output_folder(library, tmp_path):
    """A second run on the same OUT at the same time is refused (it would sweep the first one's
    temporary files); the lock goes with the run."""
    import fcntl

    from vsumgui.core.errors import VsumError

    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".vsumgui-batch.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(VsumError, match="another batch is writing to this folder"):
            batch.run([library / "notes.txt"], out, OPTS)
    assert batch.run([library / "notes.txt"], out, OPTS).total == 0  # free again: a file that is no video
