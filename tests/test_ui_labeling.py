"""The labels controller on the summarized sample and a real SQLite store (no window)."""

from __future__ import annotations

import pytest

from vsumgui.core.labels import KEEP, SKIP, LabelStore
from vsumgui.ui.labeling import Labels


@pytest.fixture
def labels(tmp_path, monkeypatch, sample_summary, qtbot):
    monkeypatch.setenv("VSUMGUI_DATA_DIR", str(tmp_path / "data"))
    lab = Labels("default")
    lab.open(sample_summary.video.path)
    lab.show(sample_summary)
    yield lab
    lab.close()


def test_label_undo_and_profiles(labels, sample_summary, qtbot):
    statuses: list[str] = []
    labels.status.connect(lambda text, ms: statuses.append(text))
    labels.label_shot(0, KEEP)
    labels.label_shot(1, SKIP)
    labels.label_shot(1, SKIP)  # no change: nothing stored, nothing to undo
    assert labels.shot_labels() == {0: KEEP, 1: SKIP} and len(labels.undo_stack) == 2
    assert statuses == ["Shot 1 keep (Ctrl+Z undoes)", "Shot 2 skip (Ctrl+Z undoes)"]
    with LabelStore() as other:  # stored at once
        assert len(other.get("default", sample_summary.features.key)) == 2
    labels.label_shot(0, None)
    labels.undo()
    assert labels.shot_labels() == {0: KEEP, 1: SKIP}
    with qtbot.waitSignal(labels.profileChanged) as sig:
        labels.set_profile("  alice ")
    assert sig.args == ["alice"] and labels.shot_labels() == {} and labels.undo_stack == []
    assert labels.profiles()[-1] == "alice"  # no label yet: listed as the current one
    labels.set_profile("")
    assert labels.profile == "default" and labels.shot_labels() == {0: KEEP, 1: SKIP}


def test_csv_round_trip_and_a_bad_file_in_one_sentence(labels, tmp_path, qtbot):
    labels.label_shot(2, KEEP)
    out = tmp_path / "labels.csv"
    assert labels.export_to(out) == 1
    labels.set_profile("bob")
    assert labels.import_from(out) == 1 and labels.shot_labels() == {2: KEEP}
    bad = tmp_path / "bad.csv"
    bad.write_text("video,start,end,label,path\nabc,x,1,keep,\n")
    with qtbot.waitSignal(labels.error) as sig:
        assert labels.import_from(bad) is None
    assert sig.args[0].startswith("Cannot import the labels:") and "line 2" in sig.args[0]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with qtbot.waitSignal(labels.error) as sig:
        assert labels.export_to(blocker / "x.csv") is None  # a folder inside a regular file cannot exist
    assert sig.args[0].startswith("Cannot export the labels:")


def test_no_summary_no_labels(labels):
    labels.show(None)
    assert not labels.can_label and labels.shot_labels() == {}
    labels.label_shot(0, KEEP)  # ignored: there are no shots to label
    assert labels.undo_stack == []
