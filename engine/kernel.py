"""The engine kernel: builds components from settings, runs them, stops them.

Components start one after another in phase order inside one ``TaskGroup`` and
stop in reverse, within ``shutdown_timeout_s``. A component whose ``run``
raises is marked failed, counted and alerted; the others carry on.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog

from engine.alert_log import AlertLog
from engine.alerts import AlertRaised, AlertSource, Severity
from engine.auth.gate import AuthGate, CommandOrigin
from engine.auth.rows import AuditRow, audit_row_of
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.charts import ChartBar, ChartBars, lookback_ns, storage_note
from engine.clock import NS_PER_SECOND, Clock, LiveClock
from engine.component import Component
from engine.feeds.mock import MockFeed
from engine.health import HealthRegistry, HealthState
from engine.heap import settle_heap
from engine.instrument_search import SEARCH_LIMIT, InstrumentSearch, OptionChain
from engine.metrics import EngineMetrics
from engine.model import Instrument, Tick
from engine.notify import AlertNotifier
from engine.observability import DeskCollector
from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.quality import QualityMonitor
from engine.risk import KILL_SWITCH_STRATEGY, RiskError, RiskManager, RiskSnapshot
from engine.settings import Settings
from engine.snapshot import (
    AcknowledgeAlert,
    AddToWatchlist,
    CommandResult,
    DeskSnapshot,
    EngineStatus,
    HaltTrading,
    HealthReport,
    KillSwitch,
    QueueDepth,
    RemoveFromWatchlist,
    ResumeTrading,
)
from engine.storage.component import TickStoreComponent
from engine.strategies import StrategyManager
from engine.strategies.commands import (
    AddStrategy,
    DisableStrategy,
    EnableStrategy,
    ReloadStrategies,
    RemoveStrategy,
    StartStrategy,
    StopStrategy,
    UpdateStrategyParams,
)
from engine.strategies.views import StrategyView
from engine.subscriptions import FeedSubscriptions
from engine.trading.service import TradingService
from engine.trading.squareoff import square_off_order
from engine.trading.views import OrderEstimate
from engine.watchlist import Watchlist, WatchlistError, default_watchlist

if TYPE_CHECKING:  # the instruments dump loads only for the Kite feed
    from engine.instruments.component import InstrumentsComponent
    from engine.instruments.registry import InstrumentRegistry

log = structlog.get_logger("engine.kernel")

NEEDS_TICKS = (SubmitOrder, AddStrategy, StartStrategy, EnableStrategy, UpdateStrategyParams)
"""Commands after which an order or a strategy may need an instrument the watchlist lacks."""


class EngineStartError(Exception):
    """A component could not start; the message is one line naming it."""


class Kernel:
    """One trading engine: bus, cache, feed and every other component."""

    def __init__(
        self, settings: Settings, clock: Clock | None = None, feed: Component | None = None
    ) -> None:
        """``feed`` replaces the feed built from settings (replay); it supplies the instruments
        and market days the same way."""
        self.settings = settings
        self.clock = clock or LiveClock()
        self.metrics = EngineMetrics()
        self.health = HealthRegistry()
        self.bus = MessageBus(settings.bus.event_queue_high_water)
        self.cache = MarketCache(history_points=settings.ui.sparkline_points)
        self.nats = None
        self.instruments: InstrumentsComponent | None = None
        """The Kite instruments dump, refreshed daily (Kite feed only; search reuses its index)."""
        self.feed = feed if feed is not None else self._build_feed(settings)
        self.cache.add_instruments(self.feed.instruments())
        self.cache.set_market_days(self.feed.market_days())
        self.watchlist = Watchlist(
            settings.data_dir / "watchlist.json",
            default=default_watchlist(self.feed.instruments()),
        )
        self.subscriptions = FeedSubscriptions(self.feed, self._tokens_in_use)
        refused = self.subscriptions.subscribe(self._watched_tokens())
        if refused:
            raise EngineStartError(f"feed could not start: {refused}")
        self.search = InstrumentSearch(
            lambda: self.cache.instruments.values(),
            self._search_quote,
            self.instruments.registry if self.instruments is not None else None,
        )
        self.quality = QualityMonitor(
            dict(self.cache.instruments),
            dict(self.cache.days),
            # The quality sweeps follow the feed's session, so a 24h dev market is not "stale" at night.
            settings.quality.model_copy(update={"session": settings.feed.session}),
            self.clock,
            on_breach=self._on_quality_breach,
        )
        self._watch_subscribed()
        self.alert_log = AlertLog()
        self.risk = RiskManager(
            # Market-hours checks follow the feed's session, like the quality sweeps.
            settings.risk.model_copy(
                update={
                    "session": settings.risk.session.model_copy(
                        update={"session": settings.feed.session}
                    )
                }
            ),
            self.clock,
            bus=self.bus,
            raise_alert=self.raise_alert,
            registry=self.metrics.registry,
        )
        self.trading = TradingService(settings, self.clock, self.bus, self.cache, self.raise_alert)
        self.trading.pre_trade = self.risk.check
        if self.trading.live and hasattr(self.feed, "on_order_update"):
            # Kite's order postbacks ride the ticker websocket; the live broker applies them.
            self.feed.on_order_update = self.trading.broker.on_order_update  # type: ignore[union-attr]
            # Updates sent while that socket is down are lost: the broker polls the order book.
            self.trading.broker.socket_up = lambda: self.feed.state == "live"  # type: ignore[union-attr]
        self.trading.on_pnl = self.risk.on_pnl
        self.notifier = AlertNotifier(settings.notify, self.bus, self.clock)
        self.bus.add_hot_path(self._on_ticks)
        self.bus.add_hot_path(self.trading.on_ticks)
        self.strategies: StrategyManager | None = None
        if settings.strategies.enabled:
            self.strategies = StrategyManager(
                settings.strategies,
                clock=self.clock,
                bus=self.bus,
                cache=self.cache,
                gateway=self.trading,
                raise_alert=self.raise_alert,
                data_dir=settings.data_dir,
                registry=self.metrics.registry,
                engine_mode=settings.mode,
            )
            self.bus.add_hot_path(self.strategies.on_ticks)
        self.components: list[Component] = [self.notifier]
        self.storage: TickStoreComponent | None = None
        if settings.storage.enabled:
            self.storage = TickStoreComponent(
                settings.storage,
                settings.data_dir,
                self.clock,
                self.bus,
                close_timeout_s=settings.shutdown_timeout_s,
            )
            self.components.append(self.storage)
        if self.instruments is not None:
            self.instruments.report = functools.partial(self._set_health, self.instruments)
            self.instruments.on_refresh = self._instruments_refreshed
            self.components.append(self.instruments)
        self.components.append(self.trading)
        if self.strategies is not None:
            self.components.append(self.strategies)
        self.components.append(self.feed)
        self.started = asyncio.Event()
        self.started_ns = self.clock.now_ns()
        self.ticks_per_second = 0.0
        self._alert_ids = itertools.count(1)
        self._rate_mark = (0, 0)
        self._tick_gauges: dict[str, tuple[Any, Any]] = {}
        self._event_gauges: dict[str, Any] = {}
        DeskCollector(self).register(self.metrics.registry)
        self._wire_distributed(settings)

    def _build_feed(self, settings: Settings) -> Component:
        if settings.mode == "live" and settings.feed.source != "kite":
            # Fail closed: live orders priced and risk-checked against a simulated market.
            raise EngineStartError("live mode trades on Kite's prices only: set feed.source = kite")
        if settings.feed.source == "nats":
            return self._nats_feed(settings)
        if settings.feed.source != "kite":
            return MockFeed(settings.feed, self.clock, self.bus)
        # Imported only for Kite: it pulls in the websocket client and the instruments dump.
        from engine.feeds.kite_ticker import KiteFeed
        from engine.instruments import InstrumentsError
        from engine.instruments.component import build_instruments
        from engine.kite.token_store import token_provider

        kite = settings.kite
        try:
            self.instruments = build_instruments(settings, self.clock, self.raise_alert)
        except InstrumentsError as exc:
            raise EngineStartError(f"feed could not start: {exc}") from None
        registry = self.instruments.registry
        return KiteFeed(
            kite,
            self.clock,
            self.bus,
            self.raise_alert,
            token_provider(kite.resolved_token_file(settings.data_dir), self.clock),
            instruments=registry.all(),
        )

    def _instruments_refreshed(self, registry: InstrumentRegistry) -> None:
        """Today's dump: new contracts (and changed lot or tick sizes) reach the cache."""
        known = self.cache.instruments
        self.cache.add_instruments(i for i in registry.all() if known.get(i.instrument_token) != i)
        self.search.use(registry)

    def _nats_feed(self, settings: Settings) -> Component:
        from engine.distributed.wiring import connect_nats, nats_feed
        from engine.feeds.universe import build_universe

        if settings.nats.url is None:
            raise EngineStartError("feed could not start: feed.source = nats needs nats.url")
        self.nats = connect_nats(settings.nats)
        # The publishing daemon's universe: the same mock universe size on both sides.
        universe = [instrument for instrument, _ in build_universe(settings.feed.universe_size)]
        return nats_feed(
            settings.nats, self.nats, self.clock, self.bus, universe, [], self.raise_alert
        )

    def _wire_distributed(self, settings: Settings) -> None:
        self.distributed = None
        if not (settings.nats.url or settings.redis.url):
            return
        from engine.distributed.wiring import build_distributed

        self.distributed = build_distributed(
            settings.nats,
            settings.redis,
            clock=self.clock,
            bus=self.bus,
            cache=self.cache,
            kernel=self,
            raise_alert=self.raise_alert,
            positions=self.trading.positions,
            trading_version=lambda: self.trading.version,
            connection=self.nats,
            feed=self.feed if settings.feed.source == "nats" else None,
        )
        self.bus.add_hot_path(self.distributed.on_ticks)
        at = self.components.index(self.trading)
        self.components[at:at] = self.distributed.early
        self.components.extend(self.distributed.late)
        self.distributed.collector.register(self.metrics.registry)

    # -- hot path ---------------------------------------------------------------

    def _on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        self.metrics.ticks_received.inc(len(ticks))
        ticks = self.quality.filter(ticks)
        if not ticks:
            return ticks
        self.cache.apply(ticks)
        self.metrics.ticks_processed.inc(len(ticks))
        received = ticks[0].received_ns
        if received:
            self.metrics.feed_to_cache.observe((self.clock.now_ns() - received) / NS_PER_SECOND)
        return ticks

    def _on_quality_breach(self, check: str, token: int, detail: str) -> None:
        instrument = self.cache.instruments.get(token)
        where = instrument.tradingsymbol if instrument else "feed"
        self.raise_alert(Severity.WARNING, AlertSource.DATA_QUALITY, f"{check} {where}: {detail}")

    # -- lifecycle --------------------------------------------------------------

    async def run(self, shutdown: asyncio.Event) -> None:
        """Start every component, run until ``shutdown`` is set, then stop them all."""
        await self._start_components()
        self.reconcile()
        # Open positions, orders and strategies restored from the ledger need prices too.
        self._subscribe_in_use()
        self._watch_subscribed()
        tasks: list[asyncio.Task[None]] = []
        async with asyncio.TaskGroup() as group:
            for component in self.components:
                tasks.append(group.create_task(self._supervise(component)))
            tasks.append(group.create_task(self._housekeeping()))
            tasks.append(group.create_task(self.quality.run_sweeps()))
            self.started.set()
            # What start-up built (instruments, ledger, caches) lives as long as the engine:
            # out of the collector's sight, a full collection no longer walks it (35-160 ms
            # pauses on the tick path measured in bench_strategies before).
            settle_heap()
            log.info("engine started", components=[c.name for c in self.components])
            await shutdown.wait()
            log.info("engine stopping")
            try:
                async with asyncio.timeout(self.settings.shutdown_timeout_s):
                    for component in reversed(self.components):
                        await component.stop()
                        self._set_health(component, HealthState.STOPPED)
            except TimeoutError:
                log.warning("shutdown bound reached", timeout_s=self.settings.shutdown_timeout_s)
            for task in tasks:
                task.cancel()
        log.info("engine stopped", ticks=self.cache.ticks_applied)

    async def _start_components(self) -> None:
        """Start each component in phase order; on a failure stop those started and raise."""
        started: list[Component] = []
        for component in self.components:
            self._set_health(component, HealthState.STARTING)
            try:
                await component.start()
            except Exception as exc:
                self._set_health(component, HealthState.FAILED, f"{type(exc).__name__}: {exc}")
                for done in reversed(started):
                    try:
                        await done.stop()
                    except Exception:
                        log.exception("stop after a failed start", component=done.name)
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise EngineStartError(f"{component.name} could not start: {message}") from exc
            started.append(component)

    def reconcile(self) -> None:
        """Lift the start-up halt once the account is reconciled; else risk stays HALTED.

        Paper: the ledger loaded. Live: the trading service also reconciled the ledger with
        Kite's orders, trades and positions when it started (a failed query is a failure).
        """
        if not self.trading.ready:
            self.risk.reconciliation_failed("the ledger did not load")
        elif not self.trading.live:
            self.risk.reconciled("paper account restored from the ledger")
        elif (problem := getattr(self.trading.broker, "reconcile_problem", None)) is not None:
            self.risk.reconciliation_failed(problem)
        else:
            self.risk.reconciled("live account reconciled with Kite")

    async def _supervise(self, component: Component) -> None:
        self._set_health(component, HealthState.RUNNING)
        try:
            await component.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            self._set_health(component, HealthState.FAILED, detail)
            self.metrics.component_failures.labels(component.name).inc()
            log.exception("component failed", component=component.name)
            severity = Severity.CRITICAL if component.critical else Severity.WARNING
            self.raise_alert(severity, AlertSource.SYSTEM, f"{component.name} failed: {detail}")

    async def _housekeeping(self) -> None:
        interval = self.settings.ui.sparkline_interval_s
        while True:
            await self.clock.sleep(interval)
            self.cache.sample_history()
            self.update_rates()
            self._update_gauges()

    def update_rates(self) -> None:
        """Recompute ticks per second since the last call (the housekeeping timer calls it)."""
        now = self.clock.now_ns()
        last_ns, last_count = self._rate_mark
        count = self.cache.ticks_applied
        if last_ns and now > last_ns:
            self.ticks_per_second = (count - last_count) * NS_PER_SECOND / (now - last_ns)
        self._rate_mark = (now, count)

    def _update_gauges(self) -> None:
        # Labelled children are looked up once (each lookup takes a lock): this runs every
        # second, and in a replay every replayed second.
        metrics, tick_gauges, event_gauges = self.metrics, self._tick_gauges, self._event_gauges
        for queue in self.bus.tick_queues():
            gauges = tick_gauges.get(queue.name)
            if gauges is None:
                gauges = tick_gauges[queue.name] = (
                    metrics.queue_depth.labels(queue.name),
                    metrics.ticks_dropped.labels(queue.name),
                )
            gauges[0].set(queue.depth)
            gauges[1].set(queue.drops)
        for queue in self.bus.event_queues():
            depth = event_gauges.get(queue.name)
            if depth is None:
                depth = event_gauges[queue.name] = metrics.queue_depth.labels(queue.name)
            depth.set(queue.depth)

    def _set_health(self, component: Component, state: HealthState, detail: str = "") -> None:
        self.health.set(component.name, state, self.clock.now_ns(), detail, component.critical)
        up = state in (HealthState.RUNNING, HealthState.STOPPED)
        self.metrics.component_up.labels(component.name).set(1 if up else 0)

    def raise_alert(self, severity: Severity, source: AlertSource, message: str) -> AlertRaised:
        """Publish an alert on the bus and log it."""
        alert = AlertRaised(
            alert_id=f"A{next(self._alert_ids)}",
            ts_ns=self.clock.now_ns(),
            severity=severity,
            source=source,
            message=message,
        )
        log.warning("alert", severity=severity.value, source=source.value, message=message)
        self.alert_log.add(alert)
        self.bus.publish(alert.topic, alert)
        return alert

    # -- front-end API (called on the engine loop) -------------------------------

    def status(self) -> EngineStatus:
        """Header facts: time, mode, feed state, tick rate, health."""
        drops = sum(queue.drops for queue in self.bus.tick_queues())
        return EngineStatus(
            now_ns=self.clock.now_ns(),
            mode=self.settings.mode.upper(),
            feed_state=self.feed.state,
            ticks_per_second=self.ticks_per_second,
            health=self.health.overall().value,
            components=self.health.all(),
            ticks_dropped=drops,
            trading_state=self.risk.state.value,
            trading_reason=self.risk.reason,
            unacknowledged_alerts=self.alert_log.unacknowledged,
        )

    def snapshot(
        self, since: int, trading_since: int | None = None, alerts_since: int | None = None
    ) -> DeskSnapshot:
        """What changed after version ``since`` for the watchlist, plus status and trading.

        Positions and funds come when the trading version moved past
        ``trading_since``; orders and fills only when an order or fill changed since
        then (marking to market alone leaves them ``None``: unchanged). With
        ``since == 0`` or no ``trading_since`` everything is sent.
        """
        started = self.clock.monotonic()
        tokens = [
            instrument.instrument_token
            for key in self.watchlist.keys
            if (instrument := self.cache.by_key.get(key)) is not None
        ]
        version = self.cache.version
        quotes = tuple(self.cache.quotes_since(since, tokens))
        trading = self.trading
        seen = 0 if since == 0 or trading_since is None else trading_since
        moved = trading.version > seen or seen == 0
        orders_moved = trading.orders_version > seen or seen == 0
        snapshot = DeskSnapshot(
            version=version,
            since=since,
            status=self.status(),
            watchlist=self.watchlist.keys,
            quotes=quotes,
            trading_version=trading.version,
            orders=trading.orders() if orders_moved else None,
            fills=trading.fills() if orders_moved else None,
            positions=trading.positions() if moved else None,
            funds=trading.funds() if moved else None,
            alerts_version=self.alert_log.version,
            alerts=(
                self.alert_log.entries()
                if alerts_since is None or since == 0 or self.alert_log.version > alerts_since
                else None
            ),
        )
        self.metrics.snapshot_build.observe(self.clock.monotonic() - started)
        return snapshot

    async def execute(self, command: object, origin: CommandOrigin | None = None) -> CommandResult:
        """Carry out one front-end command and say how it went.

        The auth gate first checks the role of ``command.user`` (refusing in one line) and
        audits every command, allowed or not; ``origin`` says where it came from.
        """
        gate = self.__dict__.get("_auth_gate")
        if gate is None:
            gate = self._auth_gate = AuthGate(
                self.settings.auth,
                self.settings.data_dir,
                self.clock,
                self.bus,
                lambda: self.trading.ledger if self.trading.ledger_up else None,
            )
        result = await gate.run(command, origin, self._execute)
        if result.ok and isinstance(command, NEEDS_TICKS):
            self._subscribe_in_use()
        return result

    def _subscribe_in_use(self) -> None:
        """Subscribe what orders, positions and strategies need beyond the watchlist."""
        refused = self.subscriptions.subscribe_in_use()
        if refused is not None:
            self.raise_alert(
                Severity.WARNING, AlertSource.FEED, f"instruments not subscribed: {refused}"
            )

    async def audit_rows(
        self, from_ns: int, to_ns: int, user: str | None = None
    ) -> tuple[AuditRow, ...]:
        """Audit entries with ``from_ns <= ts_ns < to_ns``, oldest first (empty if no ledger)."""
        ledger = self.trading.ledger
        if ledger is None:
            return ()
        return tuple(audit_row_of(row) for row in await ledger.audit(from_ns, to_ns, user))

    async def _execute(self, command: object) -> CommandResult:
        match command:
            case AddToWatchlist(symbol=symbol):
                instrument = self.cache.resolve(symbol)
                if instrument is None:
                    return CommandResult(False, f"unknown symbol: {symbol.strip() or '(empty)'}")
                if instrument.key in self.watchlist.keys:
                    return CommandResult(False, f"{instrument.key} is already in the watchlist")
                refused = self.subscriptions.subscribe([instrument.instrument_token])
                if refused:
                    return CommandResult(False, f"{instrument.key} not added: {refused}")
                self._watch_subscribed()
                try:
                    self.watchlist.add(instrument.key)
                except WatchlistError as exc:
                    return CommandResult(False, str(exc))
                return CommandResult(True, f"added {instrument.key}")
            case RemoveFromWatchlist(symbol=symbol):
                instrument = self.cache.resolve(symbol)
                key = instrument.key if instrument else symbol
                try:
                    self.watchlist.remove(key)
                except WatchlistError as exc:
                    return CommandResult(False, str(exc))
                if instrument is not None:
                    self.subscriptions.release(
                        [instrument.instrument_token], self._watched_tokens()
                    )
                    self._watch_subscribed()
                return CommandResult(True, f"removed {key}")
            case SubmitOrder():
                return await self.trading.submit(command)
            case ModifyOrder():
                return await self.trading.modify(command)
            case CancelOrder():
                return await self.trading.cancel(command)
            case CancelAllOrders():
                return await self.trading.cancel_all(command)
            case HaltTrading(reason=reason, user=user):
                self.risk.halt(reason, user)
                return CommandResult(True, f"trading HALTED: {reason}")
            case ResumeTrading(user=user, reason=reason):
                try:
                    self.risk.resume(user, reason)
                except RiskError as exc:
                    return CommandResult(False, str(exc))
                return CommandResult(True, "trading ACTIVE")
            case KillSwitch(reason=reason, flatten=flatten, user=user):
                report = await self.risk.kill(
                    reason, flatten, self._cancel_every_order, self._flatten_everything, user
                )
                tail = "; ".join(report.errors)
                done = "cancelled every open order" + (" and flattened" if report.flattened else "")
                return CommandResult(not report.errors, f"kill switch: HALTED, {done}. {tail}")
            case (
                AddStrategy()
                | StartStrategy()
                | StopStrategy()
                | EnableStrategy()
                | DisableStrategy()
                | UpdateStrategyParams()
                | RemoveStrategy()
                | ReloadStrategies()
            ):
                return self._strategy_command(command)
            case AcknowledgeAlert(alert_id=alert_id, user=user):
                count = self.alert_log.acknowledge(alert_id, user)
                return CommandResult(True, f"acknowledged {count} alert(s)")
        return CommandResult(False, f"unsupported command: {type(command).__name__}")

    def _strategy_command(self, command: object) -> CommandResult:
        manager = self.strategies
        if manager is None:
            return CommandResult(False, "strategies are off (ALPHAPT_STRATEGIES__ENABLED=false)")
        match command:
            case AddStrategy(name=name):
                error = manager.add_strategy(
                    name, command.class_name, command.instruments, command.params, command.start
                )
                done = f"strategy {name} added" + (" and started" if command.start else "")
            case StartStrategy(name=name):
                error, done = manager.start_strategy(name), f"strategy {name} started"
            case StopStrategy(name=name):
                error, done = manager.stop_strategy(name), f"strategy {name} stopped"
            case EnableStrategy(name=name):
                error, done = manager.enable(name), f"strategy {name} enabled"
            case DisableStrategy(name=name):
                error, done = manager.disable(name), f"strategy {name} disabled"
            case UpdateStrategyParams(name=name, params=params):
                error, done = manager.update_params(name, params), f"{name} parameters updated"
            case RemoveStrategy(name=name):
                error, done = manager.remove_strategy(name), f"strategy {name} removed"
            case ReloadStrategies():
                before = {key for key, _ in manager.available_classes()}
                problems = manager.reload_user_strategies()
                new = sorted({key for key, _ in manager.available_classes()} - before)
                done = "strategies reloaded: " + (
                    f"new {', '.join(new)}" if new else "no new class"
                )
                error = "; ".join([done, *problems]) if problems else None
            case _:
                return CommandResult(False, f"unsupported command: {type(command).__name__}")
        return CommandResult(False, error) if error else CommandResult(True, done)

    def strategy_views(self) -> tuple[StrategyView, ...]:
        """Every strategy with state, positions, P&L, signals and latency, for the screen."""
        return self.strategies.views() if self.strategies is not None else ()

    def strategy_classes(self) -> tuple[tuple[str, str], ...]:
        """Every strategy class that can be added, as ``(name, one-line description)``."""
        return self.strategies.available_classes() if self.strategies is not None else ()

    async def _cancel_every_order(self) -> None:
        for order in self.trading.open_orders():
            result = await self.trading.cancel(
                CancelOrder(user=order.user, client_order_id=order.client_order_id)
            )
            if not result.ok:
                raise RuntimeError(result.message)

    async def _flatten_everything(self) -> None:
        failures = []
        for position in self.trading.positions():
            if position.net_quantity == 0:
                continue
            command = square_off_order(position, "kill-switch", KILL_SWITCH_STRATEGY)
            result = await self.trading.submit(command)
            if not result.ok:
                failures.append(result.message)
        if failures:
            raise RuntimeError("; ".join(failures))

    def risk_snapshot(self) -> RiskSnapshot:
        """Trading state, each limit with its usage, the last rejections: for the risk screen."""
        return self.risk.snapshot(self.trading)

    async def bars(self, key: str, timeframe: str, count: int = 300) -> ChartBars:
        """Stored bars of one instrument for a chart, newest last."""
        instrument = self.cache.resolve(key)
        if instrument is None:
            return ChartBars(key, timeframe, note=f"unknown symbol: {key}")
        if self.storage is None or self.storage.queries is None:
            return ChartBars(key, timeframe, note=storage_note(self.settings.storage))
        now = self.clock.now_ns()
        try:
            stored = await self.storage.queries.ohlc(
                instrument.instrument_token, timeframe, now - lookback_ns(timeframe, count), now + 1
            )
        except Exception as exc:
            return ChartBars(key, timeframe, note=f"tick store query failed: {exc}".splitlines()[0])
        bars = tuple(
            ChartBar(b.ts_ns, b.open, b.high, b.low, b.close, b.volume) for b in stored[-count:]
        )
        note = "" if bars else "no stored ticks yet for this instrument"
        return ChartBars(key, timeframe, bars, note)

    def health_report(self) -> HealthReport:
        """Components, queues, storage lag, connections and data quality, for the health screen."""
        queues = [QueueDepth(q.name, q.depth, q.drops) for q in self.bus.tick_queues()]
        queues += [QueueDepth(q.name, q.depth, 0) for q in self.bus.event_queues()]
        stats = self.storage.stats() if self.storage is not None else None
        return HealthReport(
            now_ns=self.clock.now_ns(),
            started_ns=self.started_ns,
            components=self.health.all(),
            queues=tuple(queues),
            ticks_per_second=self.ticks_per_second,
            ticks_total=self.cache.ticks_applied,
            storage_lag_s=stats.lag_s if stats is not None else None,
            storage_pending=stats.pending if stats is not None else 0,
            storage_dropped=stats.dropped if stats is not None else 0,
            connections=(
                ("feed", self.feed.state),
                ("ledger", "up" if self.trading.ledger_up else "down"),
                *(self.distributed.connections() if self.distributed is not None else ()),
            ),
            quality=self.quality.snapshot(),
        )

    def estimate(self, command: SubmitOrder) -> OrderEstimate:
        """What the order ticket shows as the trader types: value, charges, margin, problems."""
        return self.trading.estimate(command)

    def search_instruments(self, query: str, limit: int = SEARCH_LIMIT) -> tuple[Instrument, ...]:
        """Instruments matching ``query`` across NSE, BSE and NFO, best first."""
        return self.search.search(query, limit)

    def option_chain(self, underlying: str, expiry: date | None = None) -> OptionChain:
        """The option chain of ``underlying`` at ``expiry`` (the nearest when ``None``)."""
        return self.search.chain(underlying, expiry)

    def _search_quote(self, token: int) -> tuple[float, float, bool] | None:
        tick = self.cache.last.get(token)
        if tick is not None:
            return tick.ltp, tick.change_pct, True
        day = self.cache.days.get(token)
        return (day.prev_close, 0.0, False) if day is not None else None

    def _watched_tokens(self) -> set[int]:
        by_key = self.cache.by_key
        return {by_key[key].instrument_token for key in self.watchlist.keys if key in by_key}

    def _tokens_in_use(self) -> set[int]:
        """Tokens the feed must carry besides the watchlist: open orders, positions, strategies."""
        tokens = {order.instrument_token for order in self.trading.open_orders()}
        tokens |= {p.instrument_token for p in self.trading.positions() if p.net_quantity}
        for view in self.strategy_views():
            tokens |= {
                i.instrument_token for key in view.instruments if (i := self.cache.resolve(key))
            }
        return tokens

    def _watch_subscribed(self) -> None:
        # Only what the feed carries can go stale; a 100k-row dump is mostly unsubscribed.
        subscribed = getattr(self.feed, "subscribed", None)
        self.quality.watch_only(None if subscribed is None else set(subscribed))

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """For ``/readyz``: started, feed live and not silent, no failed component."""
        failed = [c.name for c in self.health.all() if c.state == HealthState.FAILED]
        feed_live = self.feed.state == "live"
        # A connected feed that sends nothing (the quality sweep's gap) is not ready either.
        gap = self.quality.snapshot().feed_gap
        ready = self.started.is_set() and feed_live and not gap and not failed
        detail = {"feed": self.feed.state, "feed_gap": gap, "failed": failed}
        return ready, {**detail, "mode": self.settings.mode}

    def record_ui_frame(self, apply_seconds: float) -> None:
        """The UI reports how long applying one snapshot took."""
        self.metrics.snapshot_apply.observe(apply_seconds)
