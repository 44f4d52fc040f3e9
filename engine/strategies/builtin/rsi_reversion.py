"""RSI mean reversion: buy oversold, sell overbought, exit when RSI returns to the middle."""

from __future__ import annotations

from pydantic import Field, model_validator

from engine.strategies.bars import Bar
from engine.strategies.builtin.common import BarParams, BarStrategy
from engine.strategies.indicators import RSI


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
        self._rsi = {i.instrument_token: RSI(self.params.period) for i in self.instruments}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        rsi = self._rsi[token].update(bar.close)
        if rsi is None:
            return
        p = self.params
        if rsi < p.oversold:
            self.target_position(token, p.quantity)
        elif rsi > p.overbought:
            self.target_position(token, -p.quantity)
        else:
            held = self.expected_position(token)
            if (held > 0 and rsi >= p.exit_level) or (held < 0 and rsi <= p.exit_level):
                self.target_position(token, 0)
