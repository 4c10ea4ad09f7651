"""File → Open Folder…: the library list, the batch as a background job (progress, Cancel) on a
real LocalCluster, and a double-click that opens a video with its cached summary."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import VIDEOS
from vsumgui.core import batch


@pytest.mark.slow
def test_library_batch_cancel_and_open(window, qtbot, tmp_path):
    lib = tmp_path / "videos"
    lib.mkdir()
    by_name = {p.name: p for p in VIDEOS}
    shutil.copy(by_name["friday_cc0.mp4"], lib / "friday.mp4")
    shutil.copy(by_name["flower_cc0.mp4"], lib / "flower.mp4")
    for name in ("friday.mp4", "flower.mp4"):  # other content keys: nothing of them is cached by other tests
        with open(lib / name, "ab") as f:
            f.write(b"\0" * 16)
    (lib / "damaged.mp4").write_bytes(np.random.default_rng(1).bytes(20000))
    assert "Open &Folder…" in [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    library = window.library
    library.options = batch.BatchOptions(methods=["ctvsum"])
    library.workers = 1
    with qtbot.waitSignal(library.listed, timeout=60_000):
        library.open_folder(lib)
    table = library.panel.table
    names = [table.item(i, 0).text() for i in range(table.rowCount())]
    assert names == ["damaged.mp4", "flower.mp4", "friday.mp4"]
    assert {table.item(i, 2).text() for i in range(3)} == {"not done"}

    # Cancel while the run starts (a short video can be summarized before a worker's first progress
    # reaches the window, so waiting for one would race): nothing is written for the stopped videos
    library.start()
    assert library.busy and library.panel.cancel_button.isEnabled()
    library.cancel()
    qtbot.waitUntil(lambda: not library.busy, timeout=120_000)
    assert "Cancelled" in library.panel.state.text()
    assert not list(library.out.rglob(".*.part"))  # no partial file, whatever was running
    qtbot.waitUntil(lambda: not library.scan.busy, timeout=30_000)  # the list read again
    # a short video may have finished in the moment before the cancel arrived: its summary is
    # whole and its row says so; the stopped ones have nothing written
    written = {p.name for p in library.out.rglob("*-summary.json")}
    rows = {table.item(i, 0).text(): table.item(i, 2).text() for i in (1, 2)}
    for name, state in rows.items():
        assert (state == "summarized") == (f"{name.rsplit('.', 1)[0]}-summary.json" in written), (rows, written)
        assert state in ("summarized", "not done"), rows
    assert "not done" in rows.values(), rows  # the cancel stopped the run
    assert "Cancelled" in library.panel.state.text()  # still said under the counts

    # run to the end: statuses, lengths, thumbnails
    library.start()
    qtbot.waitUntil(lambda: not library.busy, timeout=180_000)
    qtbot.waitUntil(lambda: table.item(2, 2) is not None and table.item(2, 2).text() == "summarized",
                    timeout=30_000)
    states = [table.item(i, 2).text() for i in range(3)]
    assert states[1:] == ["summarized", "summarized"] and states[0].startswith("failed: not a video file")
    assert table.item(1, 1).text() == "0:05" and table.item(1, 3).text().endswith("shots)")
    assert table.cellWidget(1, 4).pixmap() is not None and not table.cellWidget(1, 4).pixmap().isNull()
    assert library.panel.progress.value() == 1000

    # double-click: the video opens and its summary comes from the cache (no decoding)
    with qtbot.waitSignal(window.summaryShown, timeout=60_000) as shown:
        table.cellDoubleClicked.emit(2, 0)
    assert window.path == lib / "friday.mp4"
    assert shown.args[0].cache_hit
