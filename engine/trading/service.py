"""The trading service (component ``execution``): orders, paper fills, positions, the ledger.

Every order is written to the ledger before it is sent; every later event is
applied to the order book, published on the bus (``orders.<strategy>``,
``fills.<strategy>``) and written to the ledger in batches. Restart replays the
ledger and resumes working paper orders. See ``docs/trading.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import Clock, ns_to_ist
from engine.component import Component
from engine.ledger.errors import LedgerError, LedgerUnavailable
from engine.model import Instrument, MarketDay, Tick
from engine.orders.book import OrderBook
from engine.orders.events import OrderEvent, OrderFilled, OrderModifyRejected
from engine.orders.events import OrderRejected as _Rejected
from engine.orders.ids import ClientOrderIdMinter
from engine.orders.model import Fill, Order, OrderStatus, StatusGroup
from engine.orders.state import InvalidTransition
from engine.trading.account import account_problem
from engine.trading.commands import OrderCommands
from engine.trading.context import PreTradeCheck
from engine.trading.journal import Journal
from engine.trading.margin import funds as compute_funds
from engine.trading.paper import PaperBroker
from engine.trading.paper.session import seconds_until
from engine.trading.portfolio import Portfolio
from engine.trading.restore import check_positions, load_book
from engine.trading.settings import PaperSettings
from engine.trading.views import FundsView, PositionView

if TYPE_CHECKING:  # the database drivers load when the ledger opens, off the start-up path
    from engine.ledger.store import Ledger
    from engine.trading.live.broker import KiteBroker

log = structlog.get_logger("engine.trading")

PNL_CHECK_NS = 100_000_000
"""Mark-to-market P&L reaches the risk monitors at most this often (engine clock)."""
RaiseAlert = Callable[[Severity, AlertSource, str], Any]


class LtpView:
    """``get(token)`` → the instrument's last traded price, from the market cache."""

    __slots__ = ("_last",)

    def __init__(self, cache: MarketCache) -> None:
        self._last = cache.last

    def get(self, token: int, default: float | None = None) -> float | None:
        tick = self._last.get(token)
        return tick.ltp if tick is not None else default


class TradingService(OrderCommands, Component):
    """Orders, the paper broker, the portfolio and their ledger; also the risk check's context."""

    name = "execution"
    critical = True

    def __init__(
        self,
        settings: Any,
        clock: Clock,
        bus: MessageBus,
        cache: MarketCache,
        raise_alert: RaiseAlert,
    ) -> None:
        self.settings = settings
        self.paper: PaperSettings = getattr(settings, "paper", None) or PaperSettings()
        self.clock = clock
        self.bus = bus
        self.cache = cache
        self.raise_alert = raise_alert
        self.pre_trade: PreTradeCheck | None = None
        self.on_pnl: Callable[[TradingService], None] | None = None
        """Called after every fill, and on mark-to-market at most every 100 ms (loss monitors)."""
        self._pnl_checked_ns = -PNL_CHECK_NS
        self.book = OrderBook()
        self.portfolio = Portfolio(ns_to_ist(clock.now_ns()).date())
        self.journal = Journal()
        self.ledger: Ledger | None = None
        self.ledger_up = True
        self.ready = False
        self.version = 0
        self.orders_version = 0
        self.ltps = LtpView(cache)
        self._minter = ClientOrderIdMinter(clock)
        self._event_ids = ClientOrderIdMinter(clock)
        self._mis_closed_on = None
        self._views: dict[str, tuple[int, Any]] = {}
        self._retry_at = 0.0
        self._dirty_positions: set[tuple[int, str, str]] = set()
        self.live = getattr(settings, "mode", "paper") == "live"
        self.broker: PaperBroker | KiteBroker
        if self.live:
            from engine.trading.live import build_kite_broker

            self.broker = build_kite_broker(
                settings, clock, self._on_event, self._new_event_id, self.book_get, raise_alert
            )
        else:
            self.broker = PaperBroker(
                self.paper, clock, cache, self._on_event, self._new_event_id, self._account_check
            )

    def book_get(self, client_order_id: str) -> Order | None:
        """The current order with this client id (the live broker's view of the book)."""
        return self.book.get(client_order_id)

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the ledger, rebuild orders and positions from it, resume working orders."""
        from engine.ledger.store import open_ledger

        self.ledger = await open_ledger(self.settings.ledger, self.settings.data_dir, self.clock)
        restored = await load_book(self.ledger)
        self.book = restored.book
        self.portfolio = Portfolio(ns_to_ist(self.clock.now_ns()).date())
        self.portfolio.apply_fills(self.book.fills)
        problems = restored.mismatches + await check_positions(self.ledger, self.portfolio)
        for problem in problems[:5]:
            self.raise_alert(Severity.WARNING, AlertSource.SYSTEM, f"ledger check: {problem}")
        if self.live:
            await self._reconcile_live()
        else:
            self._resume()
        self._changed(orders=True)
        self.ready = True
        await self.flush()
        log.info("trading ready", orders=len(self.book), working=len(self.broker.working))

    async def _reconcile_live(self) -> None:
        from engine.trading.live import reconcile_startup

        broker = self.broker
        assert not isinstance(broker, PaperBroker)
        await broker.open()
        broker.reconcile_problem = await reconcile_startup(broker, self.book, self.portfolio)
        await broker.idle()
        if broker.reconcile_problem is not None:
            self.raise_alert(
                Severity.CRITICAL,
                AlertSource.SYSTEM,
                f"live reconciliation failed: {broker.reconcile_problem}",
            )

    def _resume(self) -> None:
        fills_per_order: dict[str, int] = {}
        for fill in self.book.fills:
            fills_per_order[fill.client_order_id] = fills_per_order.get(fill.client_order_id, 0) + 1
        for order in self.book.working():
            coid = order.client_order_id
            if order.group is StatusGroup.LOCAL:
                self._emit_now(_Rejected, coid, reason="engine restarted before the order was sent")
            elif order.status is OrderStatus.OPEN_PENDING:
                self.broker.arrive(order)
            elif order.status is OrderStatus.CANCEL_PENDING:
                self.broker.resume(order, fills_per_order.get(coid, 0))
                self.broker.cancel_now(coid, "cancelled: engine restarted with the cancel pending")
            else:
                self.broker.resume(order, fills_per_order.get(coid, 0))
                if order.status is OrderStatus.MODIFY_PENDING:
                    self._emit_now(
                        OrderModifyRejected,
                        coid,
                        reason="engine restarted before the modification took effect",
                    )

    async def run(self) -> None:
        """Flush to the ledger, run due broker actions, square off MIS, watch the ledger."""
        interval = self.paper.flush_interval_ms / 1000.0
        while True:
            await self.clock.sleep(interval)
            await self.housekeeping()

    async def housekeeping(self) -> None:
        """One pump: what ``run`` does every flush interval (tests call it directly)."""
        self.broker.run_due()
        now = self.clock.now_ns()
        if self.portfolio.roll_day(ns_to_ist(now).date()):
            self._changed(orders=False)
        # An always-open development market has no session end, so no intraday square-off.
        always_open = getattr(getattr(self.settings, "feed", None), "session", "") == "always-open"
        # Live: the broker squares off MIS itself; the desk must not send a second set.
        if (
            not self.live
            and not always_open
            and seconds_until(now, self.paper.mis_squareoff_time) <= 0
        ):
            await self.square_off_mis()
        if not self.ledger_up and self.clock.monotonic() >= self._retry_at:
            await self._try_recover()
        if self.ledger_up:
            await self.flush()

    async def stop(self) -> None:
        """Write everything pending, then close the ledger."""
        if self.ledger is None:
            return
        if self.live and not isinstance(self.broker, PaperBroker):
            await self.broker.close()
        try:
            await self.flush(raise_errors=True)
        except LedgerError as exc:
            log.error("unwritten at shutdown", rows=self.journal.unwritten, error=str(exc))
        await self.ledger.close()
        self.ready = False

    async def flush(self, raise_errors: bool = False) -> None:
        """Write pending events, fills and positions to the ledger in one batch."""
        if self.ledger is None or not self.journal.pending:
            return
        for key in self._dirty_positions:
            p = self.portfolio.positions[key]
            self.journal.position(
                key,
                {
                    "instrument_token": p.instrument_token,
                    "product": p.product,
                    "strategy_id": p.strategy_id,
                    "net_quantity": p.net_quantity,
                    "average_price": p.average_price,
                    "realized_pnl": p.realized_pnl,
                    "charges": p.charges,
                    "updated_ns": p.updated_ns,
                },
            )
        self._dirty_positions.clear()
        try:
            await self.journal.flush(self.ledger)
        except LedgerUnavailable as exc:
            self._ledger_down(str(exc))
            if raise_errors:
                raise
        except LedgerError as exc:
            self.raise_alert(
                Severity.CRITICAL, AlertSource.SYSTEM, f"ledger refused a write: {exc}"
            )
            if raise_errors:
                raise

    def _ledger_down(self, reason: str) -> None:
        self._retry_at = self.clock.monotonic() + self.paper.ledger_retry_s
        if self.ledger_up:
            self.ledger_up = False
            self.raise_alert(
                Severity.CRITICAL,
                AlertSource.SYSTEM,
                f"ledger unavailable, new orders refused: {reason}",
            )

    async def _try_recover(self) -> None:
        assert self.ledger is not None
        try:
            await self.ledger.ping()
            await self.journal.flush(self.ledger)
        except LedgerError as exc:
            self._retry_at = self.clock.monotonic() + self.paper.ledger_retry_s
            log.warning("ledger still unavailable", error=str(exc))
            return
        self.ledger_up = True
        self.raise_alert(Severity.INFO, AlertSource.SYSTEM, "ledger is back; orders accepted again")

    # -- events -------------------------------------------------------------------------

    def _new_event_id(self) -> str:
        return "E" + self._event_ids.next()

    def _emit_now(self, kind: type, coid: str, **fields: Any) -> None:
        self._on_event(
            kind(
                event_id=self._new_event_id(),
                ts_ns=self.clock.now_ns(),
                client_order_id=coid,
                **fields,
            )
        )

    def _on_event(self, event: OrderEvent) -> None:
        """Apply a broker event: book, journal, portfolio, bus."""
        try:
            order = self.book.apply(event)
        except InvalidTransition as exc:
            log.warning("order event dropped", reason=str(exc), late=exc.late)
            return
        if order is None:
            return
        fill = event.fill if isinstance(event, OrderFilled) else None
        self.journal.record(order, event, fill)
        self.bus.publish(f"orders.{order.strategy_id}", event)
        position = self.portfolio.apply_fill(fill) if fill is not None else None
        if fill is not None and position is not None:
            if position.ltp is None:
                position.ltp = self.ltps.get(fill.instrument_token)
            self._dirty_positions.add((fill.instrument_token, fill.product.value, fill.strategy_id))
            self.bus.publish(f"fills.{fill.strategy_id}", fill)
        self._changed(orders=True)
        if fill is not None and self.on_pnl is not None:
            self.on_pnl(self)

    def _changed(self, orders: bool) -> None:
        self.version += 1
        if orders:
            self.orders_version = self.version

    def _account_check(self, order: Order) -> str | None:
        today = ns_to_ist(self.clock.now_ns()).date()
        return account_problem(
            order,
            self.portfolio,
            self._blocking_orders(),
            self.ltps,
            self.paper,
            self._mis_closed_on == today,
        )

    def _blocking_orders(self) -> list[Order]:
        return [self.book[c] for c in self.broker.working if c in self.book]

    # -- hot path -----------------------------------------------------------------------

    def on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Bus hot-path stage: fill working paper orders and mark positions to market."""
        broker = self.broker
        working = broker.by_token
        held = self.portfolio.by_token
        if broker.has_due:
            broker.run_due()
        marked = False
        for tick in ticks:
            token = tick.instrument_token
            if token in working:
                broker.on_tick(tick)
            positions = held.get(token)
            if positions is not None:
                for p in positions:
                    p.ltp = tick.ltp
                marked = True
        if marked:
            self.version += 1
            if self.on_pnl is not None:
                # Marking to market changes P&L on every batch; the loss monitors sum over
                # every position, so they look at most every PNL_CHECK_NS (fills: always).
                now = self.clock.now_ns()
                if now - self._pnl_checked_ns >= PNL_CHECK_NS:
                    self._pnl_checked_ns = now
                    self.on_pnl(self)
        return ticks

    # -- views --------------------------------------------------------------------------

    def _cached(self, name: str, version: int, build: Callable[[], Any]) -> Any:
        kept = self._views.get(name)
        if kept is not None and kept[0] == version:
            return kept[1]
        value = build()
        self._views[name] = (version, value)
        return value

    def orders(self) -> tuple[Order, ...]:
        """Every order, oldest first."""
        return self._cached("orders", self.orders_version, lambda: tuple(self.book))

    def fills(self) -> tuple[Fill, ...]:
        """Every fill, in the order applied."""
        return self._cached("fills", self.orders_version, lambda: self.book.fills)

    def positions(self) -> tuple[PositionView, ...]:
        """Every position with MTM at LTP."""
        return self._cached(
            "positions", self.version, lambda: self.portfolio.views(self.cache.days)
        )

    def instrument_exposures(self) -> dict[int, float]:
        """``risk.checks.instrument_exposures`` of this context without building position views:
        the same sums in the same order (a view's LTP is 0 until the instrument ticked).

        ``by_token`` holds each instrument's positions in the order they opened, and the
        instruments in the order their first position did, as the views list them."""
        exposures: dict[int, float] = {}
        for token, held in self.portfolio.by_token.items():
            last = held[-1]
            net = last.net_quantity if len(held) == 1 else sum([p.net_quantity for p in held])
            exposures[token] = abs(net) * (last.ltp if last.ltp is not None else 0.0)
        return exposures

    def position_marks(self) -> list[tuple[int, int, float]]:
        """``risk.checks.position_marks`` of this context without building position views
        (a view's LTP is 0 until the instrument ticked)."""
        return [
            (p.instrument_token, p.net_quantity, p.ltp if p.ltp is not None else 0.0)
            for p in self.portfolio.positions.values()
        ]

    def pnl_marks(self) -> tuple[float, float]:
        """Day P&L after charges and gross exposure, for the P&L monitors.

        The same values as ``funds().net_pnl`` (same sums, same order) and the sum of
        :meth:`instrument_exposures`, without valuing the open orders' margin as ``funds()``
        does: the monitors read them after every marked tick batch.
        """
        portfolio = self.portfolio
        unrealized = 0.0
        for p in portfolio.positions.values():
            unrealized += p.unrealized_pnl  # as funds() adds them (sum() rounds otherwise on 3.12+)
        net_pnl = portfolio.realized() + unrealized - portfolio.charges()
        return net_pnl, sum(self.instrument_exposures().values())

    def funds(self) -> FundsView:
        """Capital, margin used, available and P&L."""
        return self._cached(
            "funds",
            self.version,
            lambda: compute_funds(self.portfolio, self._blocking_orders(), self.ltps, self.paper),
        )

    # -- TradingContext -----------------------------------------------------------------

    def now_ns(self) -> int:
        """Engine clock."""
        return self.clock.now_ns()

    def instrument(self, token: int) -> Instrument | None:
        """The instrument, if known."""
        return self.cache.instruments.get(token)

    def market_day(self, token: int) -> MarketDay | None:
        """Previous close and circuit limits."""
        return self.cache.days.get(token)

    def ltp(self, token: int) -> float | None:
        """Last traded price, if the instrument has ticked."""
        return self.ltps.get(token)

    def last_tick_ns(self, token: int) -> int | None:
        """When the instrument last ticked (engine clock, else exchange time)."""
        tick = self.cache.last.get(token)
        if tick is None:
            return None
        return tick.received_ns or tick.exchange_ts_ns

    def open_orders(self) -> Sequence[Order]:
        """Every order not yet closed."""
        return self.book.working()

    def order(self, client_order_id: str) -> Order | None:
        """One order by client id."""
        return self.book.get(client_order_id)

    def net_position(self, token: int, product: str | None = None) -> int:
        """Signed net quantity across strategies."""
        return self.portfolio.net_quantity(token, product)
