"""The replay report: figures from the paper account after a replay, as JSON and as text."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from engine.clock import ns_to_ist
from engine.orders.model import Fill, Order, OrderStatus
from engine.replay.report import (
    EquityPoint,
    RoundTrip,
    exposure,
    max_drawdown,
    round_trips,
    sharpe,
)
from engine.replay.report import __doc__ as CONVENTIONS


class TradeRow(msgspec.Struct, frozen=True):
    """One fill as the report lists it."""

    ts_ns: int
    tradingsymbol: str
    side: str
    quantity: int
    price: float
    strategy_id: str


class ReplaySummary(msgspec.Struct, frozen=True):
    """Everything the replay report says (``report.json``)."""

    strategy: str
    strategy_class: str
    params: dict[str, object]
    symbols: tuple[str, ...]
    from_ns: int
    to_ns: int
    speed: str
    ticks: int
    ticks_total: int
    wall_s: float
    finished: bool
    starting_capital: float
    orders: int
    rejected_orders: int
    fills: int
    gross_pnl: float
    charges: float
    net_pnl: float
    realized_pnl: float
    unrealized_pnl: float
    round_trips: int
    wins: int
    win_rate: float | None
    open_positions: int
    max_drawdown: float
    max_drawdown_pct: float
    sharpe: float | None
    time_in_market: float
    avg_gross_exposure: float
    avg_gross_in_market: float
    equity: tuple[EquityPoint, ...]
    trades: tuple[TradeRow, ...]
    trips: tuple[RoundTrip, ...]
    conventions: str = ""


def summarize(
    *,
    strategy: str,
    strategy_class: str,
    params: dict[str, object],
    symbols: Sequence[str],
    from_ns: int,
    to_ns: int,
    speed: str,
    ticks: int,
    ticks_total: int,
    wall_s: float,
    finished: bool,
    starting_capital: float,
    orders: Sequence[Order],
    fills: Sequence[Fill],
    realized: float,
    unrealized: float,
    charges: float,
    equity: Sequence[EquityPoint],
) -> ReplaySummary:
    """Compute the report's figures from the account and the equity curve."""
    trips, still_open = round_trips(fills)
    wins = sum(1 for t in trips if t.pnl > 0)
    values = [p.equity for p in equity]
    drawdown, drawdown_pct = max_drawdown(values)
    share, mean_gross, mean_held = exposure(equity)
    gross = realized + unrealized
    return ReplaySummary(
        strategy=strategy,
        strategy_class=strategy_class,
        params=dict(params),
        symbols=tuple(symbols),
        from_ns=from_ns,
        to_ns=to_ns,
        speed=speed,
        ticks=ticks,
        ticks_total=ticks_total,
        wall_s=wall_s,
        finished=finished,
        starting_capital=starting_capital,
        orders=len(orders),
        rejected_orders=sum(1 for o in orders if o.status is OrderStatus.REJECTED),
        fills=len(fills),
        gross_pnl=gross,
        charges=charges,
        net_pnl=gross - charges,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        round_trips=len(trips),
        wins=wins,
        win_rate=wins / len(trips) if trips else None,
        open_positions=still_open,
        max_drawdown=drawdown,
        max_drawdown_pct=drawdown_pct,
        sharpe=sharpe(values),
        time_in_market=share,
        avg_gross_exposure=mean_gross,
        avg_gross_in_market=mean_held,
        equity=tuple(equity),
        trades=tuple(
            TradeRow(f.ts_ns, f.tradingsymbol, f.side.value, f.quantity, f.price, f.strategy_id)
            for f in fills
        ),
        trips=tuple(trips),
        conventions=(CONVENTIONS or "").strip(),
    )


def _when(ns: int) -> str:
    return ns_to_ist(ns).strftime("%Y-%m-%d %H:%M:%S")


def summary_text(s: ReplaySummary) -> str:
    """The report as a few readable lines."""
    rate = f"{s.win_rate * 100:.1f}%" if s.win_rate is not None else "n/a (no closed trip)"
    ratio = f"{s.sharpe:.2f}" if s.sharpe is not None else "n/a"
    speed = s.ticks / s.wall_s if s.wall_s > 0 else 0.0
    params = ", ".join(f"{k}={v}" for k, v in s.params.items()) or "defaults"
    state = "" if s.finished else "  (stopped before the end)"
    lines = [
        f"replay {s.strategy_class} ({params}) on {', '.join(s.symbols)}",
        f"  window      {_when(s.from_ns)} → {_when(s.to_ns)} IST, speed {s.speed}",
        f"  ticks       {s.ticks:,} of {s.ticks_total:,} in {s.wall_s:.2f} s "
        f"({speed:,.0f} ticks/s){state}",
        f"  orders      {s.orders} ({s.rejected_orders} rejected), fills {s.fills}",
        f"  P&L         gross {s.gross_pnl:,.2f}  charges {s.charges:,.2f}  "
        f"net {s.net_pnl:,.2f}  (realized {s.realized_pnl:,.2f}, "
        f"unrealized {s.unrealized_pnl:,.2f})",
        f"  round trips {s.round_trips}, won {s.wins}: win rate {rate}; "
        f"{s.open_positions} position(s) open at the end",
        f"  drawdown    max {s.max_drawdown:,.2f} ({s.max_drawdown_pct * 100:.3f}% of peak)",
        f"  Sharpe      {ratio} (per-bar returns of net equity, 1-minute bars, annualised "
        f"×√(252×375), risk-free 0)",
        f"  exposure    in market {s.time_in_market * 100:.1f}% of bars; average gross "
        f"{s.avg_gross_exposure:,.0f} (in market {s.avg_gross_in_market:,.0f}) on capital "
        f"{s.starting_capital:,.0f}",
    ]
    return "\n".join(lines)
