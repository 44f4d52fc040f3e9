"""Builders shared by the trading tests: a tiny market, ticks, a service on a test clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import IST, TestClock
from engine.model import Instrument, MarketDay, Tick
from engine.orders import OrderType, Product, Side, SubmitOrder
from engine.settings import Settings, load_settings
from engine.trading.service import TradingService

MORNING = datetime(2026, 11, 25, 10, 30, tzinfo=IST)  # a Wednesday

EQ = Instrument(
    instrument_token=738561,
    exchange_token=2885,
    tradingsymbol="RELIANCE",
    name="RELIANCE INDUSTRIES",
    exchange="NSE",
    segment="NSE",
    instrument_type="EQ",
    tick_size=0.05,
    lot_size=1,
)
FUT = Instrument(
    instrument_token=9000001,
    exchange_token=90001,
    tradingsymbol="NIFTY26NOVFUT",
    name="NIFTY",
    exchange="NFO",
    segment="NFO-FUT",
    instrument_type="FUT",
    tick_size=0.1,
    lot_size=75,
)
INSTRUMENTS = (EQ, FUT)
DAYS = (
    MarketDay(EQ.instrument_token, prev_close=100.0, lower_circuit=80.0, upper_circuit=120.0),
    MarketDay(
        FUT.instrument_token, prev_close=24000.0, lower_circuit=21600.0, upper_circuit=26400.0
    ),
)


def make_tick(
    token: int,
    ltp: float,
    asks: Sequence[tuple[float, int]] = (),
    bids: Sequence[tuple[float, int]] = (),
    ts_ns: int = 0,
) -> Tick:
    """A tick with the given depth (best first)."""
    return Tick(
        instrument_token=token,
        ltp=ltp,
        last_qty=1,
        avg_price=ltp,
        volume=1000,
        buy_qty=sum(q for _, q in bids),
        sell_qty=sum(q for _, q in asks),
        open=ltp,
        high=ltp,
        low=ltp,
        close=100.0,
        exchange_ts_ns=ts_ns,
        last_trade_ts_ns=ts_ns,
        bid_px=tuple(p for p, _ in bids),
        bid_qty=tuple(q for _, q in bids),
        bid_orders=tuple(1 for _ in bids),
        ask_px=tuple(p for p, _ in asks),
        ask_qty=tuple(q for _, q in asks),
        ask_orders=tuple(1 for _ in asks),
        received_ns=ts_ns,
    )


def order_cmd(
    side: Side = Side.BUY,
    quantity: int = 10,
    order_type: OrderType = OrderType.MARKET,
    product: Product = Product.CNC,
    instrument: Instrument = EQ,
    **kw: Any,
) -> SubmitOrder:
    """A SubmitOrder for ``instrument`` (MARKET orders get automatic protection)."""
    if order_type in (OrderType.MARKET, OrderType.SLM):
        kw.setdefault("market_protection", -1.0)
    return SubmitOrder(
        user="AB1234",
        exchange=instrument.exchange,
        tradingsymbol=instrument.tradingsymbol,
        instrument_token=instrument.instrument_token,
        side=side,
        order_type=order_type,
        product=product,
        quantity=quantity,
        **kw,
    )


def trading_settings(data_dir: Path, ledger_url: str | None = None, **paper: Any) -> Settings:
    """Settings with a private data dir and an IST session; ``paper`` overrides paper fields."""
    return load_settings(
        data_dir=data_dir,
        feed={"session": "ist"},
        metrics={"enabled": False},
        storage={"enabled": False},
        ledger={"url": ledger_url},
        paper=paper,
    )


class Desk:
    """A trading service over a two-instrument market on a test clock, without a kernel."""

    def __init__(self, settings: Settings, clock: TestClock | None = None) -> None:
        self.settings = settings
        self.clock = clock or TestClock(MORNING)
        self.bus = MessageBus()
        self.cache = MarketCache()
        self.cache.add_instruments(INSTRUMENTS)
        self.cache.set_market_days(DAYS)
        self.alerts: list[tuple[Severity, AlertSource, str]] = []
        self.service = TradingService(
            settings, self.clock, self.bus, self.cache, lambda *a: self.alerts.append(a)
        )
        self.bus.add_hot_path(self.cache.apply)
        self.bus.add_hot_path(self.service.on_ticks)

    def tick(self, token: int, ltp: float, asks=(), bids=()) -> None:  # type: ignore[no-untyped-def]
        """Publish one tick stamped with the clock's time."""
        self.bus.publish_ticks([make_tick(token, ltp, asks, bids, self.clock.now_ns())])

    def order(self, coid: str | None):  # type: ignore[no-untyped-def]
        """The order with this id (asserting it exists)."""
        assert coid is not None
        order = self.service.book.get(coid)
        assert order is not None
        return order

    def state(self) -> tuple:
        """Orders, fills, positions and funds, for comparing two runs."""
        s = self.service
        return (s.orders(), s.fills(), s.positions(), s.funds())
