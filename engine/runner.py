"""Running the engine on its own asyncio loop in a dedicated thread (desk mode)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from engine.kernel import Kernel

T = TypeVar("T")


class EngineThread:
    """Owns the engine's thread and loop; the UI talks to it only through :meth:`call`."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="engine", daemon=True)

    def start(self, timeout: float = 10.0, wait: bool = True) -> None:
        """Start the engine thread and (unless ``wait`` is false) wait for every component."""
        self._thread.start()
        if wait:
            self.wait_started(timeout)

    def wait_started(self, timeout: float = 10.0) -> None:
        """Block until every component has started; raise what stopped the start, if any."""
        if not self._ready.wait(timeout):
            raise RuntimeError("engine did not start in time")
        if self.error is not None:
            raise self.error

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported to the UI thread, which decides what to show
            self.error = exc
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        waiter = asyncio.create_task(self._signal_ready())
        try:
            await self.kernel.run(self._shutdown)
        finally:
            waiter.cancel()

    async def _signal_ready(self) -> None:
        await self.kernel.started.wait()
        self._ready.set()

    def call(self, function: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``function`` on the engine loop; the future resolves with its result."""

        async def invoke() -> T:
            return function()

        return self.run(invoke())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the engine loop; the future resolves with its result."""
        if self._loop is None or not self._thread.is_alive():
            coroutine.close()
            raise RuntimeError("engine is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    @property
    def alive(self) -> bool:
        """Whether the engine thread is still running."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the engine to shut down and wait for its thread (nothing if never started)."""
        if self._thread.ident is None:
            return
        if self._loop is not None and self._shutdown is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._shutdown.set)
        bound = timeout if timeout is not None else self.kernel.settings.shutdown_timeout_s + 1
        self._thread.join(bound)
