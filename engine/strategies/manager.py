"""The strategy manager: loads strategies, feeds them ticks and bars, isolates their failures.

Wire it on the bus hot path after the cache (``bus.add_hot_path(manager.on_ticks)``):
each tick is looked up once in a dict of subscribers, bars are built once per
timeframe for every strategy, and a strategy's exception fails only that strategy.
Order events (``orders.<strategy>``) and fills (``fills.<strategy>``) arrive through
a never-dropping bus queue consumed by :meth:`StrategyManager.run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, get_args

import structlog
from prometheus_client import CollectorRegistry

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import NS_PER_SECOND, Clock
from engine.component import Component
from engine.model import Tick
from engine.orders.events import OrderEvent
from engine.orders.ids import ClientOrderIdMinter
from engine.orders.model import Fill
from engine.strategies.base import Strategy, StrategyState
from engine.strategies.control import StrategyControl
from engine.strategies.dispatch import TickDispatcher
from engine.strategies.gateway import OrderGateway
from engine.strategies.latency import StrategyLatencyCollector
from engine.strategies.loader import Catalog, load_catalog, one_line, validate_params
from engine.strategies.persist import FILE_NAME, SavedStrategies, SavedStrategy
from engine.strategies.runtime import StrategyRuntime
from engine.strategies.settings import StrategiesSettings, StrategyEntry
from engine.strategies.slot import BarHistory, MarketView, StrategySlot

log = structlog.get_logger("engine.strategies")

# AlertSource has no STRATEGY member yet; use it as soon as engine/alerts.py gains one.
ALERT_SOURCE = getattr(AlertSource, "STRATEGY", AlertSource.SYSTEM)
RaiseAlert = Callable[[Severity, AlertSource, str], object]
ORDER_EVENTS = get_args(OrderEvent)


class StrategyManager(StrategyRuntime, StrategyControl, Component):
    """Runs every configured strategy inside the engine."""

    name = "strategies"

    def __init__(
        self,
        settings: StrategiesSettings,
        *,
        clock: Clock,
        bus: MessageBus,
        cache: MarketCache,
        gateway: OrderGateway,
        raise_alert: RaiseAlert,
        data_dir: Path,
        registry: CollectorRegistry | None = None,
        engine_mode: str = "paper",
        paper_gateway: OrderGateway | None = None,
        user: str = "local",
        history: BarHistory | None = None,
        minter: Callable[[], str] | None = None,
        builtins: dict[str, type[Strategy]] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.market = MarketView(cache)
        self.user = user
        self.engine_mode = engine_mode
        self.history_source = history
        self.train_budget_s = settings.train_budget_s
        self.directory = settings.directory or data_dir / "strategies"
        self.load_errors: list[str] = []
        self._cache = cache
        self._bus = bus
        self._gateway = gateway
        self._paper_gateway = paper_gateway
        self._raise_alert = raise_alert
        self._mint = minter or ClientOrderIdMinter(clock).next
        self._builtins = builtins
        self._slots: dict[str, StrategySlot] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dispatch = TickDispatcher(settings.tick_budget_ms / 1000.0, self.fail, self._slow)
        self._events = bus.subscribe(self.name, ("orders.", "fills."))
        self._loaded = False
        self.catalog = Catalog()
        self._saved = SavedStrategies(data_dir / FILE_NAME)
        self._added: set[str] = set()
        self._unrestored: dict[str, SavedStrategy] = {}
        self._hold: set[str] = set()
        self._restoring = False
        if registry is not None:
            registry.register(StrategyLatencyCollector(self._latency_source))

    # -- loading -----------------------------------------------------------------

    def load(self) -> None:
        """Find classes and build every configured strategy; problems become one-line alerts."""
        if self._loaded:
            return
        self._loaded = True
        if self._builtins is None:
            from engine.strategies.builtin import BUILTINS

            self._builtins = BUILTINS
        catalog = self.catalog = load_catalog(
            self._builtins, self.directory, self.settings.entry_points
        )
        for error in catalog.errors:
            self._load_error(error)
        for entry in self.settings.entries:
            problem = self._build(entry, catalog)
            if problem:
                self._load_error(f"strategy {entry.name}: {problem}")
        self._restore_added()

    def _build(self, entry: StrategyEntry, catalog: Catalog) -> str | None:
        cls = catalog.classes.get(entry.class_)
        if cls is None:
            return f"unknown class {entry.class_!r} (known: {', '.join(sorted(catalog.classes))})"
        params = validate_params(cls, entry.params)
        if isinstance(params, str):
            return params
        instruments = []
        for symbol in entry.instruments:
            instrument = self._cache.resolve(symbol)
            if instrument is None:
                return f"unknown instrument {symbol!r}"
            instruments.append(instrument)
        gateway = self._gateway_for(entry.mode)
        if isinstance(gateway, str):
            return gateway
        try:
            slot = StrategySlot(self, entry, cls, params, tuple(instruments), gateway)
        except Exception as exc:
            return f"{cls.__name__}() raised {one_line(exc)}"
        self._slots[entry.name] = slot
        return None

    def _gateway_for(self, mode: str) -> OrderGateway | str:
        if mode == self.engine_mode:
            return self._gateway
        if mode == "paper" and self._paper_gateway is not None:
            return self._paper_gateway
        return (
            f"mode {mode} cannot run: the engine trades {self.engine_mode} and has no {mode} route"
        )

    def _load_error(self, message: str) -> None:
        self.load_errors.append(message)
        log.warning("strategy load failed", detail=message)
        self._raise_alert(Severity.WARNING, ALERT_SOURCE, message)

    def _persist_problem(self, message: str) -> None:
        log.warning("strategies not saved", detail=message)
        self._raise_alert(Severity.WARNING, ALERT_SOURCE, message)

    # -- component lifecycle -----------------------------------------------------

    async def start(self) -> None:
        """Load strategies and start every enabled one (a runtime-added one stopped by hand stays so)."""
        self.load()
        for slot in self._slots.values():
            if slot.state is StrategyState.STOPPED and slot.name not in self._hold:
                self._start(slot)
        self._hold.clear()

    async def run(self) -> None:
        """Deliver order events and fills; close bars of quiet instruments on a timer."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._flush_bars_forever())
            while True:
                topic, event = await self._events.get()
                self._route(topic, event)
                self.drain_events()

    async def stop(self) -> None:
        """Stop every running strategy and let its last commands reach the gateway."""
        self.dispatch.deliver_bars()  # they closed while the strategies ran
        for slot in self._slots.values():
            if slot.running:
                self._stop(slot)
        await self.settle()
        for slot in self._slots.values():
            slot.cancel_timers()

    async def settle(self) -> None:
        """Wait until queued bars are delivered and scheduled orders, cancels and worker jobs end.

        Timers are excluded: they never end on their own.
        """
        while True:
            while self.dispatch.bars_pending:
                await asyncio.sleep(0)  # one chunk per loop turn, its orders between chunks
            timers = {t for s in self._slots.values() for t in s.timers.values()}
            pending = [t for t in self._tasks if t not in timers and not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    # -- hot path (see engine.strategies.dispatch) -------------------------------

    def on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Bus hot-path stage: build bars, call ``on_tick``; returns the batch unchanged."""
        return self.dispatch.on_ticks(ticks)

    def flush_bars(self) -> None:
        """Close bars whose period is over by the engine clock (instruments gone quiet)."""
        grace = int(self.settings.bar_flush_grace_s * NS_PER_SECOND)
        self.dispatch.flush_bars(self.clock.now_ns(), grace)

    async def _flush_bars_forever(self) -> None:
        while True:
            await self.clock.sleep(self.settings.bar_flush_interval_s)
            self.flush_bars()
            self.dispatch.fold_latency()

    def rebuild(self) -> None:
        """Recompute who receives which ticks and bars (after any state or subscription change)."""
        self.dispatch.rebuild(self._slots.values())

    # -- events ------------------------------------------------------------------

    def drain_events(self) -> int:
        """Deliver every order event and fill already queued; returns how many."""
        count = 0
        while (item := self._events.get_nowait()) is not None:
            self._route(*item)
            count += 1
        return count

    def _route(self, topic: str, event: Any) -> None:
        kind, _, strategy_id = topic.partition(".")
        slot = self._slots.get(strategy_id)
        if slot is None:
            return
        if kind == "fills":
            if isinstance(event, Fill) and slot.book.apply_fill(event) and slot.running:
                self.call(slot, "on_fill", slot.strategy.on_fill, event)
        elif kind == "orders" and isinstance(event, ORDER_EVENTS):
            order = slot.book.apply_event(event)
            if order is not None and slot.running:
                self.call(slot, "on_order_update", slot.strategy.on_order_update, event)

    # -- isolation (the Host protocol of StrategySlot) ---------------------------

    def mint(self) -> str:
        """A fresh client order id."""
        return self._mint()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Schedule ``coro`` on the engine loop, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def call(self, slot: StrategySlot, where: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run a strategy callback; an exception fails that strategy only."""
        try:
            fn(*args)
        except Exception as exc:
            self.fail(slot, exc, where)

    def fail(self, slot: StrategySlot, exc: BaseException, where: str) -> None:
        """Mark ``slot`` FAILED (once), stop its timers, apply ``on_failure`` and alert."""
        if slot.state is StrategyState.FAILED:
            return
        slot.state = StrategyState.FAILED
        slot.last_error = f"{where}: {one_line(exc)}"
        slot.cancel_timers()
        self.rebuild()
        self._changed(slot.name)
        cancel = slot.entry.on_failure == "cancel"
        if cancel:
            slot.cancel_all(f"strategy {slot.name} failed")
        log.error("strategy failed", strategy=slot.name, where=where, exc_info=exc)
        orders = "its open orders are being cancelled" if cancel else "its open orders are kept"
        message = f"strategy {slot.name} failed in {slot.last_error}; {orders}"
        self._raise_alert(Severity.CRITICAL, ALERT_SOURCE, message)

    def warn(self, slot: StrategySlot, message: str) -> None:
        """A warning about one strategy that does not fail it."""
        log.warning("strategy warning", strategy=slot.name, detail=message)
        self._raise_alert(Severity.WARNING, ALERT_SOURCE, f"strategy {slot.name}: {message}")

    def _slow(self, slot: StrategySlot, elapsed: float) -> None:
        """A callback exceeded the budget: count it, alert at most once per interval."""
        slot.over_budget += 1
        now = self.clock.monotonic()
        if now - slot.last_budget_alert < self.settings.budget_alert_interval_s:
            return
        slot.last_budget_alert = now
        self.warn(
            slot,
            f"a market-data callback took {elapsed * 1000:.1f} ms "
            f"(budget {self.settings.tick_budget_ms:g} ms; {slot.over_budget} over so far)",
        )
