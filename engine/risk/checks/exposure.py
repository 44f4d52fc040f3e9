"""Checks on money: day loss, position and gross exposure limits, margin against funds.

Orders that only reduce exposure pass all of these (cutting risk is never refused
for lack of room); everything else is judged on the position it would leave.
"""

from __future__ import annotations

from engine.orders.model import Product
from engine.orders.validation import CASH_EXCHANGES
from engine.risk.checks.base import RiskCheck
from engine.risk.intent import OrderIntent, money
from engine.risk.records import LimitUsage
from engine.risk.settings import (
    DailyLossConfig,
    FundsConfig,
    GrossExposureConfig,
    PositionLimitConfig,
)
from engine.trading.context import TradingContext


def position_marks(ctx: TradingContext) -> list[tuple[int, int, float]]:
    """``(instrument_token, net_quantity, ltp)`` of every position, as its view shows them.

    The trading service answers without building a view of every position: a view costs
    about 2 µs, and the gross exposure check runs on every order.
    """
    own = getattr(ctx, "position_marks", None)
    if own is not None:
        return own()
    return [(p.instrument_token, p.net_quantity, p.ltp) for p in ctx.positions()]


def instrument_exposures(ctx: TradingContext) -> dict[int, float]:
    """Absolute position value per instrument at LTP (strategies and products netted).

    A context with its own ``instrument_exposures()`` (the trading service) answers from
    its positions directly: the P&L monitors ask after every tick batch, and building a
    view of every position for it cost more than the rest of the batch's trading stage.
    """
    own = getattr(ctx, "instrument_exposures", None)
    if own is not None:
        return own()
    nets: dict[int, int] = {}
    ltps: dict[int, float] = {}
    for token, net_quantity, ltp in position_marks(ctx):
        nets[token] = nets.get(token, 0) + net_quantity
        ltps[token] = ltp
    return {token: abs(net) * ltps[token] for token, net in nets.items()}


class DailyLossCheck(RiskCheck):
    """Day loss ≥ hard limit: nothing passes; ≥ soft limit: only reducing orders."""

    __slots__ = ("_hard", "_soft")
    name = "daily_loss"

    def __init__(self, config: DailyLossConfig) -> None:
        super().__init__(config.enabled)
        self._soft = config.soft_limit
        self._hard = config.hard_limit

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        loss = -intent.funds().net_pnl
        if loss < self._soft:
            return None
        if loss >= self._hard:
            return f"day loss {money(loss)} reached the hard limit {money(self._hard)}"
        if intent.reduces():
            return None
        return f"day loss {money(loss)} reached the soft limit {money(self._soft)}; reducing orders only"

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        loss = max(-ctx.funds().net_pnl, 0.0)
        return [
            LimitUsage(self.name, "day loss (soft)", loss, self._soft, "₹"),
            LimitUsage(self.name, "day loss (hard)", loss, self._hard, "₹"),
        ]


class PositionLimitCheck(RiskCheck):
    """|position + resting same-side orders + this order| × price ≤ ``max_value``."""

    __slots__ = ("_max",)
    name = "position_limit"

    def __init__(self, config: PositionLimitConfig) -> None:
        super().__init__(config.enabled)
        self._max = config.max_value

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        if intent.reduces():
            return None
        price = intent.ltp() or intent.reference_price()
        if price is None:
            return "no price to value the position"
        net = intent.ctx.net_position(intent.token)
        after = net + intent.side.sign * (intent.open_quantity + intent.pending_same_side())
        value = abs(after) * price
        if value <= self._max:
            return None
        where = intent.instrument.key if intent.instrument else f"token {intent.token}"
        return f"position in {where} would be {money(value)} (limit {money(self._max)})"

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        largest = max(instrument_exposures(ctx).values(), default=0.0)
        return [LimitUsage(self.name, "largest position", largest, self._max, "₹")]


class GrossExposureCheck(RiskCheck):
    """Σ |position value| after this order ≤ ``max_value``."""

    __slots__ = ("_max",)
    name = "gross_exposure"

    def __init__(self, config: GrossExposureConfig) -> None:
        super().__init__(config.enabled)
        self._max = config.max_value

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        if intent.reduces():
            return None
        price = intent.ltp() or intent.reference_price()
        if price is None:
            return "no price to value the exposure"
        token = intent.token
        gross = 0.0
        for position_token, net_quantity, ltp in position_marks(intent.ctx):
            if position_token != token:
                gross += abs(net_quantity) * ltp
        net = intent.ctx.net_position(token)
        gross += abs(net + intent.side.sign * intent.open_quantity) * price
        if gross <= self._max:
            return None
        return f"gross exposure would be {money(gross)} (limit {money(self._max)})"

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        gross = sum(instrument_exposures(ctx).values())
        return [LimitUsage(self.name, "gross exposure", gross, self._max, "₹")]


class FundsCheck(RiskCheck):
    """Estimated margin of the order ≤ available funds."""

    __slots__ = ("_config",)
    name = "funds"

    def __init__(self, config: FundsConfig) -> None:
        super().__init__(config.enabled)
        self._config = config

    def margin(self, intent: OrderIntent) -> float | None:
        """A conservative margin estimate for the order, ₹ (``None`` without a price)."""
        value = intent.value()
        if value is None:
            return None
        c = self._config
        instrument = intent.instrument
        if instrument is not None and instrument.exchange in CASH_EXCHANGES:
            return value if intent.product is Product.CNC else value * c.mis_margin_pct / 100
        if intent.is_option:
            if intent.side.sign > 0:
                return value
            strike = instrument.strike if instrument is not None else 0.0
            return max(strike * intent.open_quantity * c.short_option_margin_pct / 100, value)
        return value * c.futures_margin_pct / 100

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        if intent.reduces():
            return None
        needed = self.margin(intent)
        if needed is None:
            return "no price to estimate the margin"
        available = intent.funds().available
        if needed <= available:
            return None
        return f"needs about {money(needed)} margin, {money(available)} available"

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        funds = ctx.funds()
        total = funds.margin_used + max(funds.available, 0.0)
        return [LimitUsage(self.name, "margin used", funds.margin_used, total, "₹")]
