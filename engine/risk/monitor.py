"""Post-trade monitors on every P&L change: day loss, drawdown from the day's peak, gross exposure.

:meth:`PnlMonitor.update` is O(1): it compares a few numbers. It returns the
breaches that are new since the last call; a breach stays latched (and is not
reported again) until its condition clears.
"""

from __future__ import annotations

from engine.risk.intent import money
from engine.risk.records import TradingState
from engine.risk.session import ist_day
from engine.risk.settings import RiskSettings

Breach = tuple[str, TradingState, str]
"""(monitor name, the state it calls for, reason)."""


class PnlMonitor:
    """Tracks the day's P&L peak and which limits are breached."""

    def __init__(self, settings: RiskSettings) -> None:
        self._loss = settings.daily_loss
        self._drawdown = settings.drawdown
        self._gross = settings.gross_exposure
        self.peak = 0.0
        self.net = 0.0
        self.drawdown = 0.0
        self.gross = 0.0
        self._day = -1
        self._latched: set[str] = set()

    def rebase(self) -> None:
        """Take the current P&L as the peak (an explicit resume accepts the drawdown so far)."""
        self.peak = self.net
        self.drawdown = 0.0
        self._latched.clear()

    def update(self, net_pnl: float, gross: float | None, now_ns: int) -> list[Breach]:
        """Record the current day P&L (and gross exposure, if known); return new breaches."""
        day = ist_day(now_ns)
        if day != self._day:
            self._day = day
            self.peak = max(net_pnl, 0.0)
            self._latched.clear()
        self.net = net_pnl
        if net_pnl > self.peak:
            self.peak = net_pnl
        self.drawdown = self.peak - net_pnl
        if gross is not None:
            self.gross = gross
        found: list[Breach] = []
        loss = -net_pnl
        if self._loss.enabled:
            if loss >= self._loss.hard_limit:
                why = (
                    f"day loss {money(loss)} reached the hard limit {money(self._loss.hard_limit)}"
                )
                found.append(("daily_loss_hard", TradingState.HALTED, why))
            elif loss >= self._loss.soft_limit:
                why = (
                    f"day loss {money(loss)} reached the soft limit {money(self._loss.soft_limit)}"
                )
                found.append(("daily_loss_soft", TradingState.REDUCING, why))
        if self._drawdown.enabled and self.drawdown >= self._drawdown.max_value:
            why = (
                f"drawdown {money(self.drawdown)} from the day's peak {money(self.peak)}"
                f" (limit {money(self._drawdown.max_value)})"
            )
            found.append(("drawdown", TradingState.HALTED, why))
        if self._gross.enabled and gross is not None and gross > self._gross.max_value:
            why = f"gross exposure {money(gross)} above the limit {money(self._gross.max_value)}"
            found.append(("gross_exposure", TradingState.REDUCING, why))
        names = {name for name, _, _ in found}
        new = [breach for breach in found if breach[0] not in self._latched]
        self._latched = names
        return new
