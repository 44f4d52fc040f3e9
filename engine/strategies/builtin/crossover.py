"""Moving-average crossover: long when the fast average crosses above the slow, short below."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from engine.strategies.bars import Bar
from engine.strategies.builtin.common import BarParams, BarStrategy
from engine.strategies.indicators import EMA, SMA


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
        kind = SMA if self.params.average == "sma" else EMA
        self._fast = {i.instrument_token: kind(self.params.fast) for i in self.instruments}
        self._slow = {i.instrument_token: kind(self.params.slow) for i in self.instruments}
        self._above: dict[int, bool] = {}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        close = bar.close
        fast = self._fast[token].update(close)
        slow = self._slow[token].update(close)
        if fast is None or slow is None or fast == slow:
            return
        above = fast > slow
        states = self._above
        was = states.get(token)
        states[token] = above
        if was is None or was == above:
            return
        quantity = self.params.quantity
        self.target_position(token, quantity if above else -quantity)


class EmaParams(CrossoverParams):
    """Crossover of exponential averages."""

    average: Literal["sma", "ema"] = "ema"
    """Kind of moving average."""


class EmaCrossover(SmaCrossover):
    """The crossover with exponential averages by default."""

    Params = EmaParams
    key = "ema_crossover"
