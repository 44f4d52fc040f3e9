"""Bollinger breakout: follow a close outside the bands, exit when it returns past the middle."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from engine.strategies.batch import BarBatch
from engine.strategies.builtin.common import BarParams, BarStrategy, send_targets
from engine.strategies.vector import VecBollinger


class BollingerParams(BarParams):
    """Band settings."""

    period: int = Field(default=20, ge=2, le=500)
    """Bars in the moving average and deviation."""
    k: float = Field(default=2.0, gt=0, le=10)
    """Band width in standard deviations."""


class BollingerBreakout(BarStrategy):
    """A close above the upper band (of the *previous* ``period`` bars) goes long; below the lower, short.

    A long is closed when a close falls below the middle band, a short when one rises above it.
    """

    Params = BollingerParams
    key = "bollinger_breakout"

    def setup(self) -> None:
        p = self.params
        self._bands = VecBollinger(len(self.instruments), p.period, p.k)

    def on_bars(self, bars: BarBatch) -> None:
        rows = bars.index
        bands = self._bands
        # The bands of the previous ``period`` bars (NaN for a row still warming up).
        lower, middle, upper = bands.lower[rows], bands.middle[rows], bands.upper[rows]
        close = bars.close
        bands.update(rows, close)
        ready = ~np.isnan(middle)
        if not ready.any():
            return
        if not ready.all():
            close, lower, middle, upper = close[ready], lower[ready], middle[ready], upper[ready]
        tokens = bars.tokens[ready]
        held = self.expected_positions(rows[ready])
        quantity = self.params.quantity
        long = close > upper
        short = ~long & (close < lower)
        exit_ = ((held > 0) & (close < middle)) | ((held < 0) & (close > middle))
        target = np.where(long, quantity, np.where(short, -quantity, 0))
        send_targets(self, tokens, long | short | exit_, target, held)
