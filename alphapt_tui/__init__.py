"""AlphaPT TUI: the terminal desk over the AlphaPT engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alphapt-tui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
