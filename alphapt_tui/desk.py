"""Desk mode: the engine in its own thread, the Textual app on the main thread."""

from __future__ import annotations

import contextlib
import threading

from alphapt_tui.app import DeskApp
from alphapt_tui.cli import fail
from alphapt_tui.daemon import start_metrics
from engine.client import LocalEngineClient
from engine.clock import LiveClock
from engine.http_endpoint import MetricsPortInUse
from engine.kernel import EngineStartError, Kernel
from engine.logs import configure_logging
from engine.runner import EngineThread
from engine.settings import Settings


def run_desk(settings: Settings) -> int:
    """Start the engine thread, run the UI until the trader quits, then stop the engine."""
    clock = LiveClock()
    log_file = settings.log.file or settings.data_dir / "logs" / "alphapt.log"
    try:
        configure_logging(clock, settings.log.level, file=log_file)
    except OSError as exc:
        return fail(f"cannot write the log file {log_file}: {exc.strerror}")
    try:
        kernel = Kernel(settings, clock)
    except EngineStartError as exc:
        return fail(str(exc), status=1)
    try:
        metrics = start_metrics(kernel)
    except MetricsPortInUse as exc:
        return fail(str(exc))
    engine = EngineThread(kernel)

    def start_engine() -> None:
        # The engine starts (ledger, tick store: slow imports and I/O) in its own thread once
        # the first screen is up; a start that fails closes the desk, reported below.
        engine.start(wait=False)
        threading.Thread(target=_watch_start, args=(engine, app), daemon=True).start()

    app = DeskApp(LocalEngineClient(engine), settings, after_first_frame=start_engine)
    try:
        app.run()
    finally:
        engine.stop()
        if metrics is not None:
            metrics.stop()
    if isinstance(engine.error, EngineStartError):
        return fail(str(engine.error), status=1)
    if engine.error is not None:
        return fail(f"engine stopped with an error: {engine.error}", status=1)
    return 0


def _watch_start(engine: EngineThread, app: DeskApp) -> None:
    try:
        engine.wait_started(timeout=60.0)
    except Exception:
        with contextlib.suppress(RuntimeError):  # the app may already be gone
            app.call_from_thread(app.exit)
