"""The manager's side of one strategy: its state, book, timers, latency and order plumbing."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from engine.cache import MarketCache
from engine.clock import Clock
from engine.model import Instrument, Tick
from engine.orders.commands import CancelAllOrders, CancelOrder, SubmitOrder
from engine.orders.model import OrderType, Side
from engine.strategies.bars import TIMEFRAMES, Bar
from engine.strategies.base import StrategyParams, StrategyState
from engine.strategies.book import StrategyBook
from engine.strategies.gateway import OrderGateway
from engine.strategies.latency import LatencyStats
from engine.strategies.settings import StrategyEntry

if TYPE_CHECKING:
    from engine.strategies.base import Strategy

log = structlog.get_logger("engine.strategies")
_RUNNING = StrategyState.RUNNING
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET

BarHistory = Callable[[int, str, int], Sequence[Bar]]
"""``(token, timeframe, count) -> bars``, oldest first; blocking, so called in a worker thread."""


class MarketView:
    """Read-only access to the market cache."""

    __slots__ = ("_cache",)

    def __init__(self, cache: MarketCache) -> None:
        self._cache = cache

    def last(self, token: int) -> Tick | None:
        """The latest tick of ``token``."""
        return self._cache.last.get(token)

    def ltp(self, token: int) -> float | None:
        """The last traded price of ``token``."""
        tick = self._cache.last.get(token)
        return tick.ltp if tick is not None else None

    def instrument(self, token: int) -> Instrument | None:
        """The instrument with this token."""
        return self._cache.instruments.get(token)

    def resolve(self, symbol: str) -> Instrument | None:
        """An instrument by ``EXCHANGE:SYMBOL`` or bare symbol."""
        return self._cache.resolve(symbol)


class Host(Protocol):
    """What a slot needs from its manager."""

    user: str
    clock: Clock
    market: MarketView
    train_budget_s: float
    history_source: BarHistory | None

    def mint(self) -> str: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...
    def call(self, slot: StrategySlot, where: str, fn: Callable[..., Any], *args: Any) -> None: ...
    def fail(self, slot: StrategySlot, exc: BaseException, where: str) -> None: ...
    def warn(self, slot: StrategySlot, message: str) -> None: ...
    def rebuild(self) -> None: ...


class StrategySlot:
    """One configured strategy as the manager runs it."""

    def __init__(
        self,
        host: Host,
        entry: StrategyEntry,
        cls: type[Strategy],
        params: StrategyParams,
        instruments: tuple[Instrument, ...],
        gateway: OrderGateway,
    ) -> None:
        self.host = host
        self.entry = entry
        self.name = entry.name
        self.cls = cls
        self.params = params
        self.instruments = instruments
        self.by_token = {i.instrument_token: i for i in instruments}
        self.gateway = gateway
        self.clock = host.clock
        self.market = host.market
        self.book = StrategyBook([i.instrument_token for i in instruments])
        self.latency = LatencyStats()
        self.state = StrategyState.STOPPED if entry.enabled else StrategyState.DISABLED
        self.last_error = ""
        self.signals = 0
        self.ticks = 0
        self.bars = 0
        self.over_budget = 0
        self.last_budget_alert = float("-inf")
        self.timeframes: set[str] = set()
        self.timers: dict[str, asyncio.Task[None]] = {}
        self._outbox: deque[tuple[str, Any]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self.strategy: Strategy = cls(self)

    @property
    def running(self) -> bool:
        """Whether callbacks are delivered."""
        return self.state is _RUNNING

    def subscribe_bars(self, timeframe: str) -> None:
        """Add a bar subscription (takes effect at once)."""
        if timeframe not in TIMEFRAMES:
            raise ValueError(f"unknown timeframe {timeframe!r} (known: {', '.join(TIMEFRAMES)})")
        self.timeframes.add(timeframe)
        self.host.rebuild()

    def instrument(self, token: int) -> Instrument | None:
        """Own instrument first, then the cache."""
        return self.by_token.get(token) or self.market.instrument(token)

    # -- orders ------------------------------------------------------------------

    def send(
        self, side: Side, target: Instrument | int, quantity: int | None, price: float | None
    ) -> str | None:
        """Build a SubmitOrder and queue it for the gateway; ``None`` when not running."""
        if self.state is not _RUNNING:
            return None
        if isinstance(target, Instrument):
            instrument: Instrument | None = target
        else:
            instrument = self.by_token.get(target) or self.market.instrument(target)
            if instrument is None:
                raise ValueError(f"unknown instrument token {target}")
        params = self.params
        limit = price is not None and price > 0
        coid = self.host.mint()
        cmd = SubmitOrder(
            user=self.host.user,
            exchange=instrument.exchange,
            tradingsymbol=instrument.tradingsymbol,
            instrument_token=instrument.instrument_token,
            side=side,
            order_type=_LIMIT if limit else _MARKET,
            product=params.product,
            quantity=params.quantity if quantity is None else quantity,
            price=float(price) if limit and price is not None else 0.0,
            market_protection=0.0 if limit else params.market_protection,
            strategy_id=self.name,
            client_order_id=coid,
        )
        self.signals += 1
        self.book.sent(cmd)
        self._outbox.append(("submit", cmd))
        if self._sender is None:
            self._sender = self.host.spawn(self._send_all())
        return coid

    def cancel(self, client_order_id: str) -> None:
        """Queue a cancel of one order (it reaches the gateway after this strategy's earlier commands)."""
        self._enqueue("cancel", CancelOrder(user=self.host.user, client_order_id=client_order_id))

    def cancel_all(self, reason: str) -> None:
        """Queue a cancel of every open order of this strategy."""
        cmd = CancelAllOrders(user=self.host.user, strategy_id=self.name, reason=reason)
        self._enqueue("cancel_all", cmd)

    def _enqueue(self, kind: str, cmd: Any) -> None:
        # One sender task per strategy, not one task per order: cheaper on the hot path, and a
        # strategy's commands reach the gateway in the order it gave them (never a cancel first).
        self._outbox.append((kind, cmd))
        if self._sender is None:
            self._sender = self.host.spawn(self._send_all())

    async def _send_all(self) -> None:
        outbox = self._outbox
        try:
            while True:
                while outbox:
                    kind, cmd = outbox.popleft()
                    if kind == "submit":
                        # Inline, not through _submit: one coroutine less per order.
                        try:
                            result = await self.gateway.submit(cmd)
                        except Exception as exc:
                            self._submit_failed(cmd, exc)
                            continue
                        if not result.ok:
                            self._refused(cmd, result.message)
                    elif kind == "cancel":
                        await self._cancel(self.gateway.cancel(cmd))
                    else:
                        await self._cancel(self.gateway.cancel_all(cmd))
                # Bars are delivered in chunks one loop turn apart: waiting one turn for the
                # next chunk's orders is cheaper than a new task per chunk.
                await asyncio.sleep(0)
                if not outbox:
                    return
        finally:
            self._sender = None

    def _submit_failed(self, cmd: SubmitOrder, exc: Exception) -> None:
        self.book.refused(cmd.client_order_id)
        self.host.warn(self, f"submit failed: {type(exc).__name__}: {exc}")

    def _refused(self, cmd: SubmitOrder, reason: str) -> None:
        self.book.refused(cmd.client_order_id)
        log.info("order refused", strategy=self.name, reason=reason)

    async def _cancel(self, call: Coroutine[Any, Any, Any]) -> None:
        try:
            result = await call
        except Exception as exc:
            self.host.warn(self, f"cancel failed: {type(exc).__name__}: {exc}")
            return
        if not result.ok:
            log.warning("cancel refused", strategy=self.name, reason=result.message)

    # -- timers and worker threads ----------------------------------------------

    def set_timer(self, name: str, seconds: float, callback: Callable[[], None]) -> None:
        """(Re)start a repeating engine-clock timer."""
        if seconds <= 0:
            raise ValueError(f"timer {name!r} needs a positive interval (got {seconds})")
        self.cancel_timer(name)
        self.timers[name] = self.host.spawn(self._timer(name, seconds, callback))

    def cancel_timer(self, name: str) -> None:
        """Stop one timer."""
        task = self.timers.pop(name, None)
        if task is not None:
            task.cancel()

    def cancel_timers(self) -> None:
        """Stop every timer (on stop and failure)."""
        for name in list(self.timers):
            self.cancel_timer(name)

    async def _timer(self, name: str, seconds: float, callback: Callable[[], None]) -> None:
        while True:
            await self.clock.sleep(seconds)
            if not self.running:
                return
            self.host.call(self, f"timer {name}", callback)

    def run_in_thread(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        on_result: Callable[[Any], None] | None,
        budget_s: float | None,
    ) -> None:
        """Run ``fn`` in a worker thread within a time budget."""
        self.host.spawn(self._worker(fn, args, on_result, budget_s or self.host.train_budget_s))

    async def _worker(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        on_result: Callable[[Any], None] | None,
        budget_s: float,
    ) -> None:
        label = getattr(fn, "__name__", "job")
        try:
            # The thread cannot be interrupted; past the budget its result is simply dropped.
            result = await asyncio.wait_for(asyncio.to_thread(fn, *args), budget_s)
        except TimeoutError:
            self.host.warn(self, f"worker job {label} exceeded its {budget_s:g} s budget; dropped")
            return
        except Exception as exc:
            self.host.fail(self, exc, f"worker job {label}")
            return
        if on_result is not None and self.running:
            self.host.call(self, f"result of {label}", on_result, result)

    def history(self, token: int, timeframe: str, count: int) -> Sequence[Bar]:
        """Past bars from the injected source; empty when there is none."""
        source = self.host.history_source
        return source(token, timeframe, count) if source is not None else ()
