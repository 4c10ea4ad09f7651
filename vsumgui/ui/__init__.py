"""The desktop window (PySide6 + pyqtgraph). Imports vsumgui.core; the core never imports this."""
