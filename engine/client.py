"""The one interface a front end uses to drive an engine, local or remote."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Protocol, TypeVar

from engine.auth.rows import AuditRow
from engine.charts import ChartBars
from engine.instrument_search import SEARCH_LIMIT, OptionChain
from engine.model import Instrument
from engine.orders.commands import SubmitOrder
from engine.risk import RiskSnapshot
from engine.runner import EngineThread
from engine.snapshot import CommandResult, DeskSnapshot, HealthReport
from engine.strategies.views import StrategyView
from engine.trading.views import OrderEstimate

T = TypeVar("T")


class EngineClient(Protocol):
    """What the desk needs from an engine. A NATS implementation serves ``attach``."""

    async def snapshot(
        self, since: int, trading_since: int | None = None, alerts_since: int | None = None
    ) -> DeskSnapshot:
        """Everything that changed after version ``since`` (trading and alerts after theirs)."""
        ...

    async def send(self, command: object) -> CommandResult:
        """Carry out a command and return its result."""
        ...

    async def health(self) -> HealthReport:
        """Components, queues, storage and data quality."""
        ...

    async def risk(self) -> RiskSnapshot:
        """Trading state, limits with their usage, recent rejections."""
        ...

    async def bars(self, key: str, timeframe: str) -> ChartBars:
        """Stored bars of one instrument for a chart."""
        ...

    async def strategies(self) -> tuple[StrategyView, ...]:
        """Every strategy with its state, positions, P&L, signals and latency."""
        ...

    async def strategy_classes(self) -> tuple[tuple[str, str], ...]:
        """Every strategy class that can be added: ``(name, one-line description)``."""
        ...

    async def search_instruments(
        self, query: str, limit: int = SEARCH_LIMIT
    ) -> tuple[Instrument, ...]:
        """Instruments matching ``query`` across NSE, BSE and NFO, best first."""
        ...

    async def option_chain(self, underlying: str, expiry: date | None = None) -> OptionChain:
        """The option chain of ``underlying`` at ``expiry`` (the nearest when ``None``)."""
        ...

    async def estimate(self, command: SubmitOrder) -> OrderEstimate:
        """Value, charges, margin and every problem of an order being typed in the ticket."""
        ...

    async def audit(
        self, from_ns: int, to_ns: int, user: str | None = None
    ) -> tuple[AuditRow, ...]:
        """Audit entries with ``from_ns <= ts_ns < to_ns``, oldest first (one user's if given)."""
        ...

    def report_frame(self, apply_seconds: float) -> None:
        """Tell the engine how long the front end took to apply a snapshot."""
        ...


class LocalEngineClient:
    """Drives an engine running in a thread of this process."""

    def __init__(self, engine: EngineThread, timeout: float = 5.0) -> None:
        self.engine = engine
        self.timeout = timeout

    async def _call(self, function: Callable[[], T]) -> T:
        return await self._wait(self.engine.call(function))

    async def _run(self, coroutine: Awaitable[T]) -> T:
        return await self._wait(self.engine.run(coroutine))  # type: ignore[arg-type]

    async def _wait(self, future: concurrent.futures.Future[T]) -> T:
        # Not asyncio.wait_for: on 3.11 it swallows a cancellation that lands as the answer
        # arrives, and the UI's refresh timer, cancelled at exit, then ran on forever.
        async with asyncio.timeout(self.timeout):
            return await asyncio.wrap_future(future)

    async def snapshot(
        self, since: int, trading_since: int | None = None, alerts_since: int | None = None
    ) -> DeskSnapshot:
        kernel = self.engine.kernel
        return await self._call(lambda: kernel.snapshot(since, trading_since, alerts_since))

    async def send(self, command: object) -> CommandResult:
        return await self._run(self.engine.kernel.execute(command))

    async def health(self) -> HealthReport:
        return await self._call(self.engine.kernel.health_report)

    async def risk(self) -> RiskSnapshot:
        return await self._call(self.engine.kernel.risk_snapshot)

    async def bars(self, key: str, timeframe: str) -> ChartBars:
        return await self._run(self.engine.kernel.bars(key, timeframe))

    async def strategies(self) -> tuple[StrategyView, ...]:
        return await self._call(self.engine.kernel.strategy_views)

    async def strategy_classes(self) -> tuple[tuple[str, str], ...]:
        return await self._call(self.engine.kernel.strategy_classes)

    async def search_instruments(
        self, query: str, limit: int = SEARCH_LIMIT
    ) -> tuple[Instrument, ...]:
        return await self._call(lambda: self.engine.kernel.search_instruments(query, limit))

    async def option_chain(self, underlying: str, expiry: date | None = None) -> OptionChain:
        return await self._call(lambda: self.engine.kernel.option_chain(underlying, expiry))

    async def estimate(self, command: SubmitOrder) -> OrderEstimate:
        return await self._call(lambda: self.engine.kernel.estimate(command))

    @property
    def role(self) -> str:
        """The local desk's role: ``auth.local_role`` when auth is on, else admin."""
        auth = self.engine.kernel.settings.auth
        return auth.local_role if auth.enabled else "admin"

    async def audit(
        self, from_ns: int, to_ns: int, user: str | None = None
    ) -> tuple[AuditRow, ...]:
        return await self._run(self.engine.kernel.audit_rows(from_ns, to_ns, user))

    def report_frame(self, apply_seconds: float) -> None:
        if self.engine.alive:
            self.engine.call(lambda: self.engine.kernel.record_ui_frame(apply_seconds))
