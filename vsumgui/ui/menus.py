"""The window's menus and keyboard shortcuts: File, Labels, Summary, Tools, Playback."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from vsumgui.core.labels import KEEP, SKIP


def build(window) -> None:
    """Make the window's actions (`window.open_action`, `window.keep_action`, ...) in its menu bar;
    each calls the window or one of its controllers."""

    def action(text: str, slot, shortcut=None, tip: str = "", menu=None, everywhere: bool = False) -> QAction:
        a = QAction(text, window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if everywhere:  # the label keys act whichever widget has the focus (a text field keeps its keys)
            a.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        a.setStatusTip(tip)
        a.triggered.connect(slot)
        window.addAction(a)  # shortcuts work wherever the focus is
        if menu is not None:
            menu.addAction(a)
        return a

    std, bar, labels = QKeySequence.StandardKey, window.menuBar(), window.labels
    file_menu, label_menu, summary_menu = bar.addMenu("&File"), bar.addMenu("&Labels"), bar.addMenu("&Summary")
    tools_menu, play_menu = bar.addMenu("&Tools"), bar.addMenu("&Playback")
    window.open_action = action("&Open…", window.open_dialog, std.Open, "Open a video file", file_menu)
    window.open_folder_action = action("Open &Folder…", window.library.open_dialog, "Ctrl+Shift+O",
                                       "List a folder's videos and summarize them all in the background", file_menu)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: window.prefs.fill_recent(window.recent_menu, window.open_video))
    file_menu.addSeparator()
    window.export_action = action("E&xport summary…", window.show_export, "Ctrl+E",
                                  "Write clips, a summary video and edit lists", file_menu)
    window.export_labels_action = action("&Export labels…", lambda: labels.export_dialog(window), None,
                                         "Write the profile's labels to a CSV file", file_menu)
    window.import_labels_action = action("&Import labels…", lambda: labels.import_dialog(window), None,
                                         "Add labels from a CSV file to the profile", file_menu)
    file_menu.addSeparator()
    window.quit_action = action("&Quit", window.close, std.Quit, "", file_menu)
    window.keep_action = action("Mark shot &keep", lambda: labels.label_shot(window.current_shot(), KEEP), "K",
                                "Label the shot under the playhead keep", label_menu, True)
    window.skip_action = action("Mark shot &skip", lambda: labels.label_shot(window.current_shot(), SKIP), "S",
                                "Label the shot under the playhead skip", label_menu, True)
    window.clear_label_action = action("&Clear shot label", lambda: labels.label_shot(window.current_shot(), None),
                                       "C", "Remove the label of the shot under the playhead", label_menu, True)
    window.undo_action = action("&Undo label", labels.undo, std.Undo, "Revert the last label change", label_menu, True)
    window.next_suggestion_action = action("&Next suggested shot", window.suggestions.next, "Tab",
                                           "Move the playhead to the next shot whose label would teach most",
                                           label_menu)
    window.new_profile_action = action("New p&rofile…", window.profile_row.new_profile, None,
                                       "Start a profile: type its name, then Enter", label_menu)
    window.personalize_action = action("&Personalize", window.personalize, "Ctrl+Shift+P",
                                       "Fit a personal curve on the profile's labels", label_menu)
    window.summarize_action = action("&Summarize", window.summarize, "Ctrl+R", "Score the video with every method",
                                     summary_menu)
    window.cancel_action = action("&Cancel", window.cancel, "Esc", "Stop the running summary", summary_menu)
    window.play_summary_action = action("Play s&ummary", window.play_summary, "Ctrl+P",
                                        "Play only the chosen shots, in order", summary_menu)
    window.trainer_action = action("&Trainer…", window.show_trainer, None,
                                   "Pretrain a method on a folder of your videos", tools_menu)
    window.play_action = action("&Play / Pause", window.preview.toggle, "Space", "", play_menu)
    window.show_all_action = action("Show &whole video", window.curves.show_all, "Ctrl+0", "", play_menu)

