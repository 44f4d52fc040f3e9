"""Spike check: a robust z-score against a short per-instrument window of prices."""

from __future__ import annotations

from engine.model import Tick
from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.settings import SpikeConfig
from engine.quality.state import InstrumentState

_MAD_TO_SIGMA = 1.4826
"""MAD times this estimates the standard deviation of normal data."""


class PriceSpike(Check):
    """LTP further from the window median than ``z`` robust standard deviations.

    The window holds recent price *changes*: a tick repeating the reference tick's
    price (a depth-only update) is not learnt, or a quiet tape would fill the window
    with one value and collapse MAD to zero. Median and MAD are recomputed every
    ``refresh`` new prices, not per tick, so a clean tick costs two comparisons and
    at most one list append. The window learns every usable price, flagged or
    quarantined too: the median shrugs off a lone outlier, and a genuine level
    shift is accepted once it fills half the window instead of being rejected
    for ever.
    """

    __slots__ = ("min_pct", "min_ticks", "option_min_pct", "refresh", "size", "warmup", "z_sigma")
    name = names.PRICE_SPIKE
    learns = True

    def __init__(self, config: SpikeConfig) -> None:
        super().__init__(config)
        self.size = config.window
        self.z_sigma = config.z * _MAD_TO_SIGMA
        self.min_pct = config.min_move_pct / 100.0
        self.option_min_pct = config.option_min_move_pct / 100.0
        self.min_ticks = config.min_move_ticks
        self.warmup = min(config.warmup, config.window)
        self.refresh = config.refresh

    def prepare(self, state: InstrumentState) -> None:
        state.window = []
        option = state.instrument.instrument_type in ("CE", "PE")
        state.spike_min_pct = self.option_min_pct if option else self.min_pct
        state.spike_lo = float("-inf")
        state.spike_hi = float("inf")
        state.due = self.warmup

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        price = tick.ltp
        lo = state.spike_lo
        hi = state.spike_hi
        prev = state.prev
        # Compared with the reference tick (already in cache) rather than the window's tail.
        if prev is None or prev.ltp != price:
            state.window.append(price)
            due = state.due - 1
            if due:
                state.due = due
            else:
                self._refresh(state)
        if lo <= price <= hi:
            return None
        median = (lo + hi) / 2.0
        return f"ltp {price} is {abs(price - median):.4f} from median {median:.4f} (band {(hi - lo) / 2.0:.4f})"

    def _refresh(self, state: InstrumentState) -> None:
        window = state.window
        # The list grows by ``refresh`` between refreshes; trimming here keeps the per-tick cost an append.
        del window[: -self.size]
        state.spike_lo, state.spike_hi = self.band(window, state.tick_size, state.spike_min_pct)
        state.due = self.refresh

    def band(
        self, window: list[float], tick_size: float, min_pct: float | None = None
    ) -> tuple[float, float]:
        """``(low, high)`` of the band around the median of ``window`` (at most ``size`` prices);
        ``min_pct`` is the instrument's floor as a fraction (default: the equity one)."""
        min_pct = self.min_pct if min_pct is None else min_pct
        values = sorted(window)
        median = _median_sorted(values)
        mad = _median_sorted(sorted([abs(v - median) for v in values]))
        band = max(self.z_sigma * mad, self.min_ticks * tick_size, min_pct * median)
        return median - band, median + band


def _median_sorted(values: list[float]) -> float:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2.0
