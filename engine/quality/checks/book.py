"""Checks on the five-level order book a full-mode tick carries."""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import Tick
from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.settings import SpreadConfig
from engine.quality.state import InstrumentState


class CrossedBook(Check):
    """Best bid at or above best ask, when both sides are present."""

    __slots__ = ()
    name = names.CROSSED_BOOK

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        bids = tick.bid_px
        asks = tick.ask_px
        if not bids or not asks:
            return None
        bid = bids[0]
        ask = asks[0]
        if bid < ask or bid <= 0.0 or ask <= 0.0:
            return None
        return f"best bid {bid} >= best ask {ask}"


class WideSpread(Check):
    """Spread wider than both ``max_ticks`` ticks and ``max_pct`` percent of the mid.

    Both bounds must be exceeded: a tick bound alone is too tight for a
    high-priced stock, a percentage alone too tight for a penny stock.
    """

    __slots__ = ("half_pct", "max_ticks")
    name = names.WIDE_SPREAD

    def __init__(self, config: SpreadConfig) -> None:
        super().__init__(config)
        self.max_ticks = config.max_ticks
        self.half_pct = config.max_pct / 200.0

    def prepare(self, state: InstrumentState) -> None:
        state.spread_floor = self.max_ticks * state.tick_size + 1e-9

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        bids = tick.bid_px
        asks = tick.ask_px
        if not bids or not asks:
            return None
        bid = bids[0]
        ask = asks[0]
        spread = ask - bid
        if spread <= state.spread_floor or bid <= 0.0 or spread <= self.half_pct * (ask + bid):
            return None
        return f"spread {spread:.4f} ({bid} / {ask})"


class DepthUnsorted(Check):
    """Depth not strictly best-first on a side, or an empty level before a filled one."""

    __slots__ = ()
    name = names.DEPTH_UNSORTED

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        bids = tick.bid_px
        asks = tick.ask_px
        # Fast path for the usual full five-level book; anything else takes the loop.
        if len(bids) == 5 and len(asks) == 5:
            b0, b1, b2, b3, b4 = bids
            a0, a1, a2, a3, a4 = asks
            if b0 > b1 > b2 > b3 > b4 > 0.0 and 0.0 < a0 < a1 < a2 < a3 < a4:
                return None
        bad = []
        if not levels_ordered(bids, descending=True):
            bad.append(f"bids {bids}")
        if not levels_ordered(asks, descending=False):
            bad.append(f"asks {asks}")
        return "; ".join(bad) if bad else None


def levels_ordered(prices: Sequence[float], descending: bool) -> bool:
    """Filled levels strictly best-first, empty (0) levels only after them."""
    last = 0.0
    empty_seen = False
    for i, price in enumerate(prices):
        if price <= 0.0:
            empty_seen = True
            continue
        if empty_seen:
            return False
        if i and (price >= last if descending else price <= last):
            return False
        last = price
    return True
