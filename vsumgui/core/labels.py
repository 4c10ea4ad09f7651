"""Personalization labels: "keep" / "skip" marks on shots, stored at once in SQLite.

One database in the user data folder; a label belongs to a profile and to a video by its
content key (so a renamed or moved file keeps its labels), and covers a span of media time.
WAL mode and one transaction per change: a label survives a kill of the app.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from vsumgui.core import paths
from vsumgui.core.atomic import write_text
from vsumgui.core.errors import VsumError

KEEP, SKIP = 1, 0
NAMES = {KEEP: "keep", SKIP: "skip"}
DEFAULT_PROFILE = "default"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    profile TEXT NOT NULL,
    video TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    label INTEGER NOT NULL CHECK (label IN (0, 1)),
    path TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    PRIMARY KEY (profile, video, start, end)
)
"""


@dataclass(frozen=True)
class Label:
    video: str  # content key
    start: float
    end: float
    label: int  # KEEP or SKIP
    path: str = ""

    @property
    def name(self) -> str:
        return NAMES[self.label]


def db_path() -> Path:
    return paths.data_dir() / "labels.sqlite"


class LabelStore:
    """The labels database. A damaged file is moved aside (kept for recovery) and started anew."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path else db_path()
        self.recovered_from: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise VsumError(f"{self.path.parent}: cannot create the labels folder ({e.strerror})") from e
        try:
            self.db = self._open()
        except sqlite3.DatabaseError:
            self.recovered_from = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            with contextlib.suppress(OSError):
                os.replace(self.path, self.recovered_from)
            for side in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.remove(f"{self.path}{side}")
            self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "LabelStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except sqlite3.OperationalError as e:
            raise VsumError(f"{self.path}: cannot write the labels ({e})") from e

    def set(self, profile: str, video: str, start: float, end: float, label: int, path: str = "") -> None:
        """Mark a span keep or skip (replacing any label on the same span)."""
        if label not in NAMES:
            raise ValueError(f"label must be KEEP or SKIP, not {label!r}")
        self._run("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (profile, video, round(start, 6), round(end, 6), label, str(path), time.time()))

    def clear(self, profile: str, video: str, start: float, end: float) -> None:
        self._run("DELETE FROM labels WHERE profile=? AND video=? AND start=? AND end=?",
                  (profile, video, round(start, 6), round(end, 6)))

    def get(self, profile: str, video: str | None = None) -> list[Label]:
        """A profile's labels, of one video or of all, in time order."""
        where, args = ("profile=? AND video=?", (profile, video)) if video else ("profile=?", (profile,))
        rows = self._run(f"SELECT video, start, end, label, path FROM labels WHERE {where} "
                         "ORDER BY video, start", args).fetchall()
        return [Label(*r) for r in rows]

    def profiles(self) -> list[str]:
        names = [r[0] for r in self._run("SELECT DISTINCT profile FROM labels ORDER BY profile")]
        return names if DEFAULT_PROFILE in names else [DEFAULT_PROFILE, *names]

    def export_csv(self, profile: str, path: str | os.PathLike) -> int:
        """Write a profile's labels as CSV (video key, start, end, label, path); returns the count."""
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["video", "start", "end", "label", "path"])
        labels = self.get(profile)
        for lb in labels:
            w.writerow([lb.video, f"{lb.start:.6f}", f"{lb.end:.6f}", lb.name, lb.path])
        write_text(path, out.getvalue())
        return len(labels)

    def import_csv(self, profile: str, path: str | os.PathLike) -> int:
        """Add the labels of a CSV written by export_csv; returns the count. Bad rows fail as a whole."""
        try:
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise VsumError(f"{path}: cannot read labels ({e})") from e
        by_name = {v: k for k, v in NAMES.items()}
        parsed = []
        for i, r in enumerate(rows, start=2):
            try:
                parsed.append((r["video"], float(r["start"]), float(r["end"]), by_name[r["label"]], r.get("path") or ""))
            except (KeyError, ValueError, TypeError) as e:
                raise VsumError(f"{path}: line {i} is not a label (video,start,end,keep|skip,path)") from e
        self._run("BEGIN")
        try:
            for video, s, e, lab, p in parsed:
                self.set(profile, video, s, e, lab, p)
            self._run("COMMIT")
        except BaseException:
            self._run("ROLLBACK")
            raise
        return len(parsed)
