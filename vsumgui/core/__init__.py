"""Qt-free core of vsumgui: everything a script, a test or the CLI can use."""
