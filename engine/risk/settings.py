"""Settings of the risk manager: one section per pre-trade check, every limit named.

Paper mode runs on the defaults below. Live mode must not: every money limit
(:data:`MONEY_LIMITS`) has to be set explicitly, and :func:`validate_for_live`
names each one that was left at its default, so the CLI can print them and exit.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_CONFIG = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)

ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
PRODUCTS = ("CNC", "MIS", "NRML")


class CheckConfig(BaseModel):
    """A check without thresholds of its own."""

    model_config = _CONFIG

    enabled: bool = True
    """Run the check; a disabled check passes every order."""


class FreezeConfig(CheckConfig):
    """Order quantity ≤ min(exchange freeze quantity, configured maximum)."""

    max_quantity: int = Field(default=10_000, ge=1)
    """Largest quantity of one order on any instrument (NSE equity has no freeze quantity)."""
    table: str | None = None
    """CSV of freeze quantities (exchange,name,freeze_quantity); default: the shipped table."""


class OrderValueConfig(CheckConfig):
    """Order value (price × quantity) ≤ a maximum. A money limit."""

    max_value: float = Field(default=500_000.0, gt=0)
    """Largest value of one order, ₹."""


class PriceBandConfig(CheckConfig):
    """Limit or trigger price within a band around LTP."""

    pct: float = Field(default=3.0, gt=0, le=50)
    """Band half-width in percent of LTP."""
    option_cheap_below: float = Field(default=50.0, ge=0)
    """Options whose LTP is at or below this (₹) use the absolute band instead."""
    option_abs: float = Field(default=3.0, gt=0)
    """Absolute band half-width for cheap options, ₹."""


class MarketDataConfig(CheckConfig):
    """The instrument's last tick must be recent."""

    max_age_s: float = Field(default=5.0, gt=0)
    """Reject when the last tick is older than this many seconds (or there is none)."""


class ThrottleConfig(CheckConfig):
    """Orders and modifications sent per second, minute and IST day (Kite: 10/s, 400/min, 5,000/day)."""

    per_second: int = Field(default=8, ge=1, le=10)
    """Largest number of orders in any one-second window."""
    per_minute: int = Field(default=300, ge=1, le=400)
    """Largest number of orders in any sixty-second window."""
    per_day: int = Field(default=4_000, ge=1, le=5_000)
    """Largest number of orders per IST calendar day."""


class ModificationsConfig(CheckConfig):
    """Modifications of one order (Kite refuses the 26th)."""

    max_per_order: int = Field(default=20, ge=1, le=25)
    """Modifications allowed per order."""


class DuplicateConfig(CheckConfig):
    """The same order (instrument, side, quantity, price) again within a window."""

    window_s: float = Field(default=5.0, gt=0)
    """Seconds during which an identical order counts as a duplicate."""


class OpenOrdersConfig(CheckConfig):
    """Orders not yet closed."""

    max_open: int = Field(default=50, ge=1)
    """Largest number of open orders before new submissions are refused."""


class PositionLimitConfig(CheckConfig):
    """Per-instrument position value after the order (with resting orders). A money limit."""

    max_value: float = Field(default=1_000_000.0, gt=0)
    """Largest absolute position value in one instrument, ₹ at LTP."""


class GrossExposureConfig(CheckConfig):
    """Sum of absolute position values after the order. A money limit."""

    max_value: float = Field(default=2_500_000.0, gt=0)
    """Largest gross exposure, ₹ at LTP."""


class FundsConfig(CheckConfig):
    """Estimated margin of the order ≤ available funds."""

    mis_margin_pct: float = Field(default=20.0, gt=0, le=100)
    """Margin of an intraday (MIS) equity order, percent of its value."""
    futures_margin_pct: float = Field(default=15.0, gt=0, le=100)
    """Margin of a futures order, percent of its value."""
    short_option_margin_pct: float = Field(default=15.0, gt=0, le=100)
    """Margin of a short option, percent of strike × quantity."""


class DailyLossConfig(CheckConfig):
    """Day loss after charges: soft limit → REDUCING, hard limit → HALTED. Money limits."""

    soft_limit: float = Field(default=25_000.0, gt=0)
    """Loss (₹, positive) at which only reducing orders pass."""
    hard_limit: float = Field(default=50_000.0, gt=0)
    """Loss (₹, positive) at which trading halts."""

    @model_validator(mode="after")
    def _soft_below_hard(self) -> DailyLossConfig:
        if self.soft_limit > self.hard_limit:
            raise ValueError("soft_limit must not exceed hard_limit")
        return self


class DrawdownConfig(CheckConfig):
    """Day P&L drawdown from the day's peak → HALTED (post-trade). A money limit."""

    max_value: float = Field(default=40_000.0, gt=0)
    """Largest fall of day P&L from its peak, ₹."""


class SessionConfig(CheckConfig):
    """Instrument known and tradable, market open."""

    session: Literal["ist", "always-open"] = "ist"
    """``ist``: weekdays between market open and close; ``always-open``: follow a 24h feed."""
    market_open: time = time(9, 15)
    """Session start, IST."""
    market_close: time = time(15, 30)
    """Session end, IST."""

    @model_validator(mode="after")
    def _window(self) -> SessionConfig:
        if self.market_open >= self.market_close:
            raise ValueError("market_open must be before market_close")
        return self


class Permissions(BaseModel):
    """Order types and products one strategy may use."""

    model_config = _CONFIG

    order_types: tuple[Literal["MARKET", "LIMIT", "SL", "SL-M"], ...] = ORDER_TYPES
    """Allowed Kite order types."""
    products: tuple[Literal["CNC", "MIS", "NRML"], ...] = PRODUCTS
    """Allowed Kite products."""


class PermissionsConfig(CheckConfig):
    """Order types and products allowed per strategy."""

    default: Permissions = Permissions()
    """What a strategy without its own entry may use."""
    strategies: dict[str, Permissions] = {}
    """Per-strategy overrides, by strategy id (``manual`` for the order ticket)."""


class RiskSettings(BaseModel):
    """Pre-trade checks, post-trade monitors and the trading state."""

    model_config = _CONFIG

    permissions: PermissionsConfig = PermissionsConfig()
    """Order types and products allowed per strategy."""
    market_protection: CheckConfig = CheckConfig()
    """MARKET and SL-M orders must carry market protection (never 0)."""
    session: SessionConfig = SessionConfig()
    """Instrument tradable and market open."""
    freeze_quantity: FreezeConfig = FreezeConfig()
    """Order quantity against freeze quantities and a configured maximum."""
    modifications: ModificationsConfig = ModificationsConfig()
    """Modifications per order."""
    market_data: MarketDataConfig = MarketDataConfig()
    """Freshness of the instrument's market data."""
    order_value: OrderValueConfig = OrderValueConfig()
    """Value of one order."""
    price_band: PriceBandConfig = PriceBandConfig()
    """Price within a band around LTP."""
    duplicate: DuplicateConfig = DuplicateConfig()
    """Identical orders in quick succession."""
    throttle: ThrottleConfig = ThrottleConfig()
    """Order rate per second, minute and day."""
    open_orders: OpenOrdersConfig = OpenOrdersConfig()
    """Number of open orders."""
    self_trade: CheckConfig = CheckConfig()
    """An order that would cross our own resting opposite order."""
    daily_loss: DailyLossConfig = DailyLossConfig()
    """Day loss limits (pre-trade and post-trade)."""
    position_limit: PositionLimitConfig = PositionLimitConfig()
    """Per-instrument position value."""
    gross_exposure: GrossExposureConfig = GrossExposureConfig()
    """Gross exposure (pre-trade and post-trade)."""
    funds: FundsConfig = FundsConfig()
    """Margin against available funds."""
    drawdown: DrawdownConfig = DrawdownConfig()
    """Post-trade: drawdown of day P&L from its peak."""
    rejections_kept: int = Field(default=200, ge=1, le=100_000)
    """Recent rejections kept for the risk screen."""
    alert_interval_s: float = Field(default=60.0, ge=0)
    """At most one rejection alert per check and strategy in this many seconds."""


MONEY_LIMITS: tuple[tuple[str, str], ...] = (
    ("order_value", "max_value"),
    ("position_limit", "max_value"),
    ("gross_exposure", "max_value"),
    ("daily_loss", "soft_limit"),
    ("daily_loss", "hard_limit"),
    ("drawdown", "max_value"),
)
"""(section, field) of every limit expressed in rupees."""


def validate_for_live(settings: RiskSettings) -> list[str]:
    """Every money limit that live trading needs set explicitly but is not, as dotted keys.

    A limit left at its paper default, or whose check is disabled, is named.
    An empty list means live trading may start.
    """
    missing: list[str] = []
    for section, field in MONEY_LIMITS:
        config = getattr(settings, section)
        key = f"risk.{section}.{field}"
        if field not in config.model_fields_set:
            missing.append(f"{key} [ALPHAPT_RISK__{section.upper()}__{field.upper()}] is not set")
        elif not config.enabled:
            missing.append(f"{key}: the {section} check is disabled")
    return list(dict.fromkeys(missing))
