"""The Exporter base class, its registry, and the Job every exporter writes from.

A Job holds what an export needs (the video, the chosen segments in seconds and in frames,
the output folder, the mode) and makes every export one transaction: exporters write to
temporary names (`job.temp(path)`, vsumgui.core.atomic), and the files are renamed into
place only when every requested format has been written, so a cancelled or failed export
leaves the output folder as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import opentimelineio as otio

from vsumgui.core.atomic import atomic_path
from vsumgui.core.errors import VsumError
from vsumgui.core.export._media import (EXACT_EXT, FALLBACK_EXT, MUXERS, SMART_EXTS, Fraction,
                                        MediaInfo, Packets, probe_media, read_packets)
from vsumgui.core.video import VideoInfo

if TYPE_CHECKING:
    from vsumgui.core.pipeline import Summary

_REGISTRY: dict[str, type["Exporter"]] = {}

# How clips and the summary video are cut (the CLI's --cut, the export dialog's choice):
# exact re-encodes (H.264/AAC MP4), smart copies whole GOPs and re-encodes only the partial
# ones (H.264/HEVC; other codecs are re-encoded, and the export says so), keyframe copies the
# streams from the keyframe at or before each cut (not frame-exact, the export says by how much).
CUTS = ("exact", "smart", "keyframe")
WORK_PREFIX = ".vsumgui-export-"  # the scratch folder of a running export, inside the output folder

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def safe_name(name: str, fallback: str = "video", max_bytes: int = 100) -> str:
    """A file name that stays inside its folder on every OS: no separators, no control or
    Windows-reserved characters, no leading dots ('..', hidden files), bounded length."""
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", name))
    name = re.sub(r"\s+", " ", name).strip(" .")
    name = name.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore").strip(" .")
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    return name or fallback


def clock(t: float) -> str:
    """Seconds as hh.mm.ss.mmm, LosslessCut's ${CUT_FROM} style (no ':' so Windows accepts it)."""
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}.{m:02d}.{s:02d}.{ms:03d}"


def timeline_rate(fps: float) -> float:
    """The frame rate used for frame numbers: the video's, snapped to the exact NTSC value
    (29.97002997...) when the probed rate is that rate up to float noise."""
    near = otio.opentime.RationalTime.nearest_valid_timecode_rate(fps)
    return near if near and abs(near - fps) <= 1e-4 * fps else float(fps)


@dataclass
class Result:
    """What an export wrote, and what the user should know about it (shown by CLI and GUI)."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Job:
    """One export of one video's selection into one folder."""

    video: VideoInfo
    segments: list[tuple[float, float]]  # media seconds, sorted, non-overlapping
    out_dir: Path
    cut: str = "exact"  # one of CUTS
    overwrite: bool = False
    crossfade: float = 0.0  # seconds of crossfade between shots in the summary video
    summary: "Summary | None" = None
    scenes: list[tuple[float, float]] = field(default_factory=list)  # the video's scenes, media seconds
    rate: float = 0.0  # frame rate for frame numbers (set from the video)
    frames: list[tuple[int, int]] = field(default_factory=list)  # [start, end) frame numbers
    result: Result = field(default_factory=Result)
    smart_copied: float = 0.0  # smart mode: seconds of video stream-copied (the rest re-encoded)
    early: float = 0.0  # keyframe mode: the most any stream-copied piece starts before its cut
    _stack: contextlib.ExitStack | None = field(default=None, repr=False)
    _work: Path | None = field(default=None, repr=False)
    _lock: Any = field(default=None, repr=False)
    _media: MediaInfo | None = field(default=None, repr=False)
    _packets: Packets | None = field(default=None, repr=False)
    pieces: dict[tuple[int, str], Any] = field(default_factory=dict, repr=False)  # _cut's cache
    mutex: Any = field(default_factory=threading.Lock, repr=False)  # pieces are cut in parallel

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.cut not in CUTS:
            raise VsumError(f"unknown cut mode {self.cut!r}; known: {', '.join(CUTS)}")
        self.rate = self.rate or timeline_rate(self.video.fps)
        if not self.frames:
            last = max(1, int(round(self.video.duration * self.rate)))
            for s, e in self.segments:
                a = min(max(0, int(round(s * self.rate))), last - 1)
                b = min(max(a + 1, int(round(e * self.rate))), last)
                self.frames.append((a, b))

    @classmethod
    def from_summary(cls, summary: "Summary", out_dir: str | os.PathLike, **kw) -> "Job":
        sel = summary.selection or summary.select()
        return cls(summary.video, [(float(s), float(e)) for s, e in sel.segments], Path(out_dir),
                   summary=summary, scenes=[(float(s), float(e)) for s, e in summary.scene_secs], **kw)

    # --- names -------------------------------------------------------------------------
    @property
    def source(self) -> Path:
        return Path(self.video.path)

    @property
    def stem(self) -> str:
        """The video's name, made safe to use in file names."""
        return safe_name(self.source.stem)

    def times(self, i: int) -> tuple[float, float]:
        """Segment i snapped to frame boundaries, in seconds."""
        a, b = self.frames[i]
        return a / self.rate, b / self.rate

    def path(self, name: str) -> Path:
        """`name` inside the output folder; refuses anything that would land elsewhere."""
        p = self.out_dir / name
        if name in ("", ".", "..") or p.parent != self.out_dir or Path(name).name != name:
            raise VsumError(f"refusing to write {name!r} outside {self.out_dir}")
        return p

    def media_ext(self, cut: str | None = None) -> str:
        """The extension of cut media (the container always matches it): MP4 when re-encoded;
        the source's container in keyframe mode; in smart mode the source's where it takes
        H.264/HEVC and AAC (MP4, MOV, Matroska), else MP4."""
        cut = cut or self.cut
        ext = self.source.suffix.lower()
        if cut == "keyframe":
            return ext if ext in MUXERS else FALLBACK_EXT
        if cut == "smart":
            return ext if ext in SMART_EXTS else EXACT_EXT
        return EXACT_EXT

    # --- writing -----------------------------------------------------------------------
    def temp(self, final: Path) -> Path:
        """A temporary file beside `final`; renamed to `final` when the whole export succeeds."""
        if self._stack is None:
            raise RuntimeError("Job.temp() outside of run()")
        return self._stack.enter_context(atomic_path(final))

    def write_text(self, final: Path, text: str) -> None:
        self.temp(final).write_text(text, encoding="utf-8")

    def note(self, text: str) -> None:
        with self.mutex:
            if text not in self.result.notes:
                self.result.notes.append(text)

    @property
    def work(self) -> Path:
        """A hidden scratch folder inside the output folder (same disk, so hard links work).

        It holds a lock while the export runs, so that a later export can tell the folder of a
        killed one (removed, see export.remove_leftovers) from that of one still running."""
        if self._work is None:
            try:
                self._work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.out_dir))
                self._lock = hold_lock(self._work)
            except OSError as e:
                raise VsumError(f"{self.out_dir}: cannot write here ({e.strerror})") from e
        return self._work

    @property
    def media(self) -> MediaInfo:
        if self._media is None:
            self._media = probe_media(self.source)
        return self._media

    @property
    def packets(self) -> Packets:
        """Every video packet's time and the clean keyframes (read once, no decoding)."""
        if self._packets is None:
            self._packets = read_packets(self.source, self.media, 1.0 / self.rate)
        return self._packets

    def note_keyframe(self) -> None:
        """Say that keyframe mode cut on keyframes, and by how much (half a frame is exact)."""
        if self.early > 0.5 / self.rate:
            self.note(f"keyframe cuts copy the streams without re-encoding, so pieces start at the keyframe "
                      f"at or before each cut (up to {self.early:.2f} s early); "
                      "use exact or smart cuts for frame-exact pieces")

    def cleanup(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None
        self.pieces.clear()


LOCK = "lock"


def hold_lock(work: Path):
    """Open and lock `work`/lock for as long as the returned file stays open."""
    f = open(work / LOCK, "a+b")
    try:
        import fcntl

        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # Windows: an open file cannot be deleted, which is what live() tests
        pass
    return f


def live(work: Path) -> bool:
    """Whether the export that made the scratch folder `work` is still running."""
    lock = work / LOCK
    try:
        import fcntl
    except ImportError:
        try:
            lock.unlink(missing_ok=True)
            return False
        except PermissionError:
            return True
    try:
        with open(lock, "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except OSError:  # no lock file: the export died before making it, or it is not ours
        return False


class Exporter(ABC):
    """One export format. Subclasses set the class attributes and implement `outputs` and `write`."""

    name: str = ""  # short id used by the CLI (--formats) and the GUI
    label: str = ""  # what the GUI shows next to the checkbox
    ext: str = ""  # file extension, with the dot ("" when it depends on the mode)
    editors: str = ""  # the programs that open it
    order: int = 100  # position in lists
    media: bool = False  # cuts or encodes video (slow, large files)

    @abstractmethod
    def outputs(self, job: Job) -> list[Path]:
        """The files this format would write for the job (used for the overwrite check)."""

    @abstractmethod
    def write(self, job: Job, progress: Fraction, cancel: threading.Event | None) -> None:
        """Write `outputs(job)` through `job.temp()`; report progress 0..1; honour cancel."""

    def cost(self, job: Job) -> float:
        """Relative amount of work, to share one progress bar between formats."""
        return 0.02


def register(cls: type[Exporter]) -> type[Exporter]:
    if cls.name in _REGISTRY:
        raise RuntimeError(f"export format {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    return sorted(_REGISTRY, key=lambda n: (_REGISTRY[n].order, n))


def get(name: str) -> Exporter:
    if name not in _REGISTRY:
        raise VsumError(f"unknown export format {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]()
