"""Risk: trading state, pre-trade checks, post-trade monitors and the kill switch."""

from engine.risk.freeze import FreezeTable
from engine.risk.killswitch import KILL_SWITCH_STRATEGY
from engine.risk.manager import AlertFn, RiskError, RiskManager
from engine.risk.records import (
    STATE_TOPIC,
    KillReport,
    LimitUsage,
    RiskRejection,
    RiskSnapshot,
    RiskStateChanged,
    TradingState,
)
from engine.risk.settings import MONEY_LIMITS, RiskSettings, validate_for_live

__all__ = [
    "KILL_SWITCH_STRATEGY",
    "MONEY_LIMITS",
    "STATE_TOPIC",
    "AlertFn",
    "FreezeTable",
    "KillReport",
    "LimitUsage",
    "RiskError",
    "RiskManager",
    "RiskRejection",
    "RiskSettings",
    "RiskSnapshot",
    "RiskStateChanged",
    "TradingState",
    "validate_for_live",
]
