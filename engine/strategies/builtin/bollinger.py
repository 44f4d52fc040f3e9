"""Bollinger breakout: follow a close outside the bands, exit when it returns past the middle."""

from __future__ import annotations

from pydantic import Field

from engine.strategies.bars import Bar
from engine.strategies.builtin.common import BarParams, BarStrategy
from engine.strategies.indicators import Bollinger


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
        self._bands = {i.instrument_token: Bollinger(p.period, p.k) for i in self.instruments}

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        bands = self._bands[token]
        # The bands of the previous ``period`` bars (set together, so one check covers all three).
        lower, middle, upper = bands.lower, bands.middle, bands.upper
        close = bar.close
        bands.update(close)
        if middle is None or lower is None or upper is None:
            return
        if close > upper:
            self.target_position(token, self.params.quantity)
        elif close < lower:
            self.target_position(token, -self.params.quantity)
        else:
            held = self.expected_position(token)
            if (held > 0 and close < middle) or (held < 0 and close > middle):
                self.target_position(token, 0)
