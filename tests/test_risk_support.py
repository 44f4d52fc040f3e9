"""A small in-memory TradingContext and builders for the risk tests (no tests here)."""

from __future__ import annotations

from datetime import date, datetime

from prometheus_client import CollectorRegistry

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.clock import IST, NS_PER_SECOND, TestClock
from engine.model import Instrument, MarketDay
from engine.orders.commands import ModifyOrder, SubmitOrder
from engine.orders.model import Order, OrderStatus, OrderType, Product, Side
from engine.risk import RiskManager, RiskSettings
from engine.trading.views import FundsView, PositionView

WEDNESDAY_1030 = datetime(2026, 11, 25, 10, 30, tzinfo=IST)

RELIANCE = Instrument(738561, 2885, "RELIANCE", "RELIANCE INDUSTRIES", "NSE", "NSE", "EQ", 0.05, 1)
INFY = Instrument(408065, 1594, "INFY", "INFOSYS", "NSE", "NSE", "EQ", 0.05, 1)
NIFTY_INDEX = Instrument(256265, 1001, "NIFTY 50", "NIFTY 50", "NSE", "INDICES", "EQ", 0.05, 1)
NIFTY_CE = Instrument(
    10001, 39, "NIFTY26DEC24000CE", "NIFTY", "NFO", "NFO-OPT", "CE", 0.05, 75,
    expiry=date(2026, 12, 29), strike=24000.0,
)  # fmt: skip
NIFTY_FUT = Instrument(10002, 40, "NIFTY26DECFUT", "NIFTY", "NFO", "NFO-FUT", "FUT", 0.1, 75)


class FakeContext:
    """Everything the risk manager may ask, set directly by the test."""

    def __init__(self, clock: TestClock) -> None:
        self.clock = clock
        self.instruments: dict[int, Instrument] = {}
        self.ltps: dict[int, float] = {}
        self.ticks: dict[int, int] = {}
        self.orders: dict[str, Order] = {}
        self.nets: dict[int, int] = {}
        self.capital = 1_000_000.0
        self.margin_used = 0.0
        self.realized = 0.0
        self.unrealized = 0.0
        self.charges = 0.0
        self._seq = 0

    def add(self, instrument: Instrument, ltp: float) -> None:
        self.instruments[instrument.instrument_token] = instrument
        self.tick(instrument.instrument_token, ltp)

    def tick(self, token: int, ltp: float) -> None:
        self.ltps[token] = ltp
        self.ticks[token] = self.clock.now_ns()

    def rest(self, cmd: SubmitOrder, status: OrderStatus = OrderStatus.OPEN, **kw: object) -> Order:
        """Put an order on the book as if it had been accepted."""
        self._seq += 1
        order = Order(
            client_order_id=cmd.client_order_id or f"T{self._seq}",
            user=cmd.user,
            exchange=cmd.exchange,
            tradingsymbol=cmd.tradingsymbol,
            instrument_token=cmd.instrument_token,
            side=cmd.side,
            order_type=cmd.order_type,
            product=cmd.product,
            quantity=cmd.quantity,
            price=cmd.price,
            trigger_price=cmd.trigger_price,
            market_protection=cmd.market_protection,
            strategy_id=cmd.strategy_id,
            status=status,
            created_ns=self.clock.now_ns(),
            updated_ns=self.clock.now_ns(),
            **kw,  # type: ignore[arg-type]
        )
        self.orders[order.client_order_id] = order
        return order

    # -- TradingContext -------------------------------------------------------------------

    def now_ns(self) -> int:
        return self.clock.now_ns()

    def instrument(self, token: int) -> Instrument | None:
        return self.instruments.get(token)

    def market_day(self, token: int) -> MarketDay | None:
        return None

    def ltp(self, token: int) -> float | None:
        return self.ltps.get(token)

    def last_tick_ns(self, token: int) -> int | None:
        return self.ticks.get(token)

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if not o.is_closed]

    def order(self, client_order_id: str) -> Order | None:
        return self.orders.get(client_order_id)

    def net_position(self, token: int, product: str | None = None) -> int:
        return self.nets.get(token, 0)

    def positions(self) -> list[PositionView]:
        return [
            PositionView(
                token, self.instruments[token].exchange, self.instruments[token].tradingsymbol,
                "MIS", "manual", net, 0.0, self.ltps.get(token, 0.0), 0.0, 0.0, 0.0,
            )
            for token, net in self.nets.items()
            if net
        ]  # fmt: skip

    def funds(self) -> FundsView:
        available = self.capital + self.realized - self.charges - self.margin_used
        return FundsView(
            self.capital, available, self.margin_used, self.realized, self.unrealized, self.charges
        )


def submit(
    instrument: Instrument = RELIANCE,
    side: Side = Side.BUY,
    quantity: int = 10,
    price: float = 1520.0,
    order_type: OrderType = OrderType.LIMIT,
    product: Product | None = None,
    **kw: object,
) -> SubmitOrder:
    """A SubmitOrder for ``instrument`` with sensible defaults."""
    if product is None:
        product = Product.MIS if instrument.exchange == "NSE" else Product.NRML
    if order_type in (OrderType.MARKET, OrderType.SLM):
        kw.setdefault("market_protection", 2.0)
    return SubmitOrder(
        user="AB1234",
        exchange=instrument.exchange,
        tradingsymbol=instrument.tradingsymbol,
        instrument_token=instrument.instrument_token,
        side=side,
        order_type=order_type,
        product=product,
        quantity=quantity,
        price=price if order_type in (OrderType.LIMIT, OrderType.SL) else 0.0,
        **kw,  # type: ignore[arg-type]
    )


def modify(order: Order, **kw: object) -> ModifyOrder:
    """A ModifyOrder of ``order``."""
    return ModifyOrder(user=order.user, client_order_id=order.client_order_id, **kw)  # type: ignore[arg-type]


class Alerts(list[tuple[Severity, AlertSource, str]]):
    """Collects raise_alert calls."""

    def __call__(self, severity: Severity, source: AlertSource, message: str) -> None:
        self.append((severity, source, message))


class Desk:
    """A risk manager, its context, clock, bus and collected alerts."""

    def __init__(self, settings: RiskSettings | None = None, active: bool = True) -> None:
        self.clock = TestClock(WEDNESDAY_1030)
        self.ctx = FakeContext(self.clock)
        self.ctx.add(RELIANCE, 1519.40)
        self.ctx.add(INFY, 1512.85)
        self.ctx.add(NIFTY_INDEX, 24000.0)
        self.ctx.add(NIFTY_CE, 120.0)
        self.ctx.add(NIFTY_FUT, 24100.0)
        self.bus = MessageBus()
        self.events = self.bus.subscribe("test", ["risk."])
        self.alerts = Alerts()
        self.registry = CollectorRegistry()
        self.risk = RiskManager(
            settings or RiskSettings(),
            self.clock,
            bus=self.bus,
            raise_alert=self.alerts,
            registry=self.registry,
        )
        if active:
            self.risk.reconciled()

    def check(self, cmd: object) -> str | None:
        return self.risk.check(cmd, self.ctx)

    def advance(self, seconds: float) -> None:
        """Move time and keep every instrument's market data fresh."""
        self.clock.advance(seconds)
        for token, ltp in list(self.ctx.ltps.items()):
            self.ctx.tick(token, ltp)

    def rejections(self, check: str) -> float:
        value = self.registry.get_sample_value("alphapt_risk_rejections_total", {"check": check})
        return value or 0.0


SECOND = NS_PER_SECOND
