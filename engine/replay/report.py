"""The maths of a replay report: round trips, drawdown, Sharpe, exposure.

Conventions (also written into every report):

* equity = starting capital + realized + unrealized P&L − charges, sampled at the end
  of every bar (``bar_minutes``, 1 by default) of simulated time that had ticks;
* Sharpe = mean / sample standard deviation (ddof 1) of the per-bar simple returns of
  that equity curve, × √(bars per year), with 252 trading days of 375 minutes and a
  zero risk-free rate; None with fewer than two returns or no variation;
* a round trip runs from flat to flat (a reversal closes one and opens the next) per
  instrument and strategy, at average price; it wins when its gross P&L is above zero;
* max drawdown is the largest fall from a running equity peak, in rupees and as a
  fraction of that peak;
* time in market is the share of bars ending with a position; average gross is the
  mean of Σ|quantity × LTP| over all bars (and over the bars in market).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import pairwise

import msgspec

from engine.orders.model import Fill

TRADING_DAYS = 252
SESSION_MINUTES = 375


class EquityPoint(msgspec.Struct, frozen=True):
    """Equity and gross exposure at the end of one bar."""

    ts_ns: int
    equity: float
    gross_exposure: float


class RoundTrip(msgspec.Struct, frozen=True):
    """A position opened from flat and closed back to flat (or reversed)."""

    instrument_token: int
    tradingsymbol: str
    strategy_id: str
    opened_ns: int
    closed_ns: int
    quantity: int
    """Largest absolute quantity held during the trip."""
    pnl: float
    """Gross P&L (before charges)."""


def round_trips(fills: Iterable[Fill]) -> tuple[list[RoundTrip], int]:
    """Closed round trips in the order they closed, and how many are still open."""
    state: dict[tuple[int, str], list] = {}
    trips: list[RoundTrip] = []
    for fill in fills:
        key = (fill.instrument_token, fill.strategy_id)
        q = fill.quantity if fill.side.value == "BUY" else -fill.quantity
        s = state.get(key)
        if s is None or s[0] == 0:
            state[key] = [q, fill.price, 0.0, fill.ts_ns, abs(q)]
            continue
        qty, avg, pnl, opened, peak = s
        if (qty > 0) == (q > 0):
            s[1] = (avg * abs(qty) + fill.price * abs(q)) / (abs(qty) + abs(q))
            s[0] = qty + q
            s[4] = max(peak, abs(qty + q))
            continue
        closed = min(abs(q), abs(qty))
        pnl += closed * (fill.price - avg) * (1 if qty > 0 else -1)
        rest = qty + q
        if rest != 0 and (rest > 0) == (qty > 0):
            s[0], s[2] = rest, pnl
            continue
        trips.append(RoundTrip(key[0], fill.tradingsymbol, key[1], opened, fill.ts_ns, peak, pnl))
        state[key] = [rest, fill.price, 0.0, fill.ts_ns, abs(rest)]
    return trips, sum(1 for s in state.values() if s[0] != 0)


def max_drawdown(equity: Sequence[float]) -> tuple[float, float]:
    """Largest peak-to-trough fall: (rupees, fraction of the peak it fell from)."""
    peak = -math.inf
    worst = worst_pct = 0.0
    for value in equity:
        peak = max(peak, value)
        fall = peak - value
        if fall > worst:
            worst = fall
            worst_pct = fall / peak if peak > 0 else 0.0
    return worst, worst_pct


def bar_returns(equity: Sequence[float]) -> list[float]:
    """Simple returns between consecutive equity points."""
    return [b / a - 1.0 for a, b in pairwise(equity) if a]


def sharpe(equity: Sequence[float], bar_minutes: float = 1.0) -> float | None:
    """Annualised Sharpe of the per-bar returns (see the module docstring)."""
    returns = bar_returns(equity)
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    per_year = TRADING_DAYS * SESSION_MINUTES / bar_minutes
    return mean / math.sqrt(var) * math.sqrt(per_year)


def exposure(points: Sequence[EquityPoint]) -> tuple[float, float, float]:
    """(share of bars in market, mean gross over all bars, mean gross over bars in market)."""
    if not points:
        return 0.0, 0.0, 0.0
    held = [p.gross_exposure for p in points if p.gross_exposure > 0]
    share = len(held) / len(points)
    mean_all = sum(p.gross_exposure for p in points) / len(points)
    return share, mean_all, (sum(held) / len(held) if held else 0.0)
