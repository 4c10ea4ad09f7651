"""Colours and text formats shared by every widget, so a method looks the same everywhere."""

from __future__ import annotations

import zlib

from PySide6.QtGui import QColor

# Okabe-Ito colours (safe for colour-blind readers) for the methods of DESIGN.md;
# the baselines are greys so the learned/contrastive methods stand out.
METHOD_COLORS = {
    "ctvsum": "#0072B2",
    "csum": "#D55E00",
    "chd": "#009E73",
    "visp": "#CC79A7",
    "trim": "#E69F00",
    "uniform-sampling": "#7F7F7F",
    "random": "#B3B3B3",
}
# Methods added later get one of these, chosen by a hash of the name (stable across runs).
SPARE_COLORS = ("#56B4E9", "#8C564B", "#17BECF", "#BCBD22", "#9467BD", "#E377C2", "#1F9E89")
BASELINES = ("uniform-sampling", "random")  # drawn thinner: references, not methods
COMPONENT_COLORS = {"align": "#1B9E77", "uniform": "#D95F02", "unique": "#7570B3"}

BACKGROUND = "#FFFFFF"
FOREGROUND = "#303030"
GRID = "#D0D0D0"
SHOT_LINE = "#C8C8C8"
CHOSEN = QColor(255, 176, 0)  # amber: chosen shots in plots and timeline
PLAYHEAD = "#D62728"
DRIVER_WIDTH = 3.4  # px: the curve that chooses the pieces
OTHER_ALPHA = 110  # of 255: every other curve, so the driver reads first
NOTE = "#707070"  # secondary text (hints, empty states)


def _spare(name: str) -> str:
    return SPARE_COLORS[zlib.crc32(name.encode()) % len(SPARE_COLORS)]


def method_color(name: str) -> QColor:
    return QColor(METHOD_COLORS.get(name) or _spare(name))


def method_width(name: str) -> float:
    return 1.2 if name in BASELINES else 2.2


def component_color(name: str) -> QColor:
    return QColor(COMPONENT_COLORS.get(name) or _spare(name))


def chosen_fill(alpha: int = 70) -> QColor:
    c = QColor(CHOSEN)
    c.setAlpha(alpha)
    return c


def fmt_time(t: float) -> str:
    """m:ss, or h:mm:ss from an hour on (media time, whole seconds)."""
    t = max(0, int(round(t)))
    h, rest = divmod(t, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def fmt_fps(fps: float) -> str:
    return f"{fps:.3f}".rstrip("0").rstrip(".") + " fps"

# Label marks on the timeline: green and purple, so a skip mark is never read as the red playhead
# (and the pair stays apart for red-green colour-blind readers, Okabe-Ito bluish green / purple).
KEEP = "#009E73"
SKIP = "#7A3FA0"


def title(name: str) -> str:
    """A curve's display name: the method's title ("CTVSUM"), or the name itself (personal curves)."""
    from vsumgui.core import methods  # here, not at the top: style stays light to import
    from vsumgui.core.errors import VsumError

    try:
        return methods.method_class(name).title or name
    except VsumError:  # not a registered method (a personalized curve): its name is its title
        return name


def fmt_count(n: int, word: str) -> str:
    """"1 piece", "5 pieces"."""
    return f"{n} {word}{'' if n == 1 else ('es' if word.endswith(('s', 'sh', 'ch', 'x')) else 's')}"
