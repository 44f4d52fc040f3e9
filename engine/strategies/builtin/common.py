"""Pieces the built-in strategies share."""

from __future__ import annotations

from typing import Literal

import numpy as np

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


def send_targets(
    strategy: Strategy, tokens: np.ndarray, act: np.ndarray, target: np.ndarray, held: np.ndarray
) -> None:
    """What ``target_position(tokens[i], target[i])`` does for each bar where ``act``, in bar order.

    ``held`` is the expected position of each token (``expected_positions``, read in the
    same call: a batch holds each instrument once, so no earlier order of the loop
    changes it). A bar whose target it already holds sends nothing, and a short target
    of a strategy that may not short counts as flat, so only orders cost a Python call.
    """
    if not strategy.params.allow_short:
        target = np.maximum(target, 0)
    diff = target - held
    for i in np.flatnonzero(act & (diff != 0)).tolist():
        change = int(diff[i])
        if change > 0:
            strategy.buy(int(tokens[i]), change)
        else:
            strategy.sell(int(tokens[i]), -change)
