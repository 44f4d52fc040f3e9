"""Pre-trade checks, built from settings in the order the manager runs them (cheapest first)."""

from __future__ import annotations

from collections.abc import Callable

from engine.risk.checks.base import RiskCheck
from engine.risk.checks.exposure import (
    DailyLossCheck,
    FundsCheck,
    GrossExposureCheck,
    PositionLimitCheck,
    instrument_exposures,
)
from engine.risk.checks.flow import DuplicateCheck, OpenOrdersCheck, SelfTradeCheck, ThrottleCheck
from engine.risk.checks.market import MarketDataCheck, PriceBandCheck
from engine.risk.checks.order import (
    FreezeQuantityCheck,
    InstrumentCheck,
    MarketProtectionCheck,
    ModificationsCheck,
    OrderValueCheck,
    PermissionsCheck,
    SessionCheck,
    TradingStateCheck,
)
from engine.risk.freeze import FreezeTable
from engine.risk.records import TradingState
from engine.risk.settings import RiskSettings


def build_checks(
    settings: RiskSettings,
    state: Callable[[], tuple[TradingState, str]],
    freeze_table: FreezeTable,
) -> list[RiskCheck]:
    """Every check, cheapest first: O(1) look-ups, then context calls, then scans of orders."""
    s = settings
    return [
        TradingStateCheck(state),
        InstrumentCheck(),
        PermissionsCheck(s.permissions),
        MarketProtectionCheck(s.market_protection.enabled),
        SessionCheck(s.session),
        FreezeQuantityCheck(s.freeze_quantity, freeze_table),
        ModificationsCheck(s.modifications),
        MarketDataCheck(s.market_data),
        OrderValueCheck(s.order_value),
        PriceBandCheck(s.price_band),
        DuplicateCheck(s.duplicate),
        ThrottleCheck(s.throttle),
        OpenOrdersCheck(s.open_orders),
        DailyLossCheck(s.daily_loss),
        PositionLimitCheck(s.position_limit),
        SelfTradeCheck(s.self_trade.enabled),
        GrossExposureCheck(s.gross_exposure),
        FundsCheck(s.funds),
    ]


__all__ = [
    "DailyLossCheck",
    "DuplicateCheck",
    "FreezeQuantityCheck",
    "FundsCheck",
    "GrossExposureCheck",
    "InstrumentCheck",
    "MarketDataCheck",
    "MarketProtectionCheck",
    "ModificationsCheck",
    "OpenOrdersCheck",
    "OrderValueCheck",
    "PermissionsCheck",
    "PositionLimitCheck",
    "PriceBandCheck",
    "RiskCheck",
    "SelfTradeCheck",
    "SessionCheck",
    "ThrottleCheck",
    "TradingStateCheck",
    "build_checks",
    "instrument_exposures",
]
