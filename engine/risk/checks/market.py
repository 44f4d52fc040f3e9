"""Checks against market data: freshness of the last tick and a price band around LTP."""

from __future__ import annotations

from engine.clock import NS_PER_SECOND
from engine.orders.model import OrderType
from engine.risk.checks.base import RiskCheck
from engine.risk.intent import OrderIntent, money
from engine.risk.settings import MarketDataConfig, PriceBandConfig


class MarketDataCheck(RiskCheck):
    """The instrument ticked within ``max_age_s``: never trade on a stale price."""

    __slots__ = ("_max_age_ns",)
    name = "market_data"

    def __init__(self, config: MarketDataConfig) -> None:
        super().__init__(config.enabled)
        self._max_age_ns = int(config.max_age_s * NS_PER_SECOND)

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        last = intent.ctx.last_tick_ns(intent.token)
        if last is not None and now_ns - last <= self._max_age_ns:
            return None
        where = intent.instrument.key if intent.instrument else f"token {intent.token}"
        if last is None:
            return f"no market data for {where} yet"
        age = (now_ns - last) / NS_PER_SECOND
        limit = self._max_age_ns / NS_PER_SECOND
        return f"last tick for {where} is {age:.1f} s old (limit {limit:g} s)"


class PriceBandCheck(RiskCheck):
    """Limit and trigger prices within ±``pct`` of LTP (cheap options: within ±₹``option_abs``)."""

    __slots__ = ("_abs", "_cheap", "_pct")
    name = "price_band"

    def __init__(self, config: PriceBandConfig) -> None:
        super().__init__(config.enabled)
        self._pct = config.pct
        self._cheap = config.option_cheap_below
        self._abs = config.option_abs

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        order_type = intent.order_type
        if order_type is OrderType.MARKET:
            return None
        ltp = intent.ltp()
        if ltp is None or ltp <= 0:
            return "no LTP to compare the price with"
        if order_type is not OrderType.SLM and (
            problem := self._band(intent, "", intent.price, ltp)
        ):
            return problem
        if order_type is OrderType.SL or order_type is OrderType.SLM:
            return self._band(intent, "trigger ", intent.trigger_price, ltp)
        return None

    def _band(self, intent: OrderIntent, what: str, price: float, ltp: float) -> str | None:
        gap = price - ltp
        where = "above" if gap > 0 else "below"
        if intent.is_option and ltp <= self._cheap:
            if abs(gap) <= self._abs + 1e-9:
                return None
            return f"{what}{money(price)} is {money(abs(gap))} {where} LTP {money(ltp)} (limit ±{money(self._abs)})"
        pct = abs(gap) / ltp * 100.0
        if pct <= self._pct + 1e-9:
            return None
        return f"{what}{money(price)} is {pct:.1f}% {where} LTP {money(ltp)} (limit {self._pct:g}%)"
