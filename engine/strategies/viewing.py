"""Building a :class:`StrategyView` from a running strategy's slot."""

from __future__ import annotations

import msgspec

from engine.strategies.slot import StrategySlot
from engine.strategies.views import StrategyPositionView, StrategyView


def _text(value: object) -> str:
    return msgspec.json.encode(value).decode()


def build_view(slot: StrategySlot) -> StrategyView:
    """An immutable snapshot of one strategy: state, positions, P&L, counters, latency."""
    positions = []
    realized = unrealized = 0.0
    for token, pos in slot.book.positions.items():
        ltp = slot.market.ltp(token)
        upnl = pos.unrealized(ltp)
        realized += pos.realized
        unrealized += upnl
        positions.append(
            StrategyPositionView(
                token, pos.tradingsymbol, pos.net_qty, pos.avg_price, ltp, pos.realized, upnl
            )
        )
    try:
        stats = tuple((k, _text(v)) for k, v in slot.strategy.stats().items())
    except Exception as exc:
        stats = (("error", _text(f"{type(exc).__name__}: {exc}")),)
    return StrategyView(
        name=slot.name,
        class_name=slot.cls.key or slot.cls.__name__,
        state=slot.state.value,
        mode=slot.entry.mode,
        instruments=tuple(i.key for i in slot.instruments),
        params=tuple((k, _text(v)) for k, v in slot.params.model_dump(mode="json").items()),
        positions=tuple(positions),
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        signals=slot.signals,
        orders=slot.book.submitted,
        open_orders=len(slot.book.open_orders()),
        rejected=slot.book.rejected,
        latency_p99_s=slot.latency.p99(),
        over_budget=slot.over_budget,
        last_error=slot.last_error,
        stats=stats,
    )
