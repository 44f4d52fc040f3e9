"""Live execution on Zerodha Kite Connect: the broker adapter and its reconciliation."""

from engine.trading.live.broker import KiteBroker, build_kite_broker
from engine.trading.live.reconcile import reconcile_startup

__all__ = ["KiteBroker", "build_kite_broker", "reconcile_startup"]
