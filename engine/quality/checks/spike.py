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

    Median and MAD are recomputed every ``refresh`` prices, not per tick, so a
    clean tick costs one comparison and one ring-buffer write. The window learns
    every usable price, flagged or quarantined too: the median shrugs off a lone
    outlier, and a genuine level shift is accepted once it fills half the window
    instead of being rejected for ever.
    """

    __slots__ = ("min_pct", "min_ticks", "refresh", "size", "warmup", "z_sigma")
    name = names.PRICE_SPIKE

    def __init__(self, config: SpikeConfig) -> None:
        super().__init__(config)
        self.size = config.window
        self.z_sigma = config.z * _MAD_TO_SIGMA
        self.min_pct = config.min_move_pct / 100.0
        self.min_ticks = config.min_move_ticks
        self.warmup = min(config.warmup, config.window)
        self.refresh = config.refresh

    def prepare(self, state: InstrumentState) -> None:
        state.window = [0.0] * self.size
        state.wpos = 0
        state.seen = 0
        state.median = 0.0
        state.band = float("inf")
        state.due = self.warmup

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        price = tick.ltp
        median = state.median
        band = state.band
        window = state.window
        pos = state.wpos
        window[pos] = price
        pos += 1
        state.wpos = 0 if pos == self.size else pos
        state.seen += 1
        state.due -= 1
        if state.due <= 0:
            self._refresh(state)
        if median - band <= price <= median + band:
            return None
        return (
            f"ltp {price} is {abs(price - median):.4f} from median {median:.4f} (band {band:.4f})"
        )

    def _refresh(self, state: InstrumentState) -> None:
        values = sorted(state.window[: min(state.seen, self.size)])
        median = _median_sorted(values)
        mad = _median_sorted(sorted(abs(v - median) for v in values))
        state.median = median
        state.band = max(
            self.z_sigma * mad, self.min_ticks * state.tick_size, self.min_pct * median
        )
        state.due = self.refresh


def _median_sorted(values: list[float]) -> float:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2.0
