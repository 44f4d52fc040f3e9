"""AlphaPT headless trading engine. Never imports textual, alphapt_tui or screens."""

import sys

if "structlog" not in sys.modules and "twisted" not in sys.modules:
    # structlog imports Twisted for its optional Twisted support whenever it is installed
    # (kiteconnect needs it): 9 MB of RSS in every process, and the engine never logs
    # through Twisted. Hide it while structlog loads; kiteconnect imports it later as usual.
    sys.modules["twisted"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["twisted"]
