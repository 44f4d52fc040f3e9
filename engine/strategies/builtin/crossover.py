"""Moving-average crossover: long when the fast average crosses above the slow, short below."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine.strategies.batch import BarBatch
from engine.strategies.builtin.common import BarParams, BarStrategy
from engine.strategies.vector import VecEMA, VecSMA

_UNKNOWN, _BELOW, _ABOVE = -1, 0, 1


class CrossoverParams(BarParams):
    """Averages of the crossover."""

    fast: int = Field(default=10, ge=1, le=500)
    """Bars in the fast average."""
    slow: int = Field(default=30, ge=2, le=1000)
    """Bars in the slow average (must exceed ``fast``)."""
    average: Literal["sma", "ema"] = "sma"
    """Kind of moving average."""

    @model_validator(mode="after")
    def _fast_below_slow(self) -> CrossoverParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be less than slow ({self.slow})")
        return self


class SmaCrossover(BarStrategy):
    """Goes long ``quantity`` on a golden cross and short (or flat) on a death cross.

    Signals only on a cross, never on the first bar both averages exist.
    """

    Params = CrossoverParams
    key = "sma_crossover"

    def setup(self) -> None:
        kind = VecSMA if self.params.average == "sma" else VecEMA
        size = len(self.instruments)
        self._fast = kind(size, self.params.fast)
        self._slow = kind(size, self.params.slow)
        # Per instrument: which average was above at the last bar where they differed.
        self._side = np.full(size, _UNKNOWN, dtype=np.int8)

    def on_bars(self, bars: BarBatch) -> None:
        rows = bars.index
        close = bars.close
        fast = self._fast.update(rows, close)
        slow = self._slow.update(rows, close)
        # NaN (warming up) compares False both ways: no state, no signal, as for equal averages.
        differ = (fast > slow) | (fast < slow)
        if not differ.any():
            return
        rows = rows[differ]
        now = np.where(fast[differ] > slow[differ], _ABOVE, _BELOW).astype(np.int8)
        was = self._side[rows]
        self._side[rows] = now
        crossed = np.flatnonzero((was != _UNKNOWN) & (was != now))
        if not len(crossed):
            return
        quantity = self.params.quantity
        tokens = bars.tokens[differ]
        for i in crossed.tolist():
            self.target_position(int(tokens[i]), quantity if now[i] == _ABOVE else -quantity)


class EmaParams(CrossoverParams):
    """Crossover of exponential averages."""

    average: Literal["sma", "ema"] = "ema"
    """Kind of moving average."""


class EmaCrossover(SmaCrossover):
    """The crossover with exponential averages by default."""

    Params = EmaParams
    key = "ema_crossover"
