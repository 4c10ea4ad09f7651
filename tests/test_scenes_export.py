"""Scenes in the exports: markers in the OTIO timeline, chapters in the summary video (summary time)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import opentimelineio as otio
import pytest

from vsumgui.core import export
from vsumgui.core.export.base import Job
from vsumgui.core.video import VideoInfo

FPS = 25
# 8 s of H.264 with a keyframe every second; 4 scenes, the third not shown by the segments
SCENES = [(0.0, 2.6), (2.6, 5.0), (5.0, 6.0), (6.0, 8.0)]
# the second segment starts in scene 1 and ends in scene 2
SEGMENTS = [(0.4, 1.6), (2.2, 4.6), (6.2, 7.6)]
# on the summary's clock: scene 1 over [0, 1.6) (1.2 s + 0.4 s of the second segment), scene 2
# up to 3.6, scene 4 up to the end (5.0); scene 3 has no chapter
WANT = [("Scene 1", 0.0, 1.6), ("Scene 2", 1.6, 3.6), ("Scene 4", 3.6, 5.0)]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("scenes-src")
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    mp4 = d / "scenes.mp4"
    subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}:duration=8",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=8", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(mp4)], check=True)
    mkv = d / "scenes.mkv"
    subprocess.run([ff, "-v", "error", "-i", str(mp4), "-c", "copy", str(mkv)], check=True)
    return {".mp4": mp4, ".mkv": mkv}


def job(src: Path, out: Path, cut: str = "exact", crossfade: float = 0.0) -> Job:
    info = VideoInfo(str(src), float(FPS), 8 * FPS, 8.0, 320, 240)
    return Job(info, list(SEGMENTS), out, cut=cut, crossfade=crossfade, scenes=list(SCENES))


def chapters(path: Path) -> list[tuple[str, float, float]]:
    """The chapters of a media file as ffmpeg itself reads them (its FFMETADATA dump)."""
    text = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, check=True).stdout
    got = []
    for block in text.split("[CHAPTER]")[1:]:
        kv = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        num, den = (int(x) for x in kv["TIMEBASE"].split("/"))
        got.append((kv.get("title", ""), int(kv["START"]) * num / den, int(kv["END"]) * num / den))
    return got


@pytest.mark.parametrize("ext, cut", [(".mp4", "exact"), (".mp4", "smart"), (".mkv", "smart"), (".mkv", "keyframe")])
def test_summary_video_has_a_chapter_per_scene_shown(sources, tmp_path, ext, cut):
    j = job(sources[ext], tmp_path, cut)
    result = export.run(j, ["video"])
    (video,) = result.files
    assert video.suffix == (".mp4" if cut == "exact" else ext)
    got = chapters(video)
    assert [t for t, _, _ in got] == [t for t, _, _ in WANT]
    # keyframe pieces start at the keyframe before their cut (0.4 s early here): later chapters move by that
    tol = 0.45 * len(SEGMENTS) if cut == "keyframe" else 1.5 / FPS
    for (_, s, e), (_, ws, we) in zip(got, WANT):
        assert s == pytest.approx(ws, abs=tol) and e == pytest.approx(we, abs=tol)
    assert got[0][1] == 0 and all(a[2] == b[1] for a, b in zip(got, got[1:]))  # they tile the summary
    if cut == "smart":
        assert j.smart_copied > 0  # the smart path copied GOPs, and still kept the chapters
    import av

    with av.open(str(video)) as c:
        # MP4 carries chapters as a QuickTime chapter track (a data stream players do not show);
        # Matroska in its own chapter list
        extra = [s.type for s in c.streams if s.type not in ("video", "audio")]
        assert extra == (["data"] if video.suffix == ".mp4" else [])
        assert len(c.streams.video) == len(c.streams.audio) == 1
        if hasattr(c, "chapters"):  # PyAV >= 14 reads them too
            read = c.chapters()
            assert [ch["metadata"].get("title") for ch in read] == [t for t, _, _ in got]
            assert [float(ch["start"] * ch["time_base"]) for ch in read] == pytest.approx([s for _, s, _ in got], abs=1e-3)


def test_crossfaded_summary_moves_the_chapters_by_the_fades(sources, tmp_path):
    result = export.run(job(sources[".mp4"], tmp_path, "exact", crossfade=0.3), ["video"])
    got = chapters(result.files[0])
    # each join overlaps the pieces by 0.3 s: scene 2 starts 0.3 s earlier, scene 4 0.6 s
    want = [("Scene 1", 0.0, 1.3), ("Scene 2", 1.3, 3.0), ("Scene 4", 3.0, 4.4)]
    assert [t for t, _, _ in got] == [t for t, _, _ in want]
    for (_, s, e), (_, ws, we) in zip(got, want):
        assert s == pytest.approx(ws, abs=1.5 / FPS) and e == pytest.approx(we, abs=1.5 / FPS)


def test_otio_has_a_marker_per_scene_shown(sources, tmp_path):
    result = export.run(job(sources[".mp4"], tmp_path), ["otio"])
    tl = otio.adapters.read_from_file(str(result.files[0]))
    marks = list(tl.tracks.markers)
    assert [m.name for m in marks] == [t for t, _, _ in WANT]
    for m, (_, ws, we) in zip(marks, WANT):
        r = m.marked_range
        assert r.start_time.to_seconds() == pytest.approx(ws, abs=1 / FPS)
        assert r.end_time_exclusive().to_seconds() == pytest.approx(we, abs=1 / FPS)
    assert [m.metadata["vsumgui"]["start"] for m in marks] == [SCENES[i][0] for i in (0, 1, 3)]


def test_sample_summary_scenes_become_markers(sample_summary, tmp_path):
    """On a real summary: one marker for each scene its segments touch, inside the timeline, in order."""
    sample_summary.select(0.15, "diverse")
    scenes = sample_summary.scene_secs
    segs = sample_summary.selection.segments
    shown = [c + 1 for c, (s0, s1) in enumerate(scenes) if any(min(b, s1) - max(a, s0) >= 0.1 for a, b in segs)]
    assert len(shown) >= 2
    result = export.export(sample_summary, tmp_path, ["otio"])
    tl = otio.adapters.read_from_file(str(result.files[0]))
    marks = list(tl.tracks.markers)
    assert [int(re.fullmatch(r"Scene (\d+)", m.name).group(1)) for m in marks] == shown
    end = tl.duration().to_seconds()
    starts = [m.marked_range.start_time.to_seconds() for m in marks]
    assert starts == sorted(starts) and starts[0] == 0 and marks[-1].marked_range.end_time_exclusive().to_seconds() <= end + 1e-6
