"""Risk records: the trading state, its changes, rejections and limit usage (immutable)."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class TradingState(StrEnum):
    """What may trade: everything, only exposure-reducing orders, or nothing but cancels."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


STATE_TOPIC = "risk.state"
"""Bus topic of :class:`RiskStateChanged`."""


class RiskStateChanged(msgspec.Struct, frozen=True):
    """The trading state changed; published on ``risk.state``."""

    ts_ns: int
    state: TradingState
    previous: TradingState
    reason: str
    user: str = "risk"


class RiskRejection(msgspec.Struct, frozen=True):
    """One order the risk manager refused, for the risk screen."""

    ts_ns: int
    check: str
    order: str
    reason: str
    strategy_id: str = ""


class LimitUsage(msgspec.Struct, frozen=True):
    """One limit and how much of it is in use, for a bar on the risk screen."""

    check: str
    label: str
    used: float
    limit: float
    unit: str = ""

    @property
    def fraction(self) -> float:
        """``used / limit`` (0 when the limit is 0)."""
        return self.used / self.limit if self.limit else 0.0


class RiskSnapshot(msgspec.Struct, frozen=True):
    """Everything the risk screen shows: state, recent rejections and limit usage."""

    state: TradingState
    reason: str
    since_ns: int
    rejections: tuple[RiskRejection, ...]
    usage: tuple[LimitUsage, ...]
    rejected_total: int = 0


class KillReport(msgspec.Struct, frozen=True):
    """What the kill switch did."""

    ts_ns: int
    reason: str
    cancelled: bool
    flattened: bool
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every step ran without an error."""
        return not self.errors
