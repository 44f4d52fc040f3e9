"""The desk's screens and the number keys that switch between them."""

from __future__ import annotations

from textual.screen import Screen

from screens.alerts import AlertsScreen
from screens.audit import AuditScreen
from screens.health import HealthScreen
from screens.market_watch import MarketWatchScreen
from screens.orders import OrdersScreen
from screens.positions import PositionsScreen
from screens.risk import RiskScreen
from screens.strategies import StrategiesScreen
from screens.trades import TradesScreen

SCREENS: dict[str, tuple[str, str, type[Screen]]] = {
    "watch": ("1", "Market watch", MarketWatchScreen),
    "orders": ("2", "Orders", OrdersScreen),
    "positions": ("3", "Positions", PositionsScreen),
    "trades": ("4", "Trades", TradesScreen),
    "strategies": ("5", "Strategies", StrategiesScreen),
    "alerts": ("6", "Alerts", AlertsScreen),
    "audit": ("7", "Audit", AuditScreen),
    "health": ("8", "Health", HealthScreen),
    "risk": ("9", "Risk", RiskScreen),
}
"""Mode name → (key, title, screen class). Each screen is a Textual mode with its own stack."""
