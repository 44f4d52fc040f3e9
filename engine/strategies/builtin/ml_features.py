"""Features of the ML strategy, computed bar by bar the same way live and in training.

For each closed bar, once warm: the simple return over each horizon, the RSI
rescaled to [-1, 1], the bar volume's z-score against the previous
``volume_window`` bars (population deviation; 0 when flat), and the spread in
basis points of the close.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from engine.strategies.bars import Bar
from engine.strategies.indicators import RSI


class FeatureBuilder:
    """Turns one instrument's bars into feature vectors; ``None`` while warming up."""

    def __init__(
        self, horizons: Sequence[int] = (1, 3, 5), rsi_period: int = 14, volume_window: int = 20
    ) -> None:
        if not horizons or min(horizons) < 1:
            raise ValueError("horizons must be positive bar counts")
        if volume_window < 2:
            raise ValueError("volume_window must be at least 2")
        self.horizons = tuple(horizons)
        self._closes: deque[float] = deque(maxlen=max(self.horizons) + 1)
        self._rsi = RSI(rsi_period)
        self._volumes: deque[float] = deque(maxlen=volume_window)
        self._vsum = 0.0
        self._vsumsq = 0.0

    @property
    def width(self) -> int:
        """Number of features per vector."""
        return len(self.horizons) + 3

    def update(self, bar: Bar) -> tuple[float, ...] | None:
        """Fold ``bar`` in and return its features, if every input is warm."""
        closes = self._closes
        closes.append(bar.close)
        rsi = self._rsi.update(bar.close)
        volumes = self._volumes
        z = None
        if len(volumes) == volumes.maxlen:
            n = len(volumes)
            mean = self._vsum / n
            sd = math.sqrt(max(self._vsumsq / n - mean * mean, 0.0))
            z = (bar.volume - mean) / sd if sd > 0 else 0.0
            old = volumes[0]
            self._vsum -= old
            self._vsumsq -= old * old
        volumes.append(float(bar.volume))
        self._vsum += bar.volume
        self._vsumsq += float(bar.volume) * bar.volume
        if rsi is None or z is None or len(closes) < closes.maxlen:
            return None
        last = closes[-1]
        returns = tuple(last / closes[-1 - h] - 1.0 for h in self.horizons)
        spread_bps = bar.spread / last * 1e4 if last > 0 else 0.0
        return (*returns, (rsi - 50.0) / 50.0, z, spread_bps)


def dataset(
    bars: Sequence[Bar], horizons: Sequence[int], rsi_period: int, volume_window: int
) -> tuple[list[tuple[float, ...]], list[int]]:
    """Features of each bar and whether the next bar closed higher (1) or lower (0); ties dropped."""
    builder = FeatureBuilder(horizons, rsi_period, volume_window)
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    for i, bar in enumerate(bars):
        features = builder.update(bar)
        if features is None or i + 1 >= len(bars):
            continue
        following = bars[i + 1].close
        if following != bar.close:
            rows.append(features)
            labels.append(1 if following > bar.close else 0)
    return rows, labels
