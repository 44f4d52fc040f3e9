"""The shape of a pre-trade check: named, own settings, a verdict per order."""

from __future__ import annotations

from typing import ClassVar

from engine.risk.intent import OrderIntent
from engine.risk.records import LimitUsage
from engine.trading.context import TradingContext


class RiskCheck:
    """One named pre-trade check.

    ``check`` returns ``None`` to allow or the detail of a rejection (the
    manager prefixes ``rejected by <name>:``). It builds strings only when it
    rejects. ``accept`` is called once an order has passed every check, so
    stateful checks (throttle, duplicates) count only orders that go out.
    """

    __slots__ = ("enabled",)

    name: ClassVar[str]
    for_kill_switch: ClassVar[bool] = False
    """Also judges the kill switch's flatten orders (which skip every other check)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def check(self, intent: OrderIntent, now_ns: int) -> str | None:
        """``None`` if the order may go out, else why not (one line)."""
        raise NotImplementedError

    def accept(self, intent: OrderIntent, now_ns: int) -> None:
        """Record an order that passed every check."""

    def usage(self, ctx: TradingContext, now_ns: int) -> list[LimitUsage]:
        """This check's limits with their current use (for the risk screen)."""
        return []
