"""A folder of videos summarized as jobs on dask.distributed: a local cluster of worker
processes by default, or an existing scheduler (`tcp://host:8786`) whose workers see the videos
and the output folder at the same paths (a shared filesystem).

Each video is one job running the one pipeline (`pipeline.summarize`) and the export package;
it writes `OUT/<relative folder>/<name>-summary.json` (the DESIGN.md contract) and, when asked,
the exports beside it. The job list is SQLite in `OUT/` (`vsumgui-batch.sqlite`), one row per
video with its content key and the options it was made with: a second run skips what is done,
redoes a changed file, and retries the failed ones only when asked. Only the client writes the
job list; workers write their own video's files (all of a video's files at once, or none: see
`run_job`) and return a small record.

Choices where the issue is silent:
- A file is a video when its extension is a video container's (then a damaged one is listed as
  failed with its reason) or, for another extension, when PyAV finds a moving-picture stream in
  it (cover art, still images, subtitles and audio-only files are not videos).
- Outputs of two videos with the same name in one folder (clip.mp4, clip.mov) go to a folder
  per video, named after the file; the place a video got is kept in the job list.
- A changed option (method, ratio, mode, sampling, exports) redoes a video; a video that is no
  longer found stays in the list and the index (an archive's summary outlives a moved disk).
- Thumbnail strip and curve images are made on the worker (it has the video) and kept in the
  job list, so the index is rebuilt from the job list alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from vsumgui.core.errors import Cancelled, VsumError, check_cancel

DB_NAME = "vsumgui-batch.sqlite"
TOPIC = "vsumgui-batch"
# extensions of video containers: such a file is a job even when it cannot be opened
VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".mts",
              ".m2ts", ".ts", ".3gp", ".3g2", ".ogv", ".vob", ".mxf", ".dv", ".asf", ".f4v", ".y4m"}
# extensions never probed: documents, pictures, sound, our own outputs (probing them costs time only)
SKIP_EXTS = {".json", ".csv", ".txt", ".md", ".html", ".htm", ".xml", ".pdf", ".sqlite", ".db", ".h5",
             ".npz", ".py", ".edl", ".otio", ".fcpxml", ".llc", ".srt", ".vtt", ".ass", ".jpg", ".jpeg",
             ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".raw", ".cr2", ".nef", ".dng",
             ".svg", ".mp3", ".wav", ".flac", ".aac", ".m4a", ".ogg", ".opus", ".wma", ".zip", ".tar",
             ".gz", ".7z", ".xz", ".part", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".ini", ".log"}
STILL_CODECS = {"mjpeg", "png", "bmp", "gif", "tiff", "webp", "jpeg2000", "ansi", "text"}
STAGES = {"queued": 0.0, "decoding": 0.0, "features": 0.0, "shots": 0.75, "scoring": 0.75,
          "thumbnails": 0.92, "exporting": 0.95}  # where a stage starts in one video's work
SPANS = {"decoding": 0.75, "features": 0.75, "scoring": 0.17, "exporting": 0.05}


@dataclass
class BatchOptions:
    """What shapes each video's outputs (the `summarize` options, plus exports beside the JSON)."""

    methods: list[str] | None = None
    driver: str | None = None
    ratio: float = 0.15
    mode: str = "diverse"
    sample_rate: float = 2.0
    fast: bool = False
    checkpoints: dict[str, str] = field(default_factory=dict)
    export: bool = False
    formats: list[str] | None = None  # None with export: the export package's defaults
    cut: str | None = None  # exact | smart | keyframe (None: the export package's default, exact)

    def pipeline(self):
        from vsumgui.core.pipeline import Options

        return Options(methods=self.methods or None, driver=self.driver, ratio=self.ratio, mode=self.mode,
                       sample_rate=self.sample_rate, fast=self.fast, checkpoints=dict(self.checkpoints))

    def export_formats(self) -> list[str]:
        """Formats written beside the JSON (the JSON itself is always written, by the pipeline's writer)."""
        if not self.export:
            return []
        from vsumgui.core import export

        return [f for f in export.parse_formats(self.formats) if f != "json"]

    def signature(self) -> str:
        """A video made with another signature is redone."""
        d = dataclasses.asdict(self)
        d["formats"] = self.export_formats()
        return json.dumps(d, sort_keys=True)


@dataclass
class Video:
    """One video of the run: where it is, where its outputs go (relative to OUT), its content."""

    path: str  # absolute
    out_dir: str  # relative to OUT, posix ('.' for OUT itself)
    stem: str  # the export package's name for it: outputs are `<stem>-summary.json` etc.
    key: str = ""
    size: int = 0
    mtime_ns: int = 0

    @property
    def json_rel(self) -> str:
        return _join(self.out_dir, f"{self.stem}-summary.json")


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder}/{name}"


# --- finding videos ------------------------------------------------------------------------------

def _is_video(path: Path) -> bool:
    """A container's extension, or a moving-picture stream found by PyAV."""
    ext = path.suffix.lower()
    if ext in VIDEO_EXTS:
        return True
    if ext in SKIP_EXTS or path.stat().st_size < 512:
        return False
    try:
        import av

        with av.open(str(path)) as c:
            for s in c.streams.video:
                still = s.codec_context.name in STILL_CODECS and (s.frames or 0) <= 1
                if not (s.disposition & av.stream.Disposition.attached_pic) and not still:
                    return True
    except Exception:  # not something FFmpeg reads: not a video
        return False
    return False


def discover(paths: Iterable[str | os.PathLike], out: str | os.PathLike) -> list[tuple[Path, str]]:
    """(video, its path relative to the outputs) for every video under `paths`, sorted.

    A folder's videos keep their paths below it; with several folders each gets its own name
    first. Hidden files and folders and the output folder are not entered."""
    paths = [Path(p) for p in paths]
    out = Path(out).resolve()
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for root in paths:
        if not root.exists():
            raise VsumError(f"{root}: no such file or folder")
        if root.is_file():
            files, base = [root], root.parent
        else:
            files, base = [], root
            for d, dirs, names in os.walk(root):
                dirs[:] = sorted(x for x in dirs if not x.startswith(".") and (Path(d) / x).resolve() != out)
                files += [Path(d) / n for n in sorted(names) if not n.startswith(".")]
        prefix = root.resolve().name if len(paths) > 1 and root.is_dir() else ""
        for f in files:
            real = f.resolve()
            if real in seen or not f.is_file():
                continue
            try:
                if not _is_video(f):
                    continue
            except OSError:
                pass  # unreadable: listed, and the job says why
            seen.add(real)
            rel = f.relative_to(base).as_posix()
            found.append((f.absolute(), _join(prefix, rel) if prefix else rel))
    return sorted(found, key=lambda t: t[1])


# --- the job list --------------------------------------------------------------------------------

COLUMNS = ("path", "out_dir", "stem", "key", "size", "mtime_ns", "options", "state", "reason", "duration",
           "summary", "segments", "shots", "method", "files", "seconds", "worker", "updated", "thumbs", "curve")


class JobList:
    """The run's state in SQLite in OUT: one row per video, written by the client only."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.path = Path(out) / DB_NAME
        try:
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            with self.db:
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS videos (path TEXT PRIMARY KEY, out_dir TEXT, stem TEXT, key TEXT,"
                    " size INTEGER, mtime_ns INTEGER, options TEXT, state TEXT, reason TEXT, duration REAL,"
                    " summary REAL, segments INTEGER, shots INTEGER, method TEXT, files TEXT, seconds REAL,"
                    " worker TEXT, updated REAL, thumbs BLOB, curve BLOB)")
        except sqlite3.DatabaseError as e:
            raise VsumError(f"{self.path}: cannot open the job list ({e})") from e
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def rows(self) -> list[dict]:
        with self.lock:
            cur = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM videos ORDER BY out_dir, stem")
            return [dict(zip(COLUMNS, r)) for r in cur.fetchall()]

    def get(self, path: str) -> dict | None:
        with self.lock:
            r = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM videos WHERE path = ?", (path,)).fetchone()
        return dict(zip(COLUMNS, r)) if r else None

    def put(self, video: Video, options: str, state: str, **values) -> None:
        row = {"path": video.path, "out_dir": video.out_dir, "stem": video.stem, "key": video.key,
               "size": video.size, "mtime_ns": video.mtime_ns, "options": options, "state": state,
               "updated": time.time(), **values}
        keep = ", ".join(f"{c} = excluded.{c}" for c in row if c != "path")
        with self.lock, self.db:
            self.db.execute(f"INSERT INTO videos ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
                            f" ON CONFLICT(path) DO UPDATE SET {keep}", tuple(row.values()))


def _places(found: list[tuple[Path, str]], jobs: JobList) -> list[Video]:
    """Where each video's outputs go: kept from the job list, else its relative folder and name
    (a folder of its own when two videos of one folder share a name)."""
    from vsumgui.core.export import safe_name

    videos, taken = [], {}
    known = {r["path"]: r for r in jobs.rows()}
    for r in known.values():
        taken[(r["out_dir"], r["stem"])] = r["path"]
    for path, rel in found:
        row = known.get(str(path))
        if row:
            videos.append(Video(str(path), row["out_dir"], row["stem"]))
            continue
        folder = str(Path(rel).parent.as_posix())
        stem = safe_name(path.stem)
        if taken.get((folder, stem), str(path)) != str(path):
            folder = _join(folder, safe_name(path.name))
        taken[(folder, stem)] = str(path)
        videos.append(Video(str(path), folder, stem))
    return videos


def _stamp(video: Video, jobs: JobList) -> None:
    """The video's content key; reused from the job list while size and modification time are the
    same (hashing 64 MiB of every large file would make a resumed run cost more than a quarter)."""
    from vsumgui.core.features import content_key

    try:
        st = os.stat(video.path)
    except OSError:
        return
    video.size, video.mtime_ns = st.st_size, st.st_mtime_ns
    row = jobs.get(video.path)
    if row and row["key"] and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
        video.key = row["key"]
        return
    try:
        video.key = content_key(video.path)
    except OSError:
        video.key = ""


def _todo(video: Video, row: dict | None, options: str, out: Path, retry_failed: bool) -> bool:
    if row is None or row["key"] != video.key or row["options"] != options or not video.key:
        return True
    if row["state"] == "done":
        return not (out / video.json_rel).exists()  # its JSON was deleted: made again
    if row["state"] == "failed":
        return retry_failed
    return True  # pending or cancelled


def library_folder(folder: str | os.PathLike) -> Path:
    """Where the window keeps a folder's batch outputs and job list: the user's data folder, not
    the video folder (which may be read-only or someone else's)."""
    import hashlib

    from vsumgui.core import paths
    from vsumgui.core.export import safe_name

    folder = Path(folder).absolute()
    digest = hashlib.blake2b(str(folder).encode(), digest_size=4).hexdigest()
    return paths.data_dir() / "library" / f"{safe_name(folder.name, 'folder')}-{digest}"


def library(folder: str | os.PathLike, out: str | os.PathLike) -> list[dict]:
    """The folder's videos, each with its job-list row when `out` has one (state None: never run)."""
    found = discover([folder], out)
    known = {}
    if (Path(out) / DB_NAME).exists():
        jobs = JobList(out)
        try:
            known = {r["path"]: r for r in jobs.rows()}
        finally:
            jobs.close()
    return [known.get(str(p)) or {"path": str(p), "state": None} for p, _ in found]


# --- one job, on a worker ------------------------------------------------------------------------

def _set_threads(threads: dict[str, int] | None) -> None:
    """The backbone's threads in this worker: `threads[worker address]` (the host's cores over the
    task threads of all its workers, worked out by the client), 1 for a worker that joined later;
    VSUMGUI_THREADS in the worker's environment wins."""
    if os.environ.get("VSUMGUI_THREADS"):
        return
    n = 1
    with contextlib.suppress(Exception):
        from distributed import get_worker

        n = (threads or {}).get(get_worker().address, 1)
    os.environ["VSUMGUI_THREADS"] = str(max(1, n))


def threads_per_task(client) -> dict[str, int]:
    """For each worker: its host's cores divided by the task threads of every worker on that host
    (16 one-thread workers on a 16-core node: 1 each; one worker with one thread: 16)."""
    info = client.scheduler_info().get("workers", {})
    try:
        cores = client.run(os.cpu_count)
    except Exception:
        cores = {}
    on_host: dict[str, int] = {}
    for w in info.values():
        on_host[w.get("host", "")] = on_host.get(w.get("host", ""), 0) + int(w.get("nthreads", 1) or 1)
    return {a: max(1, (cores.get(a) or 1) // max(1, on_host.get(w.get("host", ""), 1))) for a, w in info.items()}


def _thumbs(path: str, segments: list, height: int = 72, most: int = 8) -> bytes:
    """The chosen shots' middle frames side by side, JPEG."""
    import cv2
    import numpy as np

    from vsumgui.core.video import read_frame

    picks = segments if len(segments) <= most else [segments[round(i * (len(segments) - 1) / (most - 1))]
                                                     for i in range(most)]
    tiles = []
    for s, e in picks:
        rgb = read_frame(path, (s + e) / 2)
        if rgb is None:
            continue
        w = max(1, round(rgb.shape[1] * height / rgb.shape[0]))
        tiles.append(cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (w, height), interpolation=cv2.INTER_AREA))
        tiles.append(np.full((height, 2, 3), 255, np.uint8))
    if not tiles:
        return b""
    ok, buf = cv2.imencode(".jpg", np.hstack(tiles[:-1]), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return buf.tobytes() if ok else b""


def _curve(times, scores, segments, duration: float, size: tuple[int, int] = (480, 64)) -> bytes:
    """The importance curve (min-max normalized) over the video, chosen segments shaded; PNG."""
    import cv2
    import numpy as np

    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    span = max(duration, 1e-6)
    for s, e in segments:
        cv2.rectangle(img, (int(s / span * (w - 1)), 0), (int(e / span * (w - 1)), h - 1), (200, 225, 255), -1)
    y = np.asarray(scores, dtype=float)
    if len(y):
        lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
        y = (y - lo) / (hi - lo) if hi > lo else np.full_like(y, 0.5)
        pts = np.stack([np.asarray(times, float) / span * (w - 1), (1 - y) * (h - 5) + 2], 1)
        cv2.polylines(img, [np.round(pts).astype(np.int32)], False, (160, 80, 20), 1, cv2.LINE_AA)
    ok, buf = cv2.imencode(".png", img)
    return buf.tobytes() if ok else b""


def run_job(video: Video, out: str, options: BatchOptions, event: str | None = None,
            threads: dict[str, int] | None = None, cancel: threading.Event | None = None) -> dict:
    """Summarize one video and write its outputs (runs on a worker; also callable in-process).

    Returns a record for the job list: state "done", "failed" (reason: one line) or "cancelled";
    only "done" has written anything (all of the video's outputs at once, see below). The cancel
    flag is a distributed Event named `event` (polled, at most twice a second) or, in-process,
    `cancel`."""
    from vsumgui.core import export
    from vsumgui.core.atomic import atomic_path, protect
    from vsumgui.core.pipeline import summarize

    _set_threads(threads)

    protect(video.path)  # no output may replace the video itself
    start = time.perf_counter()
    cancel = cancel if cancel is not None else threading.Event()
    worker = _worker()  # here: the export reports from its cutting threads, where dask cannot tell
    name = str(worker.address) if worker is not None else "local"  # the client shows the scheduler's name
    ev, last = None, [0.0]
    if event:
        with contextlib.suppress(Exception):
            from distributed import Event

            ev = Event(event)

    def progress(stage: str, frac: float) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5 and frac < 1.0:
            return
        last[0] = now
        if ev is not None:
            with contextlib.suppress(Exception):
                if ev.is_set():
                    cancel.set()
        _tell({"worker": name, "video": video.path, "stage": stage, "frac": float(frac)}, worker)
        check_cancel(cancel)

    def export_progress(stage: str, frac: float) -> None:
        # the export checks `cancel` itself, before its files go into place; after that (its
        # "done") nothing may stop the job short of its JSON
        with contextlib.suppress(Cancelled):
            progress("exporting", frac)

    base = {"worker": name}
    try:
        progress("decoding", 0.0)
        summary = summarize(video.path, options.pipeline(), progress, cancel)
        folder = Path(out) / video.out_dir
        sel = summary.selection
        progress("thumbnails", 0.0)  # before any output: a job stopped later has written none
        ms = summary.scores[sel.method]
        record = {"duration": float(summary.video.duration), "summary": float(sel.duration),
                  "segments": len(sel.segments), "shots": len(summary.shot_secs), "method": sel.method,
                  "thumbs": _thumbs(video.path, [tuple(s) for s in sel.segments]),
                  "curve": _curve(summary.times, ms.scores, sel.segments, summary.video.duration)}
        files = []
        formats = options.export_formats()
        # All of a video's outputs or none: the JSON is written to its temporary name first, the
        # exports are one transaction (temporary names, renamed into place only when every format
        # is done; a cancel or failure before that leaves nothing and replaces nothing), and the
        # JSON is renamed into place right after them with no cancel point in between. So a
        # video whose JSON exists has all its files, and a stopped or failed job has written
        # none (files of an earlier run stay as they were). The one gap: the renames themselves
        # (one per file) failing part way, as on a disk pulled out at that moment, leave the
        # files renamed so far and no JSON, so the job is redone. The JSON's temporary name is not one
        # the export removes as a leftover of a killed export (`export.remove_leftovers`);
        # `sweep` removes it if this worker dies.
        with atomic_path(Path(out) / video.json_rel, suffix="-batch") as tmp:
            tmp.write_text(json.dumps(summary.to_json()), encoding="utf-8")
            progress("exporting", 0.0)
            if formats and sel.segments:
                res = export.export(summary, folder, formats, cut=options.cut, overwrite=True,
                                    progress=export_progress, cancel=cancel)
                files = [Path(f).name for f in res.files]
            else:
                check_cancel(cancel)
        return {**base, "state": "done", "reason": None, **record,
                "files": json.dumps([f"{video.stem}-summary.json", *files]),
                "seconds": time.perf_counter() - start}
    except Cancelled:
        return {**base, "state": "cancelled", "reason": "cancelled"}
    except VsumError as e:
        return {**base, "state": "failed", "reason": _one_line(str(e), video.path),
                "seconds": time.perf_counter() - start}
    except Exception as e:  # a bug or an unforeseen file: this video fails, the run goes on
        return {**base, "state": "failed", "reason": _one_line(f"{type(e).__name__}: {e}", video.path),
                "seconds": time.perf_counter() - start}


def _one_line(text: str, path: str) -> str:
    text = " ".join(str(text).split())
    return text[len(path) + 2:] if text.startswith(path + ": ") else text


def _worker():
    """The dask worker running this task (None in-process). Found from the task's own thread
    only: threads it starts do not carry dask's context."""
    with contextlib.suppress(Exception):
        from distributed import get_worker

        return get_worker()
    return None


def _tell(msg: dict, worker=None) -> None:
    if worker is not None:
        with contextlib.suppress(Exception):
            worker.log_event(TOPIC, msg)


# --- the run -------------------------------------------------------------------------------------

@dataclass
class Status:
    """What a progress display shows: counts, per-worker status, the ETA."""

    total: int = 0  # videos in this run's folders
    todo: int = 0  # jobs this run does
    done: int = 0  # of todo: finished (ok or failed)
    failed: int = 0
    skipped: int = 0  # finished before and unchanged
    workers: dict[str, str] = field(default_factory=dict)  # worker -> "name stage 40%"
    partial: float = 0.0  # fractions of the running jobs
    started: float = field(default_factory=time.monotonic)
    dashboard: str | None = None
    note: str = ""

    @property
    def fraction(self) -> float:
        return 1.0 if not self.todo else min(1.0, (self.done + self.partial) / self.todo)

    @property
    def eta(self) -> float | None:
        f = self.fraction
        if f <= 0.0 or f >= 1.0:
            return None if f <= 0.0 else 0.0
        return (time.monotonic() - self.started) * (1 - f) / f


@dataclass
class Outcome:
    total: int = 0  # videos in this run's folders
    ran: int = 0  # jobs run (done or failed)
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), this run's folders
    cancelled: bool = False
    seconds: float = 0.0
    workers: int = 0


def default_workers() -> int:
    """One per core, at most one per 1.5 GB of memory (a worker holds the backbone and torch)."""
    cores = os.cpu_count() or 1
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return max(1, min(cores, int(mem // 1.5e9)))
    except (ValueError, OSError, AttributeError):
        return cores


def _ignore_sigint() -> bool:
    """Worker processes leave Ctrl-C (sent to the terminal's whole process group) to the client,
    which cancels their jobs cleanly: a worker killed in the middle of a write would leave its
    temporary file (and `sweep` would remove it at the next run)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return True
    return False


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - a core dependency
    WorkerPlugin = object


class _NoSigint(WorkerPlugin):
    def setup(self, worker) -> None:
        _ignore_sigint()


@contextlib.contextmanager
def connect(workers: int | None = None, cluster: str | None = None):
    """A distributed Client: to `cluster` (a scheduler address), or to a new LocalCluster of
    `workers` processes with one thread each (closed on exit)."""
    import dask
    from distributed import Client, LocalCluster

    if cluster:
        try:
            client = Client(cluster, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise VsumError(f"cannot reach the scheduler at {cluster} ({e})") from e
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or default_workers()
    env = {"VSUMGUI_THREADS": os.environ.get("VSUMGUI_THREADS") or str(max(1, (os.cpu_count() or 1) // n)),
           "OMP_NUM_THREADS": "1"}
    # a crashing decoder kills one worker once: the video fails, it is not retried on three
    with dask.config.set({"distributed.scheduler.allowed-failures": 0, "logging.distributed": "error"}):
        lc = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                          env=env, silence_logs=40)
        try:
            client = Client(lc)
            client.register_plugin(_NoSigint())  # also runs in workers restarted later
            try:
                yield client
            finally:
                client.close()
        finally:
            lc.close()


@contextlib.contextmanager
def _only_run(out: Path):
    """One run per output folder at a time (a second one would sweep the first one's temporary
    files): an exclusive lock on OUT/.vsumgui-batch.lock, released by the system if we die."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; one run at a time is then the user's care
        yield
        return
    with open(out / ".vsumgui-batch.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise VsumError(f"{out}: another batch is writing to this folder now") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sweep(out: Path) -> None:
    """Remove temporary files a killed run left in OUT (atomic writes name them `.<name>.*.part`)."""
    for d, dirs, names in os.walk(out):
        for n in names:
            if n.startswith(".") and n.endswith(".part"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(d, n))


def run(paths: Iterable[str | os.PathLike], out: str | os.PathLike, options: BatchOptions | None = None,
        workers: int | None = None, cluster: str | None = None, retry_failed: bool = False,
        progress: Callable[[Status], None] | None = None, cancel: threading.Event | None = None,
        client=None) -> Outcome:
    """Summarize every video under `paths` into `out`; writes `out/index.html` and `out/index.csv`.

    Skips videos finished before with the same content and options; `retry_failed` redoes failed
    ones. `cancel` (or Ctrl-C) stops the running jobs cleanly: their files are not written, they
    stay to do, and the index shows what is done. `client`: an existing distributed Client to use.
    """
    from vsumgui.core.export import check_folder

    options = options or BatchOptions()
    options.export_formats()  # an unknown format fails now
    sig = options.signature()
    out = Path(out)
    found = discover(paths, out)  # a missing path fails before anything is written
    check_folder(out, create=True)
    cancel = cancel if cancel is not None else threading.Event()
    with _only_run(out):
        return _run(found, out, options, sig, workers, cluster, retry_failed, progress, cancel, client)


def _run(found, out: Path, options: BatchOptions, sig: str, workers, cluster, retry_failed: bool, progress,
         cancel: threading.Event, client) -> Outcome:
    from vsumgui.core import report

    t0 = time.perf_counter()
    jobs = JobList(out)
    status = Status()
    result = Outcome()
    try:
        sweep(out)
        videos = _places(found, jobs)
        todo = []
        for v in videos:
            _stamp(v, jobs)
            row = jobs.get(v.path)
            if _todo(v, row, sig, out, retry_failed):
                todo.append(v)
                jobs.put(v, sig, "pending", reason=None)
            elif row["state"] == "failed":
                result.failed.append((v.path, row["reason"] or ""))
        status.total, status.todo = len(videos), len(todo)
        result.total = len(videos)
        status.skipped = result.skipped = len(videos) - len(todo) - len(result.failed)
        status.failed = len(result.failed)
        if progress:
            progress(status)
        if todo and not cancel.is_set():
            if client is not None:
                _dispatch(client, todo, out, options, sig, jobs, status, result, progress, cancel, True)
            else:
                with connect(workers, cluster) as c:
                    _dispatch(c, todo, out, options, sig, jobs, status, result, progress, cancel, bool(cluster))
        result.cancelled = cancel.is_set()
    finally:
        with contextlib.suppress(Exception):
            report.write(out, jobs.rows())
        jobs.close()
        result.seconds = time.perf_counter() - t0
    return result


def _dispatch(client, todo: list[Video], out: Path, options: BatchOptions, sig: str, jobs: JobList,
              status: Status, result: Outcome, progress, cancel: threading.Event, remote: bool) -> None:
    """Submit one task per video, record each as it finishes; on cancel or Ctrl-C ask the running
    jobs to stop and wait for them (a job stops at its next progress report)."""
    from distributed import Event, as_completed

    info = client.scheduler_info()
    result.workers = len(info.get("workers", {}))
    names = {a: str(w.get("name", a)) for a, w in info.get("workers", {}).items()}
    if remote and "dashboard" in info.get("services", {}):
        status.dashboard = client.dashboard_link
    name = f"vsumgui-cancel-{uuid.uuid4().hex}"
    ev = Event(name, client=client)
    by_key = {}
    running: dict[str, tuple[str, float]] = {}
    finished: set[str] = set()
    lock = threading.Lock()

    def heard(event) -> None:
        msg = event[1] if isinstance(event, tuple) else event
        with lock:
            if msg["video"] in finished:  # a late report of a job already recorded
                return
            running[msg["video"]] = (msg["worker"], STAGES.get(msg["stage"], 0.0) + SPANS.get(msg["stage"], 0.0)
                                     * msg["frac"])
            status.workers[names.get(msg["worker"], msg["worker"])] = f"{Path(msg['video']).name} {msg['stage']} {msg['frac']:.0%}"
            status.partial = sum(f for _, f in running.values())

    client.subscribe_topic(TOPIC, heard)
    threads = threads_per_task(client)
    futures = []
    for i, v in enumerate(todo):
        f = client.submit(run_job, v, str(out.absolute()), options, name, threads, pure=False,
                          key=f"vsumgui-{i}-{uuid.uuid4().hex[:8]}")
        by_key[f.key] = v
        futures.append(f)
    stop_lock = threading.Lock()
    stop_asked = [False]

    def stop() -> None:  # once: ask running jobs to stop, drop the queued ones
        with stop_lock:
            if stop_asked[0]:
                return
            stop_asked[0] = True
        status.note = "stopping: waiting for the running videos to stop"
        with contextlib.suppress(Exception):
            ev.set()
        with contextlib.suppress(Exception):
            client.cancel([x for x in futures if x.status == "pending"])

    ticker_stop = threading.Event()

    def ticker() -> None:  # redraws the bar while no job finishes (ETA, worker status); sees a cancel
        while not ticker_stop.wait(0.5):
            if cancel.is_set():
                stop()
            if progress:
                with lock:
                    progress(status)

    tick = threading.Thread(target=ticker, daemon=True)
    tick.start()
    try:
        ac = as_completed(futures, with_results=False)
        while True:
            try:
                f = next(ac)
            except StopIteration:
                break
            except KeyboardInterrupt:
                cancel.set()
                stop()
                continue
            try:
                _record(f, by_key[f.key], jobs, sig, status, result, running, lock, cancel, names)
                finished.add(by_key[f.key].path)
                if progress:
                    with lock:
                        progress(status)
            except KeyboardInterrupt:
                cancel.set()
                stop()
    finally:
        ticker_stop.set()
        tick.join()
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(TOPIC)
        with contextlib.suppress(Exception):
            ev.clear()


def _record(f, v: Video, jobs: JobList, sig: str, status: Status, result: Outcome, running: dict,
            lock: threading.Lock, cancel: threading.Event, names: dict[str, str]) -> None:
    """Put a finished task's record in the job list and the counts."""
    try:
        rec = f.result() if f.status == "finished" else None
    except Exception:
        rec = None
    if rec is None:
        if f.status == "cancelled" or cancel.is_set():
            rec = {"state": "cancelled"}
        else:
            exc = f.exception() if f.status == "error" else None
            reason = ("the worker process died while summarizing it (a crash, or out of memory)"
                      if type(exc).__name__ == "KilledWorker" else _one_line(f"{exc}", v.path))
            rec = {"state": "failed", "reason": reason}
    state = rec.pop("state")
    with lock:
        running.pop(v.path, None)
        if rec.get("worker"):
            status.workers[names.get(rec["worker"], rec["worker"])] = "idle"
        status.partial = sum(x for _, x in running.values())
        if state == "cancelled":
            jobs.put(v, sig, "pending", reason=None)
            return
        jobs.put(v, sig, state, **rec)
        status.done += 1
        result.ran += 1
        if state == "failed":
            status.failed += 1
            result.failed.append((v.path, rec.get("reason") or ""))
        else:
            result.done += 1


# --- the progress bar of the command line --------------------------------------------------------

def _clock(t: float | None) -> str:
    if t is None:
        return "--:--"
    t = int(t)
    return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"


class TextBar:
    """One line on stderr: overall bar, counts, ETA and each worker's video and stage
    (redrawn in place on a terminal; a line per finished video otherwise)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = -1
        self.told_dashboard = False

    def __call__(self, s: Status) -> None:
        if s.dashboard and not self.told_dashboard:
            self.told_dashboard = True
            self.stream.write(f"dashboard: {s.dashboard}\n")
        f = s.fraction
        bar = "#" * int(f * 24)
        head = (f"[{bar:<24}] {s.done}/{s.todo} videos"
                f"{f', {s.failed} failed' if s.failed else ''}{f', {s.skipped} done before' if s.skipped else ''}"
                f"  ETA {_clock(s.eta)}")
        tail = " | ".join(f"{w}: {x}" for w, x in sorted(s.workers.items()))
        line = head + (f" | {tail}" if tail else "") + (f" ({s.note})" if s.note else "")
        if self.tty:
            width = shutil.get_terminal_size((120, 20)).columns - 1
            self.stream.write("\r" + line[:width].ljust(width))
            if s.done == s.todo:
                self.stream.write("\n")
        elif s.done != self.shown:
            self.stream.write(head + "\n")
        self.shown = s.done
        self.stream.flush()
