"""Labels in real SQLite: survive reopen and a killed process, CSV round trip, damaged file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from vsumgui.core.errors import VsumError
from vsumgui.core.labels import KEEP, SKIP, LabelStore


def test_set_clear_get_and_reopen(tmp_path):
    db = tmp_path / "l.sqlite"
    with LabelStore(db) as s:
        s.set("me", "vid1", 2.0, 4.0, KEEP, "/v/a.mp4")
        s.set("me", "vid1", 10.0, 12.5, SKIP)
        s.set("me", "vid1", 2.0, 4.0, SKIP)  # relabel replaces
        s.set("you", "vid1", 0.0, 2.0, KEEP)
        s.set("me", "vid2", 1.0, 3.0, KEEP)
        s.clear("me", "vid2", 1.0, 3.0)
    with LabelStore(db) as s:
        got = s.get("me", "vid1")
        assert [(lb.start, lb.end, lb.name) for lb in got] == [(2.0, 4.0, "skip"), (10.0, 12.5, "skip")]
        assert s.get("me", "vid2") == []
        assert [lb.video for lb in s.get("you")] == ["vid1"]
        assert s.profiles() == ["default", "me", "you"]
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_label_survives_kill(tmp_path):
    db = tmp_path / "l.sqlite"
    code = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from vsumgui.core.labels import LabelStore, KEEP\n"
            f"s = LabelStore({str(db)!r}); s.set('p', 'v', 1.0, 2.0, KEEP)\n"
            "os.kill(os.getpid(), 9)\n")
    r = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert r.returncode == -9
    with LabelStore(db) as s:
        assert [(lb.start, lb.label) for lb in s.get("p", "v")] == [(1.0, KEEP)]


def test_csv_round_trip_and_bad_csv(tmp_path):
    with LabelStore(tmp_path / "a.sqlite") as a:
        a.set("p", "v", 1.0, 2.0, KEEP, "/x y/ä.mp4")
        a.set("p", "w", 3.0, 5.0, SKIP)
        assert a.export_csv("p", tmp_path / "l.csv") == 2
    with LabelStore(tmp_path / "b.sqlite") as b:
        assert b.import_csv("q", tmp_path / "l.csv") == 2
        assert [(lb.video, lb.start, lb.end, lb.label, lb.path) for lb in b.get("q")] == \
            [("v", 1.0, 2.0, KEEP, "/x y/ä.mp4"), ("w", 3.0, 5.0, SKIP, "")]
        (tmp_path / "bad.csv").write_text("video,start,end,label,path\nv,1,2,maybe,\n")
        with pytest.raises(VsumError, match="line 2"):
            b.import_csv("q", tmp_path / "bad.csv")
        assert len(b.get("q")) == 2


def test_damaged_database_is_moved_aside(tmp_path):
    db = tmp_path / "l.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    with LabelStore(db) as s:
        assert s.recovered_from is not None and s.recovered_from.exists()
        s.set("p", "v", 0.0, 1.0, KEEP)
        assert len(s.get("p")) == 1
