"""Checks on order flow: rate throttle, duplicates, open orders and self-trades."""

from __future__ import annotations

from collections import deque

from engine.clock import NS_PER_SECOND
from engine.orders.model import OrderStatus, OrderType, Side
from engine.risk.checks.base import RiskCheck
from engine.risk.intent import OrderIntent
from engine.risk.records import LimitUsage
from engine.risk.session import ist_day
from engine.risk.settings import DuplicateConfig, OpenOrdersConfig, ThrottleConfig
from engine.trading.context import TradingContext

_MINUTE_NS = 60 * NS_PER_SECOND


class ThrottleCheck(RiskCheck):
    """At most N orders (submits and modifications) in any 1 s and any 60 s window, and per IST day."""

    __slots__ = (
        "_day",
        "_day_count",
        "_minute",
        "_per_day",
        "_per_minute",
        "_per_second",
        "_second",
    )
    name = "throttle"

    def __init__(self, config: ThrottleConfig) -> None:
        super().__init__(config.enabled)
        self._per_second = config.per_second
        self._per_minute = config.per_minute
        self._per_day = config.per_day
        self._second: deque[int] = deque()
        self._minute: deque[int] = deque()
        self._day = -1
        self._day_count = 0

    def _prune(self, now_ns: int) -> None:
        second, minute = self._second, self._minute
        while second and second[0] <= now_ns - NS_PER_SECOND:
            second.popleft()
        while minute and minute[0] <= now_ns - _MINUTE_NS:
            minute.popleft()
        day = ist_day(now_ns)
        if day != self._day:
            self._day = day
            self._day_count = 0

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        self._prune(now_ns)
        if len(self._second) >= self._per_second:
            return f"{len(self._second)} orders in the last second (limit {self._per_second}/s)"
        if len(self._minute) >= self._per_minute:
            return f"{len(self._minute)} orders in the last minute (limit {self._per_minute}/min)"
        if self._day_count >= self._per_day:
            return f"{self._day_count:,} orders today (limit {self._per_day:,}/day)"
        return None

    def accept(self, intent: OrderIntent, now_ns: int) -> None:
        self._prune(now_ns)
        self._second.append(now_ns)
        self._minute.append(now_ns)
        self._day_count += 1

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        self._prune(now_ns)
        return [
            LimitUsage(self.name, "orders / second", len(self._second), self._per_second),
            LimitUsage(self.name, "orders / minute", len(self._minute), self._per_minute),
            LimitUsage(self.name, "orders today", self._day_count, self._per_day),
        ]


class DuplicateCheck(RiskCheck):
    """The same instrument, side, quantity and price again within ``window_s``."""

    __slots__ = ("_expiry", "_seen", "_window_ns")
    name = "duplicate"

    def __init__(self, config: DuplicateConfig) -> None:
        super().__init__(config.enabled)
        self._window_ns = int(config.window_s * NS_PER_SECOND)
        self._seen: dict[tuple[int, Side, int, float], int] = {}
        self._expiry: deque[tuple[int, tuple[int, Side, int, float]]] = deque()

    @staticmethod
    def _key(intent: OrderIntent) -> tuple[int, Side, int, float]:
        return (intent.token, intent.side, intent.quantity, round(intent.price, 2))

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        if intent.is_modify:
            return None
        expiry, seen = self._expiry, self._seen
        while expiry and expiry[0][0] <= now_ns - self._window_ns:
            ts, key = expiry.popleft()
            if seen.get(key) == ts:
                del seen[key]
        last = seen.get(self._key(intent))
        if last is None:
            return None
        ago = (now_ns - last) / NS_PER_SECOND
        return f"the same order was sent {ago:.1f} s ago (window {self._window_ns / NS_PER_SECOND:g} s)"

    def accept(self, intent: OrderIntent, now_ns: int) -> None:
        if intent.is_modify:
            return
        key = self._key(intent)
        self._seen[key] = now_ns
        self._expiry.append((now_ns, key))


class OpenOrdersCheck(RiskCheck):
    """No new order once ``max_open`` orders are open."""

    __slots__ = ("_max",)
    name = "open_orders"

    def __init__(self, config: OpenOrdersConfig) -> None:
        super().__init__(config.enabled)
        self._max = config.max_open

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        if intent.is_modify:
            return None
        count = len(intent.open_orders())
        if count < self._max:
            return None
        return f"{count} orders are open (limit {self._max})"

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        return [LimitUsage(self.name, "open orders", len(ctx.open_orders()), self._max)]


_NOT_RESTING = (OrderStatus.TRIGGER_PENDING, OrderStatus.CANCEL_PENDING)


class SelfTradeCheck(RiskCheck):
    """The order would cross one of our own resting orders on the other side."""

    __slots__ = ()
    name = "self_trade"

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        token, side, own = intent.token, intent.side, intent.client_order_id
        marketable = intent.order_type is OrderType.MARKET or intent.order_type is OrderType.SLM
        price = intent.price
        for order in intent.open_orders():
            if (
                order.instrument_token != token
                or order.side is side
                or order.client_order_id == own
                or order.status in _NOT_RESTING
            ):
                continue
            resting = order.order_type is OrderType.MARKET or order.order_type is OrderType.SLM
            if marketable or resting:
                crosses = True
            elif side is Side.BUY:
                crosses = price >= order.price
            else:
                crosses = price <= order.price
            if crosses:
                return f"would cross our own resting {order.side.value} {order.client_order_id} at {order.price:,.2f}"
        return None
