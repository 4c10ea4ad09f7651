"""Exports of a summary: clips, a summary video, and edit lists for other programs.

Every module in this package registers one format; adding a format is adding a file.
The GUI's export dialog and the CLI call the same three functions:

- `formats()` — the registered formats (name, label, extension, editors), in display order;
- `preflight(summary, out_dir, names, ...)` — checks the folder can be written (VsumError if
  not) and returns the files that already exist and would be overwritten;
- `export(summary, out_dir, names, ...)` — writes everything as one transaction.

Clips and the summary video are cut `exact` (the default: re-encoded, frame-exact), `smart`
(frame-exact, whole GOPs copied) or `keyframe` (stream copy from keyframes); see _cut.py.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import re
import shutil
import threading
from pathlib import Path
from typing import Iterable

from vsumgui.core import atomic
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.export.base import CUTS, WORK_PREFIX, Exporter, Job, Result, get, live, names, register, safe_name
from vsumgui.core.video import Progress

for _mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _mod.name != "base" and not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")

# What the CLI writes when --formats is not given: every edit list (small, instant). Clips and
# the summary video cut and encode media, so they are asked for by name.
DEFAULT_FORMATS = ("edl", "otio", "fcpxml", "csv", "json", "llc")


def formats() -> list[Exporter]:
    """Every registered format, in display order (each has name, label, ext, editors, media)."""
    return [get(n) for n in names()]


def parse_formats(spec: str | Iterable[str] | None) -> list[str]:
    """'clips,edl' / ['clips', 'edl'] / 'all' / None (the defaults) -> known names, in order."""
    if spec is None:
        return list(DEFAULT_FORMATS)
    items = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    items = [s for s in items if s]
    if "all" in items:
        return names()
    unknown = [s for s in items if s not in names()]
    if unknown:
        raise VsumError(f"unknown export format{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(unknown)}; known: {', '.join(names())}, all")
    if not items:
        raise VsumError("no export format given")
    return [n for n in names() if n in items]


def check_folder(out_dir: Path, create: bool) -> None:
    """Raise VsumError unless files can be created in `out_dir` (made when `create`).

    Tries a real file: permission bits say nothing to root or on read-only mounts."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise VsumError(f"{out_dir}: not a folder")
    if not out_dir.exists() and create:
        try:
            out_dir.mkdir(parents=True)
        except OSError as e:
            raise VsumError(f"{out_dir}: cannot create the output folder ({e.strerror})") from e
    # a dry run creates nothing: then the nearest existing parent must be writable
    atomic.check_folder(out_dir, "cannot create the output folder", "cannot write to the output folder")


def cut_mode(cut: str | None, accurate: bool | None = None) -> str:
    """The cut mode from `cut`, or from the old `accurate` flag (True: exact, False: keyframe)."""
    if cut is None:
        cut = "keyframe" if accurate is False else "exact"
    if cut not in CUTS:
        raise VsumError(f"unknown cut mode {cut!r}; known: {', '.join(CUTS)}")
    return cut


def _job(summary, out_dir, cut: str, overwrite: bool, crossfade: float) -> Job:
    job = Job.from_summary(summary, Path(out_dir).absolute(), cut=cut, overwrite=overwrite,
                           crossfade=max(0.0, float(crossfade)))
    if not job.frames:
        raise VsumError("the summary has no chosen shots to export")
    return job


def plan(job: Job, names_: Iterable[str]) -> dict[str, list[Path]]:
    """The files each format would write for the job."""
    return {n: get(n).outputs(job) for n in names_}


def preflight(summary, out_dir: str | os.PathLike, formats: str | Iterable[str] | None = None,
              accurate: bool | None = None, crossfade: float = 0.0, cut: str | None = None) -> list[Path]:
    """Check before exporting: VsumError if the folder cannot be written or a format is
    unknown; otherwise the files that already exist and would be overwritten."""
    chosen = parse_formats(formats)
    job = _job(summary, out_dir, cut_mode(cut, accurate), False, crossfade)
    check_folder(job.out_dir, create=False)
    return [p for paths in plan(job, chosen).values() for p in paths if p.exists()]


def export(summary, out_dir: str | os.PathLike, formats: str | Iterable[str] | None = None,
           accurate: bool | None = None, overwrite: bool = False, progress: Progress | None = None,
           cancel: threading.Event | None = None, crossfade: float = 0.0, cut: str | None = None) -> Result:
    """Export a summary's selection to `out_dir` in the given formats (see DEFAULT_FORMATS).

    `cut`: exact (default), smart or keyframe; `accurate` is the older flag (True: exact,
    False: keyframe), used only when `cut` is not given."""
    return run(_job(summary, out_dir, cut_mode(cut, accurate), overwrite, crossfade), parse_formats(formats),
               progress, cancel)


# what atomic.atomic_path names its temporary files: "." + the final name + "." + mkstemp's 8
# random characters + ".part"
_PART = re.compile(r"^\..+\.[a-z0-9_]{8}\.part$")


def remove_leftovers(out_dir: Path) -> list[str]:
    """Remove what a killed export of this program left in `out_dir`: its scratch folders
    (`.vsumgui-export-*`, unless their export still runs) and, when no export is running
    there, the hidden `.part` files atomic writes make. Returns the names removed."""
    removed, running = [], False
    try:
        entries = list(Path(out_dir).iterdir())
    except OSError:
        return removed
    for p in entries:
        if p.name.startswith(WORK_PREFIX) and p.is_dir() and not p.is_symlink():
            if live(p):
                running = True
            else:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
    if not running:
        for p in entries:
            if _PART.match(p.name) and p.is_file() and not p.is_symlink():
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p.name)
    return removed


def run(job: Job, chosen: list[str], progress: Progress | None = None,
        cancel: threading.Event | None = None) -> Result:
    """Write `chosen` formats for `job` as one transaction.

    Progress: `progress(format_name, fraction_of_the_whole_export)`. Every file is written to a
    temporary name and renamed only when all formats are done; on cancel (Cancelled) or error
    (VsumError) nothing is left behind. Existing files are replaced only with job.overwrite.
    """
    check_folder(job.out_dir, create=True)
    remove_leftovers(job.out_dir)
    exporters = sorted((get(n) for n in chosen), key=lambda x: (x.media, x.order))  # quick ones first
    targets = [p for x in exporters for p in x.outputs(job)]
    if len(set(targets)) != len(targets):
        raise VsumError("two exports would write the same file")
    src = job.source.resolve()
    if any(p.resolve() == src for p in targets):
        raise VsumError(f"an export would replace the source video {src.name}")
    existing = [p for p in targets if p.exists()]
    if existing and not job.overwrite:
        shown = ", ".join(p.name for p in existing[:3]) + (f" and {len(existing) - 3} more" if len(existing) > 3 else "")
        raise VsumError(f"{job.out_dir}: {shown} already exist{'s' if len(existing) == 1 else ''} "
                        "(choose another folder, or overwrite)")
    costs = [x.cost(job) for x in exporters]
    total = sum(costs) or 1.0
    job.result = Result()
    try:
        job.work  # noqa: B018  (made and locked first: a later export sees this one is running)
        with contextlib.ExitStack() as stack:
            job._stack = stack
            done, shown = 0.0, [0.0]
            for x, c in zip(exporters, costs):
                check_cancel(cancel)

                def frac(f: float, name: str = x.name, base: float = done, c: float = c) -> None:
                    # ffmpeg's output time can step back a little between streams: never go back
                    shown[0] = max(shown[0], min(1.0, (base + max(0.0, min(1.0, f)) * c) / total))
                    if progress:
                        progress(name, shown[0])

                frac(0.0)
                x.write(job, frac, cancel)
                done += c
            check_cancel(cancel)
        # the stack closed without an error: every temporary file is now in place
        job.result.files = targets
    finally:
        job._stack = None
        job.cleanup()
    if progress:
        progress("done", 1.0)
    return job.result


__all__ = ["CUTS", "DEFAULT_FORMATS", "cut_mode", "remove_leftovers", "Exporter", "Job", "Result", "check_folder", "export", "formats", "get",
           "names", "parse_formats", "plan", "preflight", "register", "run", "safe_name"]
