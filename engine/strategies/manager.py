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
from time import perf_counter
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import NS_PER_SECOND, Clock
from engine.component import Component
from engine.model import Tick
from engine.orders.ids import ClientOrderIdMinter
from engine.orders.model import Fill
from engine.strategies.bars import TIMEFRAMES, Bar, BarAggregator
from engine.strategies.base import Strategy, StrategyState
from engine.strategies.gateway import OrderGateway
from engine.strategies.latency import StrategyLatencyCollector
from engine.strategies.loader import Catalog, load_catalog, one_line, validate_params
from engine.strategies.settings import StrategiesSettings, StrategyEntry, StrategyLimits
from engine.strategies.slot import BarHistory, MarketView, StrategySlot
from engine.strategies.viewing import build_view
from engine.strategies.views import StrategyView

log = structlog.get_logger("engine.strategies")

# AlertSource has no STRATEGY member yet; use it as soon as engine/alerts.py gains one.
ALERT_SOURCE = getattr(AlertSource, "STRATEGY", AlertSource.SYSTEM)
RaiseAlert = Callable[[Severity, AlertSource, str], object]
TickTarget = tuple[StrategySlot, Callable[[Tick], None], Callable[[float], None]]
FOLD_EVERY_TICKS = 200_000


class StrategyManager(Component):
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
        self._budget_s = settings.tick_budget_ms / 1000.0
        self._slots: dict[str, StrategySlot] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._aggregators = {tf: BarAggregator(tf) for tf in TIMEFRAMES}
        # Dispatch tables are mutated in place so a hot-path loop already holding them sees changes.
        self._tick_subs: dict[int, tuple[TickTarget, ...]] = {}
        self._bar_subs: dict[tuple[str, int], tuple[StrategySlot, ...]] = {}
        self._feeds: dict[int, tuple[BarAggregator, ...]] = {}
        self._events = bus.subscribe(self.name, ("orders.", "fills."))
        self._loaded = False
        self._unfolded = 0
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
        catalog = load_catalog(self._builtins, self.directory, self.settings.entry_points)
        for error in catalog.errors:
            self._load_error(error)
        for entry in self.settings.entries:
            problem = self._build(entry, catalog)
            if problem:
                self._load_error(f"strategy {entry.name}: {problem}")

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

    # -- component lifecycle -----------------------------------------------------

    async def start(self) -> None:
        """Load strategies and start every enabled one."""
        self.load()
        for slot in self._slots.values():
            if slot.state is StrategyState.STOPPED:
                self._start(slot)

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
        for slot in self._slots.values():
            if slot.running:
                self._stop(slot)
        await self.settle()
        for slot in self._slots.values():
            slot.cancel_timers()

    async def settle(self) -> None:
        """Wait until every scheduled order, cancel and worker job has finished (timers excluded)."""
        while True:
            timers = {t for s in self._slots.values() for t in s.timers.values()}
            pending = [t for t in self._tasks if t not in timers and not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    # -- hot path ----------------------------------------------------------------

    def on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Bus hot-path stage: build bars, call ``on_tick``; returns the batch unchanged."""
        subs = self._tick_subs
        feeds = self._feeds
        if not subs and not feeds:
            return ticks
        budget = self._budget_s
        clock = perf_counter
        for tick in ticks:
            token = tick.instrument_token
            aggregators = feeds.get(token)
            if aggregators is not None:
                for aggregator in aggregators:
                    bar = aggregator.update(tick)
                    if bar is not None:
                        self._dispatch_bar(bar)
            targets = subs.get(token)
            if targets is None:
                continue
            for slot, on_tick, record in targets:
                started = clock()
                try:
                    on_tick(tick)
                except Exception as exc:
                    self.fail(slot, exc, "on_tick")
                    continue
                elapsed = clock() - started
                record(elapsed)
                if elapsed > budget:
                    self._slow(slot, elapsed)
        self._unfolded += len(ticks)
        if self._unfolded > FOLD_EVERY_TICKS:
            self.fold_latency()
        return ticks

    def fold_latency(self) -> None:
        """Bucket every strategy's pending latency samples (bounded memory, cheap hot path)."""
        self._unfolded = 0
        for slot in self._slots.values():
            slot.latency.fold()

    def _dispatch_bar(self, bar: Bar) -> None:
        for slot in self._bar_subs.get((bar.timeframe, bar.instrument_token), ()):
            if not slot.running:
                continue
            started = perf_counter()
            try:
                slot.strategy.on_bar(bar)
            except Exception as exc:
                self.fail(slot, exc, "on_bar")
                continue
            elapsed = perf_counter() - started
            slot.latency.samples.append(elapsed)
            if elapsed > self._budget_s:
                self._slow(slot, elapsed)

    def flush_bars(self) -> None:
        """Close bars whose period is over by the engine clock (quiet instruments)."""
        now = self.clock.now_ns()
        grace = int(self.settings.bar_flush_grace_s * NS_PER_SECOND)
        for aggregator in self._aggregators.values():
            for bar in aggregator.flush(now, grace):
                self._dispatch_bar(bar)

    async def _flush_bars_forever(self) -> None:
        while True:
            await self.clock.sleep(self.settings.bar_flush_interval_s)
            self.flush_bars()
            self.fold_latency()

    def rebuild(self) -> None:
        """Recompute the dispatch tables from the running strategies and their subscriptions."""
        ticks: dict[int, list[TickTarget]] = {}
        bars: dict[tuple[str, int], list[StrategySlot]] = {}
        fed: dict[int, set[str]] = {}
        for slot in self._slots.values():
            if not slot.running:
                continue
            wants_ticks = type(slot.strategy).on_tick is not Strategy.on_tick
            for token in slot.by_token:
                if wants_ticks:
                    target = (slot, slot.strategy.on_tick, slot.latency.samples.append)
                    ticks.setdefault(token, []).append(target)
                for tf in slot.timeframes:
                    bars.setdefault((tf, token), []).append(slot)
                    fed.setdefault(token, set()).add(tf)
        for token, timeframes in self._fed_timeframes().items():
            for tf in timeframes - fed.get(token, set()):
                self._aggregators[tf].forget(token)
        self._tick_subs.clear()
        self._tick_subs.update({t: tuple(s) for t, s in ticks.items()})
        self._bar_subs.clear()
        self._bar_subs.update({k: tuple(s) for k, s in bars.items()})
        self._feeds.clear()
        self._feeds.update(
            {t: tuple(self._aggregators[tf] for tf in sorted(tfs)) for t, tfs in fed.items()}
        )

    def _fed_timeframes(self) -> dict[int, set[str]]:
        return {t: {a.timeframe for a in aggs} for t, aggs in self._feeds.items()}

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
        elif kind == "orders" and slot.book.apply_event(event) is not None and slot.running:
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

    # -- runtime control ---------------------------------------------------------

    def _start(self, slot: StrategySlot) -> None:
        slot.state = StrategyState.RUNNING
        slot.last_error = ""
        slot.timeframes.clear()
        self.call(slot, "on_start", slot.strategy.on_start)
        self.rebuild()

    def _stop(self, slot: StrategySlot) -> None:
        self.call(slot, "on_stop", slot.strategy.on_stop)
        if slot.state is StrategyState.RUNNING:
            slot.state = StrategyState.STOPPED
        slot.cancel_timers()
        self.rebuild()
        if self.settings.cancel_on_stop and slot.book.open_orders():
            slot.cancel_all(f"strategy {slot.name} stopped")

    def start_strategy(self, name: str) -> str | None:
        """Start a stopped (or failed) strategy; the reason it cannot, or ``None``."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is StrategyState.RUNNING:
            return f"strategy {name} is already running"
        if slot.state is StrategyState.DISABLED:
            return f"strategy {name} is disabled; enable it first"
        self._start(slot)
        return slot.last_error or None

    def stop_strategy(self, name: str) -> str | None:
        """Stop a running strategy (its open orders are cancelled if ``cancel_on_stop``)."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is not StrategyState.RUNNING:
            return f"strategy {name} is not running ({slot.state.value})"
        self._stop(slot)
        return None

    def enable(self, name: str) -> str | None:
        """Enable a disabled strategy and start it."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is not StrategyState.DISABLED:
            return f"strategy {name} is not disabled ({slot.state.value})"
        slot.state = StrategyState.STOPPED
        return self.start_strategy(name)

    def disable(self, name: str) -> str | None:
        """Stop a strategy if it runs and keep it idle until enabled."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is StrategyState.DISABLED:
            return f"strategy {name} is already disabled"
        if slot.running:
            self._stop(slot)
        slot.state = StrategyState.DISABLED
        return None

    def update_params(self, name: str, params: dict[str, Any]) -> str | None:
        """Validate and apply new parameter values; the one-line reason they are refused, or ``None``."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        old = slot.params
        merged = validate_params(slot.cls, {**old.model_dump(), **params})
        if isinstance(merged, str):
            return f"strategy {name}: {merged}"
        slot.params = slot.strategy.params = merged
        if slot.running:
            self.call(slot, "on_params_changed", slot.strategy.on_params_changed, old)
        return None

    # -- views -------------------------------------------------------------------

    def views(self) -> tuple[StrategyView, ...]:
        """An immutable view of every loaded strategy, in settings order."""
        return tuple(build_view(slot) for slot in self._slots.values())

    def state(self, name: str) -> StrategyState | None:
        """The state of one strategy, ``None`` if unknown."""
        slot = self._slots.get(name)
        return slot.state if slot is not None else None

    def strategy(self, name: str) -> Strategy | None:
        """The strategy object itself (tests and the engine's own tools)."""
        slot = self._slots.get(name)
        return slot.strategy if slot is not None else None

    def limits(self) -> dict[str, StrategyLimits]:
        """Per-strategy risk limits, for the risk manager."""
        return {name: slot.entry.limits for name, slot in self._slots.items()}

    def _latency_source(self) -> list[tuple[str, Any]]:
        return [(name, slot.latency) for name, slot in self._slots.items()]
