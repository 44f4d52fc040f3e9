"""Moving-average crossover: long when the fast average crosses above the slow, short below."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from engine.strategies.batch import BarBatch
from engine.strategies.builtin.common import BarParams, BarStrategy
from engine.strategies.vector import VecEMA, VecSMA


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
        # Per instrument: +1 fast above, -1 below, at the last bar where they differed; 0 before.
        self._side = np.zeros(size, dtype=np.int64)

    def on_bars(self, bars: BarBatch) -> None:
        rows = bars.index
        close = bars.close
        fast = self._fast.update(rows, close)
        slow = self._slow.update(rows, close)
        # 0 where the averages are equal or still warming up (NaN compares False both ways):
        # such a bar changes no state and signals nothing.
        now = (fast > slow).view(np.int8) - (fast < slow).view(np.int8)
        was = self._side[rows]
        self._side[rows] = np.where(now != 0, now, was)
        crossed = np.flatnonzero(was * now < 0)  # known before, the other side now
        if not len(crossed):
            return
        quantity = self.params.quantity
        tokens = bars.tokens
        for i in crossed.tolist():
            self.target_position(int(tokens[i]), quantity if now[i] > 0 else -quantity)


class EmaParams(CrossoverParams):
    """Crossover of exponential averages."""

    average: Literal["sma", "ema"] = "ema"
    """Kind of moving average."""


class EmaCrossover(SmaCrossover):
    """The crossover with exponential averages by default."""

    Params = EmaParams
    key = "ema_crossover"
