"""One replay: check the request, open the store read-only, run the engine, sum it up.

The replay engine is a normal :class:`~engine.kernel.Kernel` with a
:class:`~engine.replay.feed.ReplayFeed` instead of a market feed, a
:class:`~engine.replay.clock.ReplayClock`, the paper broker, and its own throwaway
ledger (SQLite in a temporary directory). Its tick store is off: the store being
replayed is opened read-only here, once (chDB serves one directory per process).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.clock import IST, NS_PER_SECOND, Clock, LiveClock
from engine.kernel import Kernel
from engine.replay.clock import ReplayClock
from engine.replay.feed import ReplayFeed
from engine.replay.report import EquityPoint
from engine.replay.request import ReplayRequest, check_strategy, replay_settings
from engine.replay.source import (
    ReplayInputError,
    StoredTicks,
    StoredWindow,
    check_store_exists,
    universe_of,
)
from engine.replay.summary import ReplaySummary, summarize
from engine.settings import Settings

BAR_NS = 60 * NS_PER_SECOND


class ReplaySession:
    """Prepare with :meth:`open` (all checks, nothing written), then :meth:`run` or drive
    :attr:`kernel` yourself (the desk); :meth:`summary` at the end, :meth:`close` always."""

    def __init__(self, settings: Settings, request: ReplayRequest, wall: Clock | None = None):
        self.settings = settings
        self.request = request
        self.wall = wall or LiveClock()
        self.window: StoredWindow | None = None
        self.kernel: Kernel | None = None
        self.feed: ReplayFeed | None = None
        self.equity: list[EquityPoint] = []
        self._store: Any = None
        self._tmp: Path | None = None

    def open(self) -> None:
        """Check symbols, strategy and store, count the window's ticks (blocking).

        Raises :class:`ReplayInputError`, ``TickStoreLocked`` or ``TickStoreError``.
        """
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        from engine.storage.store import TickStore

        request, settings = self.request, self.settings
        if request.to_ns <= request.from_ns:
            raise ReplayInputError("the replay window is empty: --to must be after --from")
        universe = universe_of(settings)
        instruments = universe.resolve(request.symbols)
        check_strategy(settings, request.strategy)
        check_store_exists(settings)
        self._store = TickStore.open(settings.storage, settings.data_dir, read_only=True)
        tokens = [i.instrument_token for i in instruments]
        reader = StoredTicks(self._store, tokens, request.from_ns, request.to_ns)
        window = reader.window()
        if window.ticks == 0:
            names = ", ".join(i.tradingsymbol for i in instruments)
            raise ReplayInputError(
                f"no stored ticks for {names} between {_ist(request.from_ns)} and "
                f"{_ist(request.to_ns)} IST"
            )
        self.window = window
        wanted = set(tokens)
        days = [d for d in universe.market_days if d.instrument_token in wanted]
        start = datetime.fromtimestamp(window.first_ns // NS_PER_SECOND, tz=IST)
        clock = ReplayClock(start)
        self.feed = ReplayFeed(
            reader.chunks,
            window.ticks,
            instruments,
            days,
            clock,
            speed=request.speed,
            wall=self.wall,
            first_ns=window.first_ns,
            last_ns=window.last_ns,
        )
        self._tmp = Path(tempfile.mkdtemp(prefix="alphapt-replay-"))
        self.kernel = Kernel(
            replay_settings(self.settings, self._tmp, self.request.strategy), clock, feed=self.feed
        )
        manager = self.kernel.strategies
        self.feed.bind(
            self.kernel.bus,
            settle=manager.settle if manager is not None else None,
            on_sample=self._sample,
        )
        self.equity.append(EquityPoint(window.first_ns, self._capital, 0.0))

    @property
    def _capital(self) -> float:
        return self.settings.paper.starting_capital

    def _sample(self, ts_ns: int) -> None:
        assert self.kernel is not None
        self.equity.append(self._point(ts_ns))

    def _point(self, ts_ns: int) -> EquityPoint:
        assert self.kernel is not None
        portfolio = self.kernel.trading.portfolio
        unrealized = gross = 0.0
        for p in portfolio.positions.values():
            if p.net_quantity and p.ltp is not None:
                unrealized += (p.ltp - p.average_price) * p.net_quantity
                gross += abs(p.net_quantity * p.ltp)
        equity = self._capital + portfolio.realized() + unrealized - portfolio.charges()
        return EquityPoint(ts_ns, equity, gross)

    async def run(self) -> None:
        """Run the replay engine on this loop until every tick is replayed, then stop it."""
        assert self.kernel is not None and self.feed is not None
        shutdown = asyncio.Event()
        engine = asyncio.create_task(self.kernel.run(shutdown))
        finished = asyncio.create_task(self.feed.finished.wait())
        try:
            await asyncio.wait({engine, finished}, return_when=asyncio.FIRST_COMPLETED)
            self.check_loaded()
        finally:
            shutdown.set()
            finished.cancel()
            await engine
        if self.feed.error is not None:
            raise self.feed.error

    def check_loaded(self) -> None:
        """Raise if the strategy did not load in the replay engine (one line)."""
        manager = self.kernel.strategies if self.kernel is not None else None
        if manager is not None and manager.load_errors:
            raise ReplayInputError(manager.load_errors[0])

    def summary(self) -> ReplaySummary:
        """The report: P&L, trips, drawdown, Sharpe, exposure (call after the run)."""
        assert self.kernel is not None and self.feed is not None and self.window is not None
        trading, progress = self.kernel.trading, self.feed.progress()
        end = self.kernel.clock.now_ns()
        last = self._point((end // BAR_NS + 1) * BAR_NS)
        equity = [*self.equity, last] if self.equity[-1].ts_ns < last.ts_ns else self.equity
        portfolio = trading.portfolio
        realized = portfolio.realized()
        charges = portfolio.charges()
        entry = self.request.strategy
        return summarize(
            strategy=entry.name,
            strategy_class=entry.class_,
            params=entry.params,
            symbols=[i.tradingsymbol for i in self.feed.instruments()],
            from_ns=self.request.from_ns,
            to_ns=self.request.to_ns,
            speed=self.request.speed_label,
            ticks=progress.done,
            ticks_total=progress.total,
            wall_s=progress.wall_s,
            finished=progress.finished,
            starting_capital=self._capital,
            orders=trading.orders(),
            fills=trading.fills(),
            realized=realized,
            unrealized=last.equity - self._capital - realized + charges,
            charges=charges,
            equity=equity,
        )

    def close(self) -> None:
        """Release the store and delete the throwaway ledger."""
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _ist(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS_PER_SECOND, tz=IST).strftime("%Y-%m-%d %H:%M:%S")
