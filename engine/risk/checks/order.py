"""Checks on the order itself: state, instrument, permissions, protection, session, size."""

from __future__ import annotations

from collections.abc import Callable

from engine.orders.model import MAX_MODIFICATIONS, OrderType, Variety
from engine.orders.validation import check_market_protection
from engine.risk.checks.base import RiskCheck
from engine.risk.freeze import FreezeTable
from engine.risk.intent import OrderIntent, money
from engine.risk.records import TradingState
from engine.risk.session import MarketHours
from engine.risk.settings import (
    FreezeConfig,
    ModificationsConfig,
    OrderValueConfig,
    PermissionsConfig,
    SessionConfig,
)


class TradingStateCheck(RiskCheck):
    """ACTIVE passes all; REDUCING only exposure-reducing orders; HALTED nothing."""

    __slots__ = ("_state",)
    name = "trading_state"
    for_kill_switch = True

    def __init__(self, state: Callable[[], tuple[TradingState, str]]) -> None:
        super().__init__(True)
        self._state = state

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        state, reason = self._state()
        if intent.kill_switch:
            if intent.order_type is not OrderType.MARKET or intent.is_modify:
                return "kill-switch flatten orders must be new MARKET orders"
            if not intent.reduces():
                return "kill-switch flatten order would not reduce the position"
            return None
        if state is TradingState.ACTIVE:
            return None
        if state is TradingState.HALTED:
            return f"trading is HALTED ({reason}); only cancels pass"
        if intent.reduces():
            return None
        return f"trading is REDUCING ({reason}); {intent.side.value} {intent.open_quantity} would not reduce the position"


class InstrumentCheck(RiskCheck):
    """The instrument is known and tradable (not an index)."""

    __slots__ = ()
    name = "instrument"
    for_kill_switch = True

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        instrument = intent.instrument
        if instrument is None:
            return f"unknown instrument token {intent.token}"
        if not instrument.tradable:
            return f"{instrument.key} is an index and cannot be traded"
        return None


class PermissionsCheck(RiskCheck):
    """The strategy may use this order type and product."""

    __slots__ = ("_default", "_strategies")
    name = "permissions"

    def __init__(self, config: PermissionsConfig) -> None:
        super().__init__(config.enabled)
        self._default = (frozenset(config.default.order_types), frozenset(config.default.products))
        self._strategies = {
            name: (frozenset(p.order_types), frozenset(p.products))
            for name, p in config.strategies.items()
        }

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        order_types, products = self._strategies.get(intent.strategy_id, self._default)
        if intent.order_type not in order_types:
            return f"strategy {intent.strategy_id} may not send {intent.order_type.value} orders"
        if intent.product not in products:
            return f"strategy {intent.strategy_id} may not use product {intent.product.value}"
        return None


class MarketProtectionCheck(RiskCheck):
    """MARKET and SL-M orders carry market protection; 0 is never allowed."""

    __slots__ = ()
    name = "market_protection"
    for_kill_switch = True

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        return check_market_protection(intent.order_type, intent.market_protection)


class SessionCheck(RiskCheck):
    """The market is open (AMO orders only while it is closed)."""

    __slots__ = ("_hours",)
    name = "session"

    def __init__(self, config: SessionConfig) -> None:
        super().__init__(config.enabled)
        always = config.session == "always-open"
        self._hours = MarketHours(always, config.market_open, config.market_close)

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        is_open = self._hours.is_open(now_ns)
        if intent.variety is Variety.AMO:
            return (
                "the market is open; AMO orders are for outside market hours" if is_open else None
            )
        return None if is_open else "the market is closed"


class FreezeQuantityCheck(RiskCheck):
    """Quantity ≤ min(exchange freeze quantity, configured maximum)."""

    __slots__ = ("_max", "table")
    name = "freeze_quantity"
    for_kill_switch = True

    def __init__(self, config: FreezeConfig, table: FreezeTable) -> None:
        super().__init__(config.enabled)
        self._max = config.max_quantity
        self.table = table

    def limit(self, intent: OrderIntent) -> int:
        """The largest quantity one order on this instrument may carry."""
        freeze = self.table.freeze(intent.instrument) if intent.instrument is not None else None
        return self._max if freeze is None else min(freeze, self._max)

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        limit = self.limit(intent)
        if intent.quantity <= limit:
            return None
        return (
            f"quantity {intent.quantity:,} exceeds the per-order limit {limit:,}; split the order"
        )


class ModificationsCheck(RiskCheck):
    """A resting order is modified at most ``max_per_order`` times (Kite allows 25)."""

    __slots__ = ("_max",)
    name = "modifications"

    def __init__(self, config: ModificationsConfig) -> None:
        super().__init__(config.enabled)
        self._max = min(config.max_per_order, MAX_MODIFICATIONS)

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        order = intent.order
        if order is None or order.modifications < self._max:
            return None
        return f"order {order.client_order_id} was already modified {order.modifications} times (limit {self._max})"


class OrderValueCheck(RiskCheck):
    """Order value ≤ the configured maximum."""

    __slots__ = ("_max",)
    name = "order_value"

    def __init__(self, config: OrderValueConfig) -> None:
        super().__init__(config.enabled)
        self._max = config.max_value

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        value = intent.value()
        if value is None:
            return "no price to value the order (no LTP for a MARKET order)"
        if value <= self._max:
            return None
        return f"order value {money(value)} exceeds the limit {money(self._max)}"
