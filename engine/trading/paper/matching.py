"""Pure fill rules of the paper broker: depth walks, trade-through, triggers, protection.

Fill model (see ``docs/trading.md``):

- MARKET (and a triggered SL-M) walks the opposite side of the latest tick's
  5-level depth, level by level, never beyond its protection price; what the
  depth cannot fill rests and walks later ticks' depth.
- LIMIT (and a triggered SL) walks the depth only up to its price; after it has
  rested it also fills in full at its price when a later tick trades *through*
  it (BUY: LTP below the price; SELL: above). A trade *at* the price fills
  nothing, because the queue ahead of us is unknown.
- A stop triggers on LTP: BUY at LTP >= trigger, SELL at LTP <= trigger.
- Depth used by one order is not offered again to another order on the same tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.model import Tick
from engine.orders.model import OrderType, Side


@dataclass(slots=True)
class Working:
    """An order the paper broker is working: what it needs to match it on a tick."""

    client_order_id: str
    broker_order_id: str
    instrument_token: int
    side: Side
    order_type: OrderType
    price: float
    trigger_price: float
    market_protection: float
    remaining: int
    ioc: bool
    triggered: bool
    tick_size: float
    lot_size: int
    protect_px: float = 0.0
    """Worst price a market-type order may fill at; 0 until set from an LTP."""
    rested: bool = False
    """Whether it has rested through a tick, so trade-through counts."""
    active_from_ns: int = 0
    """AMO: the order waits until this engine time (the next open)."""
    trade_seq: int = 0
    """Fills made so far (trade ids continue after a restart)."""

    @property
    def is_market(self) -> bool:
        """Executes like a market order now (MARKET, or a triggered SL-M)."""
        return self.order_type is OrderType.MARKET or (
            self.order_type is OrderType.SLM and self.triggered
        )

    @property
    def waits_for_trigger(self) -> bool:
        """A stop order whose trigger has not been reached."""
        return self.order_type in (OrderType.SL, OrderType.SLM) and not self.triggered


def stop_reached(side: Side, trigger: float, ltp: float) -> bool:
    """Whether a stop's trigger is reached at ``ltp``."""
    return ltp >= trigger if side is Side.BUY else ltp <= trigger


def to_grid(price: float, tick_size: float, up: bool) -> float:
    """``price`` moved onto the tick grid, up or down (exact grid prices stay)."""
    if tick_size <= 0:
        return price
    steps = price / tick_size
    nearest = round(steps)
    if abs(steps - nearest) < 1e-6:
        steps = nearest
    else:
        steps = math.ceil(steps) if up else math.floor(steps)
    return round(steps * tick_size, 10)


def protection_price(side: Side, ltp: float, pct: float, tick_size: float) -> float:
    """The worst price a market order arriving at ``ltp`` may fill at."""
    if side is Side.BUY:
        return to_grid(ltp * (1 + pct / 100.0), tick_size, up=False)
    return max(tick_size, to_grid(ltp * (1 - pct / 100.0), tick_size, up=True))


def slipped(side: Side, price: float, bps: float, tick_size: float, cap: float) -> float:
    """``price`` made worse by ``bps`` (on the grid), never past ``cap``."""
    if bps <= 0:
        return price
    if side is Side.BUY:
        return min(to_grid(price * (1 + bps / 10_000.0), tick_size, up=True), max(cap, price))
    return max(to_grid(price * (1 - bps / 10_000.0), tick_size, up=False), min(cap, price))


class DepthUse:
    """Quantity already taken from each level of one tick's depth."""

    __slots__ = ("asks", "bids", "tick")

    def __init__(self, tick: Tick) -> None:
        self.tick = tick
        self.asks = [0] * len(tick.ask_qty)
        self.bids = [0] * len(tick.bid_qty)


def walk_depth(
    w: Working, use: DepthUse, cap: float, slippage_bps: float
) -> list[tuple[int, float]]:
    """Take up to ``w.remaining`` from the opposite side at prices no worse than ``cap``.

    Returns (quantity, price) per level taken, in whole lots; records what was used.
    """
    tick = use.tick
    if w.side is Side.BUY:
        prices, qtys, used = tick.ask_px, tick.ask_qty, use.asks
    else:
        prices, qtys, used = tick.bid_px, tick.bid_qty, use.bids
    lot = max(w.lot_size, 1)
    remaining = w.remaining
    taken: list[tuple[int, float]] = []
    for i, px in enumerate(prices):
        if remaining <= 0 or px <= 0:
            break
        if (px > cap) if w.side is Side.BUY else (px < cap):
            break
        free = qtys[i] - used[i]
        qty = min(free, remaining)
        qty -= qty % lot
        if qty <= 0:
            continue
        used[i] += qty
        remaining -= qty
        price = slipped(w.side, px, slippage_bps, w.tick_size, cap) if w.is_market else px
        taken.append((qty, price))
    return taken


def traded_through(w: Working, ltp: float) -> bool:
    """Whether the market traded through a resting limit price."""
    return ltp < w.price if w.side is Side.BUY else ltp > w.price
