"""Pieces the built-in strategies share."""

from __future__ import annotations

from typing import Literal

from engine.strategies.base import Strategy, StrategyParams

Timeframe = Literal["1m", "5m", "15m"]


class BarParams(StrategyParams):
    """Parameters of a strategy that trades on closed bars."""

    timeframe: Timeframe = "1m"
    """Bar timeframe it trades on."""


class BarStrategy(Strategy):
    """A strategy driven by closed bars of ``params.timeframe``; subclasses build state in ``setup``."""

    Params = BarParams

    def on_start(self) -> None:
        self.subscribe_bars(self.params.timeframe)
        self.setup()

    def setup(self) -> None:
        """Create per-instrument indicators (called on every start)."""
