"""vsumgui: a desktop video summarizer."""

__version__ = "0.1.0"
