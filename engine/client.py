"""The one interface a front end uses to drive an engine, local or remote."""

from __future__ import annotations

import asyncio
from typing import Protocol

from engine.orders.commands import SubmitOrder
from engine.runner import EngineThread
from engine.snapshot import CommandResult, DeskSnapshot, HealthReport
from engine.trading.views import OrderEstimate


class EngineClient(Protocol):
    """What the desk needs from an engine. A NATS implementation serves ``attach``."""

    async def snapshot(self, since: int) -> DeskSnapshot:
        """Everything that changed after version ``since``."""
        ...

    async def send(self, command: object) -> CommandResult:
        """Carry out a command and return its result."""
        ...

    async def health(self) -> HealthReport:
        """Components, queues, storage and data quality."""
        ...

    async def instruments(self) -> tuple[str, ...]:
        """Every instrument key the engine knows (``NSE:RELIANCE``), for symbol search."""
        ...

    async def estimate(self, command: SubmitOrder) -> OrderEstimate:
        """Value, charges, margin and every problem of an order being typed in the ticket."""
        ...

    def report_frame(self, apply_seconds: float) -> None:
        """Tell the engine how long the front end took to apply a snapshot."""
        ...


class LocalEngineClient:
    """Drives an engine running in a thread of this process."""

    def __init__(self, engine: EngineThread, timeout: float = 5.0) -> None:
        self.engine = engine
        self.timeout = timeout

    async def snapshot(self, since: int) -> DeskSnapshot:
        future = self.engine.call(lambda: self.engine.kernel.snapshot(since))
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    async def send(self, command: object) -> CommandResult:
        future = self.engine.run(self.engine.kernel.execute(command))
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    async def health(self) -> HealthReport:
        future = self.engine.call(self.engine.kernel.health_report)
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    async def instruments(self) -> tuple[str, ...]:
        future = self.engine.call(self.engine.kernel.instrument_keys)
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    async def estimate(self, command: SubmitOrder) -> OrderEstimate:
        future = self.engine.call(lambda: self.engine.kernel.estimate(command))
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    def report_frame(self, apply_seconds: float) -> None:
        if self.engine.alive:
            self.engine.call(lambda: self.engine.kernel.record_ui_frame(apply_seconds))
