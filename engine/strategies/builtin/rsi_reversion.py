"""RSI mean reversion: buy oversold, sell overbought, exit when RSI returns to the middle."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from engine.strategies.batch import BarBatch
from engine.strategies.builtin.common import BarParams, BarStrategy, send_targets
from engine.strategies.vector import VecRSI


class RsiParams(BarParams):
    """RSI levels."""

    period: int = Field(default=14, ge=2, le=200)
    """RSI period in bars (Wilder)."""
    oversold: float = Field(default=30.0, gt=0, lt=100)
    """Go long below this RSI."""
    overbought: float = Field(default=70.0, gt=0, lt=100)
    """Go short (or flat) above this RSI."""
    exit_level: float = Field(default=50.0, gt=0, lt=100)
    """Close a long at or above, a short at or below, this RSI."""

    @model_validator(mode="after")
    def _ordered(self) -> RsiParams:
        if not self.oversold < self.exit_level < self.overbought:
            raise ValueError("levels must satisfy oversold < exit_level < overbought")
        return self


class RsiReversion(BarStrategy):
    """Mean reversion on the bar RSI."""

    Params = RsiParams
    key = "rsi_reversion"

    def setup(self) -> None:
        self._rsi = VecRSI(len(self.instruments), self.params.period)

    def on_bars(self, bars: BarBatch) -> None:
        rsi = self._rsi.update(bars.index, bars.close)
        ready = ~np.isnan(rsi)
        if not ready.any():
            return
        p = self.params
        tokens = bars.tokens[ready]
        rsi = rsi[ready]
        held = self.expected_positions(bars.index[ready])
        # Long below oversold, short above overbought, else flat once RSI is back at the exit level.
        long = rsi < p.oversold
        short = ~long & (rsi > p.overbought)
        exit_ = ((held > 0) & (rsi >= p.exit_level)) | ((held < 0) & (rsi <= p.exit_level))
        target = np.where(long, p.quantity, np.where(short, -p.quantity, 0))
        send_targets(self, tokens, long | short | exit_, target, held)
