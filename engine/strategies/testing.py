"""Test doubles: a recording :class:`OrderGateway` that can play a tiny broker, tick builders, a harness.

With ``bus`` set, every accepted submit is reported back the way the trading
service will: ``OrderInitialized``, ``OrderAccepted`` and (MARKET orders, filled
at the cache's LTP) ``OrderFilled`` on ``orders.<strategy>``, and the ``Fill`` on
``fills.<strategy>``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.cache import MarketCache
from engine.clock import IST, NS_PER_SECOND, Clock, TestClock
from engine.model import Instrument, Tick
from engine.orders.commands import CancelAllOrders, CancelOrder, SubmitOrder
from engine.orders.events import (
    OrderAccepted,
    OrderFilled,
    OrderInitialized,
    fill_event_id,
)
from engine.orders.model import Fill, OrderType
from engine.orders.validation import validate_submit
from engine.snapshot import CommandResult
from engine.strategies.base import Strategy
from engine.strategies.manager import StrategyManager
from engine.strategies.settings import StrategiesSettings
from engine.strategies.slot import BarHistory


class RecordingGateway:
    """Records every command; validates submits against the cache's instruments when given one."""

    def __init__(
        self,
        cache: MarketCache | None = None,
        *,
        bus: MessageBus | None = None,
        clock: Clock | None = None,
        on_submit: Callable[[SubmitOrder], None] | None = None,
    ) -> None:
        self.cache = cache
        self.bus = bus
        self.clock = clock
        self.on_submit = on_submit
        self.submits: list[SubmitOrder] = []
        self.cancels: list[CancelOrder] = []
        self.cancel_alls: list[CancelAllOrders] = []
        self._trades = 0

    async def submit(self, cmd: SubmitOrder) -> CommandResult:
        if self.on_submit is not None:
            self.on_submit(cmd)
        self.submits.append(cmd)
        if self.cache is not None:
            instrument = self.cache.instruments.get(cmd.instrument_token)
            if instrument is None:
                return CommandResult(False, f"unknown instrument {cmd.instrument_token}")
            if problem := validate_submit(cmd, instrument):
                return CommandResult(False, problem)
        if self.bus is not None:
            # Reported on the next loop turn, as a service's acknowledgement would come.
            asyncio.get_running_loop().call_soon(self._report, cmd)
        return CommandResult(True, cmd.client_order_id or "")

    async def cancel(self, cmd: CancelOrder) -> CommandResult:
        self.cancels.append(cmd)
        return CommandResult(True)

    async def cancel_all(self, cmd: CancelAllOrders) -> CommandResult:
        self.cancel_alls.append(cmd)
        return CommandResult(True)

    def _report(self, cmd: SubmitOrder) -> None:
        assert self.bus is not None and self.clock is not None and self.cache is not None
        coid = cmd.client_order_id or f"T{len(self.submits)}"
        now = self.clock.now_ns()
        topic = f"orders.{cmd.strategy_id}"
        self.bus.publish(
            topic,
            OrderInitialized(event_id=f"i{coid}", ts_ns=now, client_order_id=coid, command=cmd),
        )
        self.bus.publish(
            topic,
            OrderAccepted(
                event_id=f"a{coid}", ts_ns=now, client_order_id=coid, broker_order_id=f"B{coid}"
            ),
        )
        tick = self.cache.last.get(cmd.instrument_token)
        if cmd.order_type is not OrderType.MARKET or tick is None:
            return
        self._trades += 1
        fill = Fill(
            trade_id=f"X{self._trades}",
            client_order_id=coid,
            broker_order_id=f"B{coid}",
            instrument_token=cmd.instrument_token,
            exchange=cmd.exchange,
            tradingsymbol=cmd.tradingsymbol,
            side=cmd.side,
            product=cmd.product,
            quantity=cmd.quantity,
            price=tick.ltp,
            ts_ns=now,
            strategy_id=cmd.strategy_id,
        )
        self.bus.publish(
            topic,
            OrderFilled(
                event_id=fill_event_id(fill.trade_id), ts_ns=now, client_order_id=coid, fill=fill
            ),
        )
        self.bus.publish(f"fills.{cmd.strategy_id}", fill)


def make_instruments(*symbols: str, first_token: int = 101) -> list[Instrument]:
    """NSE equities with consecutive tokens, tick size 0.05, lot size 1."""
    return [
        Instrument(first_token + i, 1000 + i, s, s, "NSE", "NSE", "EQ", 0.05, 1)
        for i, s in enumerate(symbols)
    ]


def make_tick(
    token: int,
    ltp: float,
    ts_ns: int,
    volume: int = 0,
    *,
    bid: float = 0.0,
    ask: float = 0.0,
    received_ns: int = 0,
) -> Tick:
    """A minimal tick: price, cumulative volume, optional best bid/ask."""
    return Tick(
        instrument_token=token,
        ltp=ltp,
        last_qty=1,
        avg_price=ltp,
        volume=volume,
        buy_qty=0,
        sell_qty=0,
        open=ltp,
        high=ltp,
        low=ltp,
        close=ltp,
        exchange_ts_ns=ts_ns,
        last_trade_ts_ns=ts_ns,
        bid_px=(bid,) if bid else (),
        bid_qty=(1,) if bid else (),
        ask_px=(ask,) if ask else (),
        ask_qty=(1,) if ask else (),
        received_ns=received_ns,
    )


class Harness:
    """A manager on a real bus and cache, a recording gateway that fills MARKET orders, a test clock."""

    def __init__(
        self,
        entries: list[dict],
        data_dir: Path,
        *,
        symbols: tuple[str, ...] = ("AAA", "BBB", "CCC"),
        start: datetime | None = None,
        builtins: dict[str, type[Strategy]] | None = None,
        history: BarHistory | None = None,
        fill: bool = True,
        **settings: object,
    ) -> None:
        self.clock = TestClock(start or datetime(2026, 11, 25, 9, 15, tzinfo=IST))
        self.bus = MessageBus()
        self.cache = MarketCache()
        self.instruments = make_instruments(*symbols)
        self.cache.add_instruments(self.instruments)
        self.alerts: list[tuple[Severity, AlertSource, str]] = []
        self.gateway = RecordingGateway(
            self.cache, bus=self.bus if fill else None, clock=self.clock
        )
        self.registry = CollectorRegistry()
        counter = itertools.count(1)
        self.settings = StrategiesSettings.model_validate({"entries": entries, **settings})
        if builtins is None:
            from engine.strategies.builtin import BUILTINS

            builtins = BUILTINS
        self.manager = StrategyManager(
            self.settings,
            clock=self.clock,
            bus=self.bus,
            cache=self.cache,
            gateway=self.gateway,
            raise_alert=lambda sev, src, msg: self.alerts.append((sev, src, msg)),
            data_dir=data_dir,
            registry=self.registry,
            minter=lambda: f"S{next(counter):06d}",
            builtins=builtins,
            history=history,
        )
        self.bus.add_hot_path(self.cache.apply)
        self.bus.add_hot_path(self.manager.on_ticks)
        self._volume: dict[int, int] = {}

    def at(self, minute: int, second: float = 1.0) -> int:
        """Exchange time ``minute`` minutes and ``second`` seconds after 09:15 IST, in ns."""
        base = datetime(2026, 11, 25, 9, 15, tzinfo=IST).timestamp()
        return int((base + minute * 60 + second) * NS_PER_SECOND)

    def tick(self, token: int, ltp: float, ts_ns: int, volume_step: int = 100, **kw: Any) -> None:
        """Publish one tick; cumulative volume grows by ``volume_step``."""
        volume = self._volume.get(token, 10_000) + volume_step
        self._volume[token] = volume
        self.bus.publish_ticks([make_tick(token, ltp, ts_ns, volume, **kw)])

    async def step(self, token: int, ltp: float, ts_ns: int, **kw: Any) -> None:
        """Publish a tick, let its orders reach the gateway and its fills come back."""
        self.tick(token, ltp, ts_ns, **kw)
        await self.settle()

    async def settle(self) -> None:
        """Run scheduled orders to the gateway and deliver the events they caused."""
        await self.manager.settle()
        self.manager.drain_events()

    def orders(self) -> list[tuple[str, str, str, int]]:
        """``(strategy, side, symbol, quantity)`` of every submit, in order."""
        return [
            (c.strategy_id, c.side.value, c.tradingsymbol, c.quantity) for c in self.gateway.submits
        ]
