"""Headless mode: the engine on the main thread, JSON logs on stdout, metrics over HTTP."""

from __future__ import annotations

import asyncio
import signal
import sys

import structlog

from alphapt_tui.cli import fail
from engine.clock import LiveClock
from engine.http_endpoint import MetricsPortInUse, MetricsServer
from engine.kernel import EngineStartError, Kernel
from engine.logs import configure_logging
from engine.settings import Settings


def start_metrics(kernel: Kernel) -> MetricsServer | None:
    """Start the metrics endpoint if enabled; raises MetricsPortInUse on a taken port."""
    settings = kernel.settings.metrics
    if not settings.enabled:
        return None
    server = MetricsServer(kernel.metrics.registry, settings.host, settings.port, kernel.readiness)
    server.start()
    return server


def run_daemon(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; exit 0 after a clean shutdown."""
    clock = LiveClock()
    configure_logging(clock, settings.log.level, stream=sys.stdout)
    log = structlog.get_logger("alphapt.daemon")
    try:
        kernel = Kernel(settings, clock)
    except EngineStartError as exc:
        return fail(str(exc), status=1)
    try:
        metrics = start_metrics(kernel)
    except MetricsPortInUse as exc:
        return fail(str(exc))
    if metrics is not None:
        log.info("metrics endpoint", host=settings.metrics.host, port=metrics.port)

    async def serve() -> None:
        shutdown = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, shutdown.set)
        await kernel.run(shutdown)

    try:
        asyncio.run(serve())
    except EngineStartError as exc:
        log.error("engine could not start", reason=str(exc))
        return fail(str(exc), status=1)
    finally:
        if metrics is not None:
            metrics.stop()
    log.info("daemon exited cleanly")
    return 0
