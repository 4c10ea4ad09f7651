"""Exports from the real sample video (VP8 + Vorbis WebM), checked with independent readers:
OpenTimelineIO (OTIO, EDL, FCPXML), csv/json, and PyAV decoding the clips the bundled ffmpeg cut."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest

from vsumgui.cli import main
from vsumgui.core import export
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.export.base import Job, safe_name

EDIT_LISTS = ["edl", "otio", "fcpxml", "csv", "json", "llc"]


# --- helpers ----------------------------------------------------------------------------------
def frames_of(summary) -> list[tuple[int, int]]:
    """The selection in frames, computed here (not by the exporter): round(seconds * fps)."""
    fps = summary.video.fps
    return [(round(s * fps), round(e * fps)) for s, e in summary.selection.segments]


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry of a folder, hidden ones included, with size and mtime."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def media(path: Path) -> dict:
    """Codecs, video frame count and durations, decoded with PyAV."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [f.time for f in c.decode(v)]
        fps = float(v.average_rate or v.guessed_rate)
    with av.open(str(path)) as c:
        audio = c.streams.audio[0].codec_context.name if c.streams.audio else None
        a_end = 0.0
        if audio:
            for f in c.decode(c.streams.audio[0]):
                a_end = f.time + f.samples / f.sample_rate
    return {"container": c.format.name, "video": v.codec_context.name, "audio": audio, "frames": len(times),
            "duration": times[-1] - times[0] + 1 / fps, "audio_duration": a_end}


def gray_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)]


@pytest.fixture(autouse=True)
def _papers_selection(sample_summary):
    """Other test modules re-select the shared summary; export the papers' 15 % knapsack here."""
    sample_summary.select(0.15, "knapsack")


@pytest.fixture(scope="module")
def keyframes(sample_video) -> list[float]:
    """Keyframe times of the sample (media time, from its first video frame), read with PyAV."""
    with av.open(str(sample_video)) as c:
        v = c.streams.video[0]
        t0 = float(v.start_time * v.time_base)
        return sorted(float(p.pts * v.time_base) - t0 for p in c.demux(v) if p.is_keyframe and p.pts is not None)


def source_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Frames of the source by index (decoded from the keyframe before the first one wanted)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        fps = float(v.average_rate)
        t0 = float(v.start_time * v.time_base)
        c.seek(int((t0 + (min(wanted) - 1) / fps) / v.time_base), stream=v, backward=True)
        out = {}
        for f in c.decode(v):
            k = round((f.time - t0) * fps)
            if k in wanted:
                out[k] = f.to_ndarray(format="gray").astype(np.float32)
            if k >= max(wanted):
                break
        return out


# --- registry and names -----------------------------------------------------------------------
def test_every_format_is_registered_with_a_label():
    names = export.names()
    assert names == ["clips", "video", "edl", "otio", "fcpxml", "csv", "json", "llc"]
    for x in export.formats():
        assert x.name and x.label and x.editors
    assert [x.name for x in export.formats() if x.media] == ["clips", "video"]
    assert export.parse_formats(None) == EDIT_LISTS
    assert export.parse_formats("all") == names
    assert export.parse_formats("llc, CLIPS") == ["clips", "llc"]
    with pytest.raises(VsumError, match="unknown export format bogus"):
        export.parse_formats("edl,bogus")


@pytest.mark.parametrize("raw", ["../../etc/passwd", "..", ".hidden", "a/b\\c:d*e?f<g>h|i\"j", "CON",
                                 "name\x00with\nnul", "  ", "x" * 400, "é" * 300])
def test_safe_name_stays_in_the_folder(raw, tmp_path):
    name = safe_name(raw)
    assert name and not name.startswith(".") and len(name.encode()) <= 100
    assert not any(ch in name for ch in '/\\:*?"<>|\x00\n')
    assert name.split(".")[0].upper() != "CON"
    assert (tmp_path / name).parent == tmp_path


def test_hostile_video_name_cannot_escape(sample_summary, tmp_path):
    """A video whose name holds separators and '..' still exports inside the chosen folder."""
    evil = tmp_path / "src" / "..\\..\\evil:?name.webm"
    evil.parent.mkdir()
    evil.symlink_to(sample_summary.video.path)
    summary = replace(sample_summary, features=replace(sample_summary.features,
                                                       video=replace(sample_summary.video, path=str(evil))))
    out = tmp_path / "out"
    out.mkdir()
    result = export.export(summary, out, ["csv", "llc", "otio"])
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in result.files)
    assert all(p.parent == out for p in result.files)
    assert not any("\\" in p.name or ":" in p.name for p in result.files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


# --- edit lists -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edit_lists(sample_summary, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("edit-lists")
    sample_summary.select(0.15, "knapsack")  # made before the autouse fixture runs
    result = export.export(sample_summary, out, EDIT_LISTS)
    files = {p.suffix: p for p in result.files}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in result.files)  # no leftovers
    assert len(files) == 6
    return files


def test_otio_cut_points_equal_the_selection(sample_summary, edit_lists):
    tl = otio.adapters.read_from_file(str(edit_lists[".otio"]))
    fps = sample_summary.video.fps
    want = frames_of(sample_summary)
    assert [t.kind for t in tl.tracks] == ["Video", "Audio"]  # the sample has sound
    for track in tl.tracks:
        got = [(c.source_range.start_time.to_frames(fps), c.source_range.end_time_exclusive().to_frames(fps))
               for c in track.find_clips()]
        assert got == want
        for c in track.find_clips():
            assert c.source_range.start_time.rate == pytest.approx(fps)
            assert Path(c.media_reference.target_url.removeprefix("file://")) == Path(sample_summary.video.path).resolve()
    # back to back on the timeline: the summary is as long as the selection
    assert tl.duration().to_seconds() == pytest.approx(sum(b - a for a, b in want) / fps)


def test_edl_cut_points_equal_the_selection(sample_summary, edit_lists):
    fps = sample_summary.video.fps
    tl = otio.adapters.read_from_file(str(edit_lists[".edl"]), "cmx_3600", rate=fps)
    clips = list(tl.find_clips())
    got = [(c.source_range.start_time.to_frames(fps), c.source_range.end_time_exclusive().to_frames(fps))
           for c in clips]
    assert got == frames_of(sample_summary)
    assert all(c.name == Path(sample_summary.video.path).name for c in clips)
    assert edit_lists[".edl"].read_text().startswith("TITLE: big_buck_bunny_0_30 summary")


def test_fcpxml_reads_back_with_the_fcpx_adapter(sample_summary, edit_lists):
    fps = sample_summary.video.fps
    tl = otio.adapters.read_from_file(str(edit_lists[".fcpxml"]), "fcpx_xml")
    got = [(c.source_range.start_time.to_frames(fps), c.source_range.end_time_exclusive().to_frames(fps))
           for c in tl.find_clips()]
    assert got == frames_of(sample_summary)
    # (the adapter, 1.0.0, predates media-rep and does not read the media's URL: checked below)


# Apple's FCPXML DTD (1.9/1.10, read at developer.apple.com, not copied here): for each element
# this export writes, the attributes the DTD declares and the children it allows, in order.
FCPXML_DTD = {
    "fcpxml": ({"version"}, ["resources", "library"]),
    "resources": (set(), ["format", "asset"]),
    "format": ({"id", "name", "frameDuration", "fieldOrder", "width", "height", "paspH", "paspV", "colorSpace",
                "projection", "stereoscopic"}, []),
    "asset": ({"id", "name", "uid", "start", "duration", "hasVideo", "format", "hasAudio", "videoSources",
               "audioSources", "audioChannels", "audioRate", "customLUTOverride", "colorSpaceOverride",
               "projectionOverride", "stereoscopicOverride", "auxVideoFlags"}, ["media-rep"]),
    "media-rep": ({"kind", "sig", "src", "suggestedFilename"}, []),
    "library": ({"location", "colorProcessing"}, ["event"]),
    "event": ({"name", "uid"}, ["project"]),
    "project": ({"name", "uid", "id", "modDate"}, ["sequence"]),
    "sequence": ({"format", "duration", "tcStart", "tcFormat", "audioLayout", "audioRate", "renderFormat",
                  "keywords"}, ["spine"]),
    "spine": ({"lane", "offset", "name", "format"}, ["asset-clip"]),
    "asset-clip": ({"ref", "lane", "offset", "name", "start", "duration", "enabled", "srcEnable", "audioStart",
                    "audioDuration", "format", "tcStart", "tcFormat", "modDate", "audioRole", "videoRole"}, []),
}
FCPXML_REQUIRED = {"format": {"id"}, "asset": {"id"}, "media-rep": {"src"}, "sequence": {"format"},
                   "asset-clip": {"ref"}}


def test_fcpxml_follows_the_dtd_of_its_version(edit_lists):
    """Every element and attribute is one the DTD declares, with its required attributes, an
    asset's media in a media-rep child (1.9 has no asset src), enumerated values from the DTD's
    lists, and IDREFs that point at declared IDs."""
    import xml.etree.ElementTree as ET

    text = edit_lists[".fcpxml"].read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>')
    root = ET.fromstring(text)
    assert root.tag == "fcpxml" and root.get("version") == "1.9"
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    for e in root.iter():
        attrs, children = FCPXML_DTD[e.tag]
        assert set(e.attrib) <= attrs, (e.tag, set(e.attrib) - attrs)
        assert FCPXML_REQUIRED.get(e.tag, set()) <= set(e.attrib), e.tag
        kids = [c.tag for c in e]
        assert set(kids) <= set(children), (e.tag, kids)
        assert kids == sorted(kids, key=children.index), (e.tag, kids)  # the DTD's order
        for ref in ("ref", "format"):
            if ref in e.attrib and e.tag != "fcpxml":
                assert e.get(ref) in ids
    for a in root.iter("asset"):
        assert len(a.findall("media-rep")) >= 1 and "src" not in a.attrib
        assert a.find("media-rep").get("src").startswith("file:///")
        assert all(m.get("kind") in ("original-media", "proxy-media") for m in a.iter("media-rep"))
    for q in root.iter("sequence"):
        assert q.get("audioRate") in ("32k", "44.1k", "48k", "88.2k", "96k", "176.4k", "192k")
        assert q.get("tcFormat") in ("DF", "NDF") and q.get("audioLayout") in ("mono", "stereo", "surround")
    for c in root.iter("asset-clip"):
        assert c.get("tcFormat") in (None, "DF", "NDF")


def test_otio_converts_to_fcp7_xml_with_otioconvert(sample_summary, edit_lists, tmp_path):
    """OpenTimelineIO's own converter turns the .otio into FCP 7 XML (Premiere's import), and
    its fcp_xml reader finds the same cuts."""
    xml = tmp_path / "summary.xml"
    subprocess.run([str(Path(sys.executable).with_name("otioconvert")), "-i", str(edit_lists[".otio"]),
                    "-o", str(xml)], check=True, capture_output=True)
    tl = otio.adapters.read_from_file(str(xml), "fcp_xml")
    fps = sample_summary.video.fps
    got = [(c.source_range.start_time.to_frames(fps), c.source_range.end_time_exclusive().to_frames(fps))
           for c in tl.video_tracks()[0].find_clips()]
    assert got == frames_of(sample_summary)


def test_edl_at_ten_fps_is_counted_in_a_timecode_rate(hard, tmp_path):
    """A 10 fps video: the EDL counts at 30 fps, says so (FCM line and a comment), names the
    reel AX and the file in comments; OpenTimelineIO's CMX 3600 reader finds every cut."""
    from vsumgui.core.video import probe

    job = Job(probe(hard["tenfps.avi"]), SEGMENTS, tmp_path)
    result = export.run(job, ["edl"])
    text = result.files[0].read_text()
    lines = text.splitlines()
    assert lines[1] == "FCM: NON-DROP FRAME"
    assert any(ln.startswith("* VSUMGUI: THE VIDEO IS 10 FPS; TIMECODE COUNTS AT 30 FPS") for ln in lines)
    events = [ln for ln in lines if ln[:3].isdigit()]
    assert len(events) == len(SEGMENTS) and all(ln.split()[1] == "AX" for ln in events)
    assert "* FROM CLIP NAME:  tenfps.avi" in lines
    tl = otio.adapters.read_from_string(text, "cmx_3600", rate=30)
    got = [(c.source_range.start_time.value / 3, c.source_range.end_time_exclusive().value / 3)
           for c in tl.find_clips()]
    assert got == [(a, b) for a, b in job.frames] == [(6, 12), (14, 26)]


def test_fcpxml_times_are_exact_fractions_at_ntsc_rates():
    from vsumgui.core.export.base import timeline_rate
    from vsumgui.core.export.fcpxml import frame_rate, seconds

    rate = frame_rate(timeline_rate(29.97002997))  # what a probe of a 30000/1001 file returns
    assert rate == Fraction(30000, 1001)
    assert seconds(1, rate) == "1001/30000s" and seconds(0, rate) == "0s"
    assert seconds(48, frame_rate(24.0)) == "48/24s"


def test_edl_rates():
    from vsumgui.core.export.edl import edl_rate

    assert edl_rate(24.0) == (24.0, True)
    assert edl_rate(15.0) == (30.0, True)  # every 15 fps frame is two timecode frames
    assert edl_rate(12.5) == (25.0, True)
    rate, exact = edl_rate(30000 / 1001)
    assert exact and rate == pytest.approx(29.97, abs=1e-2)
    assert edl_rate(120.0)[1] is False


def test_csv_is_the_whole_shot_list_pyscenedetect_reads_back(sample_summary, edit_lists, tmp_path):
    rows = list(csv.DictReader(edit_lists[".csv"].open()))
    assert list(rows[0]) == ["Scene Number", "Start Frame", "Start Timecode", "Start Time (seconds)", "End Frame",
                             "End Timecode", "End Time (seconds)", "Length (frames)", "Length (timecode)",
                             "Length (seconds)"]
    fps = sample_summary.video.fps
    shots = [(round(s * fps), round(e * fps)) for s, e in sample_summary.shot_secs]
    assert [(int(r["Start Frame"]) - 1, int(r["End Frame"])) for r in rows] == shots  # 1-based, inclusive end
    assert edit_lists[".csv"].name == "big_buck_bunny_0_30-Scenes.csv"
    # PySceneDetect itself loads it and lists exactly these shots again
    subprocess.run([sys.executable, "-m", "scenedetect", "-q", "-i", sample_summary.video.path, "-o", str(tmp_path),
                    "load-scenes", "-i", str(edit_lists[".csv"]), "list-scenes", "-s", "-f", "back.csv"],
                   check=True, capture_output=True)
    back = list(csv.DictReader((tmp_path / "back.csv").open()))
    assert [(int(r["Start Frame"]) - 1, int(r["End Frame"])) for r in back] == shots


def test_json_is_the_contract(sample_summary, edit_lists):
    assert json.loads(edit_lists[".json"].read_text()) == json.loads(json.dumps(sample_summary.to_json()))


def test_llc_is_a_losslesscut_project(sample_summary, edit_lists):
    import json5

    doc = json5.loads(edit_lists[".llc"].read_text())
    assert doc["version"] == 1
    # LosslessCut joins mediaFileName to the project's folder: that must be the video
    media = edit_lists[".llc"].parent / doc["mediaFileName"]
    assert media.resolve() == Path(sample_summary.video.path).resolve()
    got = [t for s in doc["cutSegments"] for t in (s["start"], s["end"])]
    want = [float(t) for seg in sample_summary.selection.segments for t in seg]
    assert got == pytest.approx(want, abs=0.5 / sample_summary.video.fps)
    assert all(isinstance(s["name"], str) for s in doc["cutSegments"])
    assert edit_lists[".llc"].name == "big_buck_bunny_0_30-proj.llc"


def test_exported_files_are_readable_by_others(edit_lists):
    umask = os.umask(0o022)
    os.umask(umask)
    for p in edit_lists.values():
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask


# --- media ------------------------------------------------------------------------------------
def test_keyframe_cut_copies_streams_and_cuts_on_keyframes(sample_summary, keyframes, tmp_path):
    result = export.export(sample_summary, tmp_path, ["clips", "video"], cut="keyframe")
    fps = sample_summary.video.fps
    frame = 1 / fps
    gap = max(np.diff(keyframes))  # the sample's longest keyframe interval (~5.3 s)
    clips = sorted(p for p in result.files if "-summary" not in p.name)
    video = next(p for p in result.files if "-summary" in p.name)
    n = len(sample_summary.selection.segments) + 1  # the clips and the summary video
    assert [p.suffix for p in result.files] == [".webm"] * n  # stream copy keeps the container
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in result.files)
    want = frames_of(sample_summary)
    assert [p.name for p in clips] == [f"big_buck_bunny_0_30-{i + 1:03d}-{_clock(a / fps)}-{_clock(b / fps)}.webm"
                                       for i, (a, b) in enumerate(want)]
    total = 0.0
    for p, (a, b) in zip(clips, want):
        m = media(p)
        assert (m["video"], m["audio"]) == ("vp8", "vorbis")  # copied, not re-encoded
        kf = max(k for k in keyframes if k <= a / fps + 0.5 * frame)  # where a copy must start
        assert m["duration"] == pytest.approx(b / fps - kf, abs=frame + 1e-6)
        assert (b - a) / fps - frame <= m["duration"] <= (b - a) / fps + gap + frame
        assert m["audio_duration"] == pytest.approx(m["duration"], abs=0.1)
        total += m["duration"]
    v = media(video)
    assert v["audio"] == "vorbis" and v["duration"] == pytest.approx(total, abs=2 * frame)
    early = [a / fps - max(k for k in keyframes if k <= a / fps + 0.5 * frame) for a, _ in want]
    if max(early) > frame:  # the sample's first segment starts mid-GOP: the user is told
        assert any("keyframe" in n for n in result.notes)


def _clock(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}.{ms // 60_000 % 60:02d}.{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def test_default_cut_is_frame_exact_h264_aac(sample_summary, tmp_path):
    result = export.export(sample_summary, tmp_path, ["clips", "video"])
    fps = sample_summary.video.fps
    frame = 1 / fps
    assert [p.suffix for p in result.files] == [".mp4"] * (len(sample_summary.selection.segments) + 1)
    assert not result.notes
    clips = sorted(p for p in result.files if "-summary" not in p.name)
    want = frames_of(sample_summary)
    for p, (a, b) in zip(clips, want):
        m = media(p)
        assert (m["container"].split(",")[0], m["video"], m["audio"]) == ("mov", "h264", "aac")
        assert abs(m["frames"] - (b - a)) <= 1
        assert m["duration"] == pytest.approx((b - a) / fps, abs=frame + 1e-6)
        assert m["audio_duration"] == pytest.approx((b - a) / fps, abs=0.05)
        # the first and last pictures are the source's frames a and b-1, not their neighbours
        g = gray_frames(p)
        for pic, k in ((g[0], a), (g[-1], b - 1)):
            src = source_frames(Path(sample_summary.video.path), {k - 1, k, k + 1})
            diffs = {j: float(np.abs(pic - src[j]).mean()) for j in (k - 1, k, k + 1)}
            assert min(diffs, key=diffs.get) == k, diffs
    v = media(next(p for p in result.files if "-summary" in p.name))
    assert (v["video"], v["audio"]) == ("h264", "aac")
    assert v["duration"] == pytest.approx(sum(b - a for a, b in want) / fps, abs=frame + 1e-6)


def test_summary_video_crossfades(sample_summary, tmp_path):
    want = frames_of(sample_summary)
    assert len(want) >= 2, "the sample's summary should have several shots"
    result = export.export(sample_summary, tmp_path, ["video"], crossfade=0.5)
    fps = sample_summary.video.fps
    (video,) = result.files
    m = media(video)
    assert video.suffix == ".mp4" and (m["video"], m["audio"]) == ("h264", "aac")
    fade = min(0.5, min(b - a for a, b in want) / fps / 2 - 1 / fps)
    expect = sum(b - a for a, b in want) / fps - fade * (len(want) - 1)
    assert m["duration"] == pytest.approx(expect, abs=1 / fps + 1e-6)
    assert m["audio_duration"] == pytest.approx(expect, abs=0.06)


# --- safety -----------------------------------------------------------------------------------
# the video stage reports from about 1/3 on (clips and edit lists come first) and an idle machine
# encodes it in as few as six reports: the third is midway however fast the encoder is
@pytest.mark.parametrize("stage, reports", [("clips", 3), ("video", 3)])
def test_cancel_midway_leaves_the_folder_as_it_was(sample_summary, tmp_path, stage, reports):
    """Cancelled from the progress callback while ffmpeg encodes: the first clip (stage
    "clips"), or the crossfaded summary video after every clip and edit list is done."""
    (tmp_path / "keep.txt").write_text("mine")
    before = listing(tmp_path)
    cancel = threading.Event()
    seen = []

    def progress(name: str, frac: float) -> None:
        seen.append((name, frac))
        if name == stage and len([s for s in seen if s[0] == stage]) >= reports:
            cancel.set()

    with pytest.raises(Cancelled):
        export.export(sample_summary, tmp_path, "all", accurate=True, progress=progress, cancel=cancel,
                      crossfade=0.5)
    assert cancel.is_set()
    fracs = [f for n, f in seen if n == stage]
    assert len(fracs) >= reports and fracs[-1] < 0.99  # stopped midway, not at the end
    assert listing(tmp_path) == before  # no partial, temporary or finished file, no scratch folder
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_failure_midway_leaves_the_folder_as_it_was(sample_summary, tmp_path, monkeypatch):
    """An ffmpeg error after the edit lists and the clips were written rolls them all back."""
    from vsumgui.core.export import _media

    real = _media.run_ffmpeg

    def failing(args, *a, **kw):
        if "concat" in args:
            args = [*args[:-1], str(tmp_path / "no-such-dir" / "x.webm")]
        return real(args, *a, **kw)

    monkeypatch.setattr(_media, "run_ffmpeg", failing)
    before = listing(tmp_path)
    with pytest.raises(VsumError, match="ffmpeg failed"):
        export.export(sample_summary, tmp_path, "all")
    assert listing(tmp_path) == before


def _unwritable(folder: Path) -> Path:
    """A folder nobody can write into, root included (permission bits do not stop root)."""
    folder.mkdir()
    folder.chmod(0o555)
    if _writable(folder) and shutil.which("chattr"):
        subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if _writable(folder):
        folder.chmod(0o755)
        folder = Path("/sys")  # sysfs: no regular files can be created there
    assert not _writable(folder), "found no read-only folder to test with"
    return folder


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").write_text("x")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def _release(folder: Path) -> None:
    if folder != Path("/sys"):
        if shutil.which("chattr"):
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


def test_unwritable_folder_fails_before_any_work(sample_summary, tmp_path, capsys):
    ro = _unwritable(tmp_path / "ro")
    try:
        calls = []
        with pytest.raises(VsumError, match="cannot write to the output folder"):
            export.export(sample_summary, ro, "all",
                          progress=lambda *a: calls.append(a))
        assert calls == []  # nothing started
        with pytest.raises(VsumError, match="cannot write"):
            export.preflight(sample_summary, ro, "all")
        # the CLI says so in one line, before it computes the summary
        assert main(["summarize", sample_summary.video.path, "--export", str(ro), "-q"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("vsumgui: error:") and "cannot write" in err and err.count("\n") == 1
    finally:
        _release(ro)
    # a folder under a regular file cannot be created
    (tmp_path / "file").write_text("x")
    with pytest.raises(VsumError, match="cannot create the output folder"):
        export.export(sample_summary, tmp_path / "file" / "sub", ["json"])


def test_existing_files_are_not_overwritten(sample_summary, tmp_path):
    export.export(sample_summary, tmp_path, ["json", "csv"])
    csv_path = tmp_path / "big_buck_bunny_0_30-Scenes.csv"
    csv_path.write_text("mine")
    assert export.preflight(sample_summary, tmp_path, ["json", "csv", "edl"]) == \
        [tmp_path / "big_buck_bunny_0_30-Scenes.csv", tmp_path / "big_buck_bunny_0_30-summary.json"]
    before = listing(tmp_path)
    with pytest.raises(VsumError, match="already exist"):
        export.export(sample_summary, tmp_path, ["json", "csv", "edl"])
    assert listing(tmp_path) == before and csv_path.read_text() == "mine"  # the edl was not written either
    result = export.export(sample_summary, tmp_path, ["json", "csv", "edl"], overwrite=True)
    assert len(result.files) == 3 and csv_path.read_text().startswith("Scene Number")


def test_export_without_a_summary(sample_summary, tmp_path):
    """Exporters work from bare segments too (a Job built from a VideoInfo and seconds)."""
    job = Job(sample_summary.video, [(1.0, 2.5), (10.0, 11.0)], tmp_path)
    result = export.run(job, ["json", "otio"])
    doc = json.loads(next(p for p in result.files if p.suffix == ".json").read_text())
    assert doc["selection"]["segments"] == [[1.0, 2.5], [10.0, 11.0]]
    tl = otio.adapters.read_from_file(str(next(p for p in result.files if p.suffix == ".otio")))
    assert [c.source_range.start_time.value for c in tl.tracks[0].find_clips()] == [24, 240]


# --- CLI --------------------------------------------------------------------------------------
def test_cli_export(sample_summary, tmp_path, capsys):
    out = tmp_path / "exports"
    assert main(["summarize", sample_summary.video.path, "-q", "--export", str(out), "--formats", "edl,csv,clips",
                 "--mode", "knapsack"]) == 0
    text = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 + len(sample_summary.selection.segments)
    assert "exported" in text and "exact cuts" in text and all(n in text for n in names)
    # again without --overwrite: refused, files untouched
    before = listing(out)
    assert main(["summarize", sample_summary.video.path, "-q", "--export", str(out), "--formats", "edl"]) == 1
    assert "--overwrite" in capsys.readouterr().err and listing(out) == before
    assert main(["summarize", sample_summary.video.path, "-q", "--export", str(out), "--formats", "edl",
                 "--overwrite"]) == 0
    with pytest.raises(SystemExit) as e:
        main(["summarize", sample_summary.video.path, "--export", str(out), "--formats", "edl,bogus"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["summarize", sample_summary.video.path, "--formats", "edl"])  # no --export
    assert e.value.code == 2


# --- an NTSC H.264/AAC MP4 ------------------------------------------------------------------
def test_ntsc_mp4_edit_lists_and_accurate_clips(media_dir, tmp_path):
    """29.97 fps (30000/1001) H.264 with B-frames: exact rates in OTIO/FCPXML, drop-frame EDL,
    accurate clips with the selected number of frames."""
    from vsumgui.core.pipeline import Options, summarize

    summary = summarize(media_dir / "flower_cc0.mp4", Options(ratio=0.4, mode="highlight"))
    want = frames_of(summary)
    assert want, "the highlight mode should select part of the flower clip"
    result = export.export(summary, tmp_path, ["otio", "edl", "fcpxml", "clips"], accurate=True)  # the old flag
    files = {p.suffix: p for p in result.files}
    tl = otio.adapters.read_from_file(str(files[".otio"]))
    clips = list(tl.tracks[0].find_clips())
    assert clips[0].source_range.start_time.rate == 30000 / 1001  # exact, not the probed float
    assert [(c.source_range.start_time.value, c.source_range.end_time_exclusive().value) for c in clips] == want
    edl = otio.adapters.read_from_file(str(files[".edl"]), "cmx_3600", rate=30000 / 1001)
    assert [(c.source_range.start_time.value, c.source_range.end_time_exclusive().value)
            for c in edl.find_clips()] == want
    assert 'frameDuration="1001/30000s"' in files[".fcpxml"].read_text()
    for p, (a, b) in zip(sorted(p for p in result.files if p.suffix == ".mp4"), want):
        m = media(p)
        assert (m["video"], m["audio"]) == ("h264", "aac") and abs(m["frames"] - (b - a)) <= 1


def test_video_without_sound(sample_video, tmp_path):
    """A silent source: clips and a crossfaded summary with a video stream only."""
    from vsumgui.core.export._media import ffmpeg_exe
    from vsumgui.core.video import probe

    silent = tmp_path / "silent.webm"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(sample_video), "-an", "-c", "copy", str(silent)],
                   check=True)
    out = tmp_path / "out"
    job = Job(probe(silent), [(2.0, 3.0), (21.0, 22.0)], out, crossfade=0.25)
    result = export.run(job, ["clips", "video", "otio"])
    tl = otio.adapters.read_from_file(str(next(p for p in result.files if p.suffix == ".otio")))
    assert [t.kind for t in tl.tracks] == ["Video"]
    for p in result.files:
        if p.suffix != ".otio":
            m = media(p)
            assert m["audio"] is None and m["video"] == "h264"  # exact cuts: re-encoded
    video = next(p for p in result.files if p.name == "silent-summary.mp4")  # crossfades: MP4
    assert media(video)["duration"] == pytest.approx(2.0 - 0.25, abs=1 / 24 + 1e-6)


# --- hard cases, made with the bundled ffmpeg (3 s, 160x90) ----------------------------------
_V = ["-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=3"]
_A = ["-f", "lavfi", "-i", "sine=f=440:d=3"]
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-g", "10", "-sc_threshold", "0",
         "-x264-params", "b-pyramid=normal"]
HARD = {  # name: (ffmpeg arguments after the inputs, number of audio streams)
    "odd444.mp4": (["-f", "lavfi", "-i", "testsrc2=s=191x107:r=25:d=3", *_A, "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "aac", "-shortest"], 1),
    "offset.mpg": ([*_V, *_A, "-c:v", "mpeg2video", "-q:v", "3", "-c:a", "mp2", "-output_ts_offset", "0.54",
                    "-f", "mpeg"], 1),
    "offset.ts": ([*_V, *_A, *_X264, "-c:a", "aac", "-f", "mpegts"], 1),
    "bframes.mp4": ([*_V, *_A, *_X264, "-c:a", "aac"], 1),
    "opengop.mkv": ([*_V, *_A, *_X264[:-1], "b-pyramid=normal:open-gop=1", "-c:a", "aac"], 1),
    "tenfps.avi": (["-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=3", *_A, "-c:v", "mpeg4", "-q:v", "3",
                    "-c:a", "pcm_s16le", "-shortest"], 0 + 1),
    "vfr.mkv": ([*_V, "-vf", "select='not(between(n,20,34))'", "-fps_mode", "vfr", "-an", "-c:v", "libx264",
                 "-preset", "ultrafast", "-g", "10"], 0),
    "ten.mp4": ([*_V, *_A, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-c:a", "aac",
                 "-shortest"], 1),
    "twoaudio.mkv": ([*_V, *_A, "-f", "lavfi", "-i", "sine=f=880:d=3", "-map", "0", "-map", "1", "-map", "2",
                      "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "12", "-c:a", "aac", "-shortest"], 2),
    "hevc.mp4": ([*_V, *_A, "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                  "log-level=error:keyint=12:min-keyint=12:scenecut=0:open-gop=0", "-c:a", "aac", "-shortest"], 1),
}
SEGMENTS = [(0.6, 1.2), (1.4, 2.6)]  # whole frames at 25 and at 10 fps


@pytest.fixture(scope="module")
def hard(tmp_path_factory) -> dict[str, Path]:
    from vsumgui.core.export._media import ffmpeg_exe

    folder = tmp_path_factory.mktemp("hard")
    out = {}
    for name, (args, _) in HARD.items():
        out[name] = folder / name
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args, str(out[name])], check=True)
    # an MP4 edit list: a stream copy that starts mid-GOP keeps the GOP and hides its head
    out["editlist.mp4"] = folder / "editlist.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", "0.3", "-i", str(out["bframes.mp4"]), "-c", "copy",
                    str(out["editlist.mp4"])], check=True)
    return out


def decoded(path: Path) -> tuple[list[float], list[np.ndarray]]:
    """Every frame's time (from the first frame) and its gray picture, decoded with PyAV."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        t0 = float(v.start_time * v.time_base) if v.start_time is not None else 0.0
        pairs = [(float(f.pts * v.time_base) - t0, f.to_ndarray(format="gray").astype(np.float32))
                 for f in c.decode(v)]
    return [t for t, _ in pairs], [g for _, g in pairs]


def nearest(pic: np.ndarray, frames: list[np.ndarray]) -> int:
    """Index of the source frame most like `pic` (scaled to the source's size first)."""
    import cv2

    if pic.shape != frames[0].shape:
        pic = cv2.resize(pic, frames[0].shape[::-1], interpolation=cv2.INTER_AREA)
    return int(np.argmin([np.abs(pic - f).mean() for f in frames]))


def clean_decode(path: Path) -> str:
    from vsumgui.core.export._media import ffmpeg_exe

    return subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True).stderr


def check_media(src: Path, result, out_ext: str, audio: int, caplog) -> None:
    """Every clip and the summary video: container of its name, decodes without a message,
    holds exactly the source's frames of its segments (first and last compared by picture),
    every audio stream, as long as the video; the joins made no muxer warning."""
    times, frames = decoded(src)
    with av.open(str(src)) as c:
        fps = float(c.streams.video[0].average_rate or c.streams.video[0].guessed_rate)
    want = [[k for k, t in enumerate(times) if s - 0.5 / 25 <= t < e - 0.5 / 25] for s, e in SEGMENTS]
    clips = sorted(p for p in result.files if "-summary" not in p.name)
    (video,) = [p for p in result.files if "-summary" in p.name]
    assert [p.suffix for p in result.files] == [out_ext] * 3
    for p, ks in [*zip(clips, want), (video, [k for w in want for k in w])]:
        assert clean_decode(p) == "", p.name
        with av.open(str(p)) as c:
            assert c.format.name.split(",")[0] == {".mp4": "mov", ".mkv": "matroska"}[out_ext]
            assert len(c.streams.audio) == audio
            v = c.streams.video[0].codec_context
            assert v.width % 2 == 0 and v.height % 2 == 0 and v.format.name == "yuv420p"
            assert v.width / v.height == pytest.approx(frames[0].shape[1] / frames[0].shape[0], rel=0.01)
        t, pics = decoded(p)
        assert len(pics) == len(ks), p.name
        assert (nearest(pics[0], frames), nearest(pics[-1], frames)) == (ks[0], ks[-1]), p.name
        if audio:
            m = media(p)
            assert m["audio_duration"] == pytest.approx(len(ks) / fps if fps else t[-1], abs=0.05)
    bad = [r.getMessage() for r in caplog.records if " file: ffmpeg:" in r.getMessage()]
    assert not bad  # the final muxes (clips, summary) warned about nothing


@pytest.mark.parametrize("name", ["odd444.mp4", "offset.mpg", "offset.ts", "editlist.mp4", "opengop.mkv",
                                  "tenfps.avi", "vfr.mkv", "ten.mp4", "twoaudio.mkv", "hevc.mp4"])
def test_exact_cut_of_hard_sources(hard, name, tmp_path, caplog):
    from vsumgui.core.video import probe

    src = hard[name]
    job = Job(probe(src), SEGMENTS, tmp_path)
    result = export.run(job, ["clips", "video"])
    assert not result.notes
    check_media(src, result, ".mp4", HARD.get(name, HARD["bframes.mp4"])[1], caplog)


@pytest.mark.parametrize("name, copied", [("bframes.mp4", True), ("editlist.mp4", True), ("offset.ts", True),
                                          ("twoaudio.mkv", True), ("hevc.mp4", True), ("vfr.mkv", True),
                                          ("opengop.mkv", False), ("odd444.mp4", False), ("tenfps.avi", False)])
def test_smart_cut_of_hard_sources(hard, name, copied, tmp_path, caplog):
    """Smart cuts are frame-exact too; GOPs are copied where the stream allows, else the
    export re-encodes and says why."""
    from vsumgui.core.video import probe

    src = hard[name]
    job = Job(probe(src), SEGMENTS, tmp_path, cut="smart")
    result = export.run(job, ["clips", "video"])
    spliced = name.endswith((".mp4", ".ts", ".mkv")) and name not in ("odd444.mp4",)
    ext = src.suffix if src.suffix in (".mp4", ".mkv") else ".mp4"
    check_media(src, result, ext, HARD.get(name, HARD["bframes.mp4"])[1], caplog)
    assert (job.smart_copied > 0.5) == copied
    if not copied:
        assert any(n.startswith("smart cut:") for n in result.notes), result.notes
    if copied and spliced:  # the copied GOPs are the source's own bytes: the codec is the source's
        with av.open(str(result.files[0])) as c, av.open(str(src)) as s:
            assert c.streams.video[0].codec_context.name == s.streams.video[0].codec_context.name


def test_smart_cut_parts_say_the_source_profile(tmp_path):
    """Every part of a smart cut, re-encoded or copied, is in the source's profile (x264's
    ultrafast alone would write Main into a High stream)."""
    from vsumgui.core.export._cut import cut_all
    from vsumgui.core.export._media import ffmpeg_exe
    from vsumgui.core.video import probe

    src = tmp_path / "high.mp4"  # x264's default preset: High profile, 8x8 transforms, B-frames
    subprocess.run([ffmpeg_exe(), "-v", "error", *_V, "-c:v", "libx264", "-g", "10", "-sc_threshold", "0",
                    "-pix_fmt", "yuv420p", str(src)], check=True)
    with av.open(str(src)) as s:
        want = s.streams.video[0].codec_context.profile
    assert want == "High"
    job = Job(probe(src), SEGMENTS, tmp_path / "out", cut="smart")
    job.out_dir.mkdir()
    try:
        parts = [path for p in cut_all(job, None, None, None) for path, _ in p.parts]
        encoded = [p for p in parts if p.name.endswith(("-h.ts", "-t.ts"))]
        assert encoded and len(encoded) < len(parts)
        for part in parts:
            with av.open(str(part)) as c:
                assert c.streams.video[0].codec_context.profile == want, part.name
    finally:
        job.cleanup()


def test_export_removes_what_a_killed_export_left(sample_summary, tmp_path):
    """A killed export leaves its scratch folder and hidden .part files: the next export into the
    folder removes them (only names this program makes), unless an export there still runs."""
    from vsumgui.core.export.base import hold_lock

    dead = tmp_path / ".vsumgui-export-k1ll3d_"
    dead.mkdir()
    (dead / "piece-0000-exact-v.ts").write_bytes(b"x" * 100)
    (dead / "lock").touch()  # its process is gone: nobody holds the lock
    part = tmp_path / ".big_buck_bunny_0_30-summary.edl.a1b2c3d4.part"
    part.write_text("half an EDL")
    mine = [tmp_path / ".hidden", tmp_path / "notes.part", tmp_path / ".x.part"]  # not names we make
    for p in mine:
        p.write_text("the user's")
    # another export still running in this folder: its scratch folder and the .part files stay
    live = tmp_path / ".vsumgui-export-running"
    live.mkdir()
    lock = hold_lock(live)
    try:
        export.export(sample_summary, tmp_path, ["json"])
        assert not dead.exists() and live.exists() and part.exists()
    finally:
        lock.close()
    export.export(sample_summary, tmp_path, ["csv"])  # now nothing runs: the .part goes too
    assert not part.exists() and not live.exists()
    assert all(p.read_text() == "the user's" for p in mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(p.name for p in mine), "big_buck_bunny_0_30-Scenes.csv", "big_buck_bunny_0_30-summary.json"])


def test_pieces_are_cut_side_by_side_and_one_failure_stops_the_rest(monkeypatch):
    """`_cut.each` runs the tasks at once (as many as cores), keeps their order, stops the
    others when one fails and raises that task's error, not the siblings' Cancelled."""
    from vsumgui.core.cpu import cut_jobs
    from vsumgui.core.export._cut import each

    running, peak, lock = [0], [0], threading.Lock()
    seen = []

    def task(i, frac, stop):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            for k in range(50):
                if stop.is_set():
                    raise Cancelled()
                frac(k / 50)
                threading.Event().wait(0.002)
            if i == 2 and fail:
                raise VsumError("segment 3: ffmpeg failed")
            return i * i
        finally:
            with lock:
                running[0] -= 1
                seen.append(i)

    reports = []
    fail = False
    assert each([1.0] * 6, task, reports.append, None) == [0, 1, 4, 9, 16, 25]
    assert peak[0] == min(6, cut_jobs())
    assert reports == sorted(reports)  # each task's share only grows
    assert max(reports) == pytest.approx(49 / 50)
    fail, seen[:] = True, []
    with pytest.raises(VsumError, match="segment 3"):
        each([1.0] * 40, task, None, None)
    assert len(seen) < 40  # the tasks after the failure never ran: their pool was stopped
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        each([1.0] * 3, task, None, cancel)
    # Ctrl-C while waiting (the CLI cuts on its main thread): the running tasks stop, the queued never start
    from vsumgui.core.export import _cut

    real_wait = _cut.wait

    def interrupted(fs, return_when=None):
        if return_when is not None:
            threading.Event().wait(0.02)  # the first tasks are running
            raise KeyboardInterrupt
        return real_wait(fs)

    monkeypatch.setattr(_cut, "wait", interrupted)
    seen[:] = []
    with pytest.raises(KeyboardInterrupt):
        each([1.0] * 40, task, None, None)
    assert 0 < len(seen) <= cut_jobs()  # stopped where they were; nothing queued ran
    monkeypatch.undo()
    # a batch worker's share of the cores (VSUMGUI_THREADS) bounds the encoders it starts
    monkeypatch.setenv("VSUMGUI_THREADS", "1")
    fail, peak[0] = False, 0
    assert each([1.0] * 4, task, None, None) == [0, 1, 4, 9] and peak[0] == 1
