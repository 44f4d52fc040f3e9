"""Indicators of many instruments at once: one row of numpy state per instrument.

Each class mirrors one of :mod:`engine.strategies.indicators` and gives the same
values, bit for bit: the same floating-point operations in the same order, only
applied to the rows a batch of bars touches. ``update(rows, x)`` folds ``x[i]``
into row ``rows[i]`` and returns the new values of those rows, NaN where the row
is still warming up (the scalar class's ``None``). ``rows`` must not repeat a row
(a :class:`~engine.strategies.batch.BarBatch` index never does).
"""

from __future__ import annotations

import numpy as np

from engine.strategies.indicators import _check_period


class VecSMA:
    """Simple moving average over the last ``period`` values of each row (like :class:`SMA`)."""

    def __init__(self, size: int, period: int) -> None:
        self.period = _check_period(period)
        self._window = np.zeros((size, period))
        self._count = np.zeros(size, dtype=np.int64)
        self._sum = np.zeros(size)
        self.value = np.full(size, np.nan)
        """Latest value of every row (NaN while warming up)."""

    def update(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Fold ``x`` into ``rows``; their new averages."""
        period = self.period
        count = self._count[rows]
        slot = count % period
        # The scalar class adds the new value, then takes out the one leaving the window.
        total = self._sum[rows] + x
        warm = count.min() >= period  # the usual case, without the selects below
        if warm:
            total -= self._window[rows, slot]
        else:
            total = np.where(count >= period, total - self._window[rows, slot], total)
        self._window[rows, slot] = x
        self._sum[rows] = total
        count += 1
        self._count[rows] = count
        value = total / period if warm else np.where(count >= period, total / period, np.nan)
        self.value[rows] = value
        return value


class VecEMA:
    """Exponential moving average seeded with an SMA of the first ``period`` values (like :class:`EMA`)."""

    def __init__(self, size: int, period: int) -> None:
        self.period = _check_period(period)
        self._alpha = 2.0 / (period + 1)
        self._count = np.zeros(size, dtype=np.int64)
        self._seed = np.zeros(size)
        self.value = np.full(size, np.nan)
        """Latest value of every row (NaN while warming up)."""

    def update(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Fold ``x`` into ``rows``; their new averages."""
        period = self.period
        count = self._count[rows]
        warming = count < period
        value = self.value[rows]
        if warming.any():
            seed = np.where(warming, self._seed[rows] + x, 0.0)
            count = np.where(warming, count + 1, count)
            self._seed[rows] = seed
            self._count[rows] = count
            seeded = warming & (count == period)
            value = np.where(
                warming,
                np.where(seeded, seed / period, np.nan),
                value + self._alpha * (x - value),
            )
        else:
            value = value + self._alpha * (x - value)
        self.value[rows] = value
        return value


class VecRSI:
    """Wilder's RSI of each row, ready after ``period`` changes (like :class:`RSI`)."""

    def __init__(self, size: int, period: int = 14) -> None:
        self.period = _check_period(period)
        self._prev = np.full(size, np.nan)
        self._changes = np.zeros(size, dtype=np.int64)
        self._gain = np.zeros(size)
        self._loss = np.zeros(size)
        self.value = np.full(size, np.nan)
        """Latest value of every row (NaN while warming up)."""

    def update(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Fold ``x`` into ``rows``; their new RSI values."""
        prev = self._prev[rows]
        self._prev[rows] = x
        changes = self._changes[rows]
        n = self.period
        if changes.min() > n:
            # The usual case: every row past its seed (so it has a previous value).
            changes += 1
            self._changes[rows] = changes
            value = self._smooth(rows, x - prev, None)
            self.value[rows] = value
            return value
        out = np.full(len(rows), np.nan)
        had = ~np.isnan(prev)
        pick = np.flatnonzero(had)
        if not len(pick):
            return out  # a row's first value only sets its previous close
        rows, change, changes = rows[pick], x[pick] - prev[pick], changes[pick] + 1
        self._changes[rows] = changes
        value = self._smooth(rows, change, changes <= n)
        ready = changes >= n
        self.value[rows[ready]] = value[ready]
        out[pick] = np.where(ready, value, np.nan)
        return out

    def _smooth(
        self, rows: np.ndarray, change: np.ndarray, seeding: np.ndarray | None
    ) -> np.ndarray:
        """New averages of ``rows`` (``seeding`` marks rows still in their first ``period``); their RSI."""
        n = self.period
        # The scalar's ``change if change > 0 else 0.0``; a flat change (+0.0) may come out as
        # -0.0 in ``loss``, which adds and divides exactly as 0.0 does.
        gain = np.maximum(change, 0.0)
        loss = np.maximum(-change, 0.0)
        old_gain = self._gain[rows]
        old_loss = self._loss[rows]
        if seeding is None:
            avg_gain = (old_gain * (n - 1) + gain) / n
            avg_loss = (old_loss * (n - 1) + loss) / n
        else:
            avg_gain = np.where(seeding, old_gain + gain / n, (old_gain * (n - 1) + gain) / n)
            avg_loss = np.where(seeding, old_loss + loss / n, (old_loss * (n - 1) + loss) / n)
        self._gain[rows] = avg_gain
        self._loss[rows] = avg_loss
        flat = avg_loss == 0.0
        if flat.any():
            ratio = avg_gain / np.where(flat, 1.0, avg_loss)
            value = 100.0 - 100.0 / (1.0 + ratio)
            value = np.where(flat, np.where(avg_gain > 0, 100.0, 50.0), value)
        else:
            value = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
        return value


class VecBollinger:
    """Bollinger bands of each row: SMA ± ``k`` population deviations (like :class:`Bollinger`).

    ``lower``, ``middle`` and ``upper`` hold every row's latest bands (NaN while warming up).
    """

    def __init__(self, size: int, period: int = 20, k: float = 2.0) -> None:
        self.period = _check_period(period)
        self.k = k
        self._anchor = np.full(size, np.nan)
        self._window = np.zeros((size, period))
        self._count = np.zeros(size, dtype=np.int64)
        self._sum = np.zeros(size)
        self._sumsq = np.zeros(size)
        self.lower = np.full(size, np.nan)
        self.middle = np.full(size, np.nan)
        self.upper = np.full(size, np.nan)

    def update(self, rows: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fold ``x`` into ``rows``; their new ``(lower, middle, upper)``."""
        anchor = self._anchor[rows]
        fresh = np.isnan(anchor)
        if fresh.any():
            anchor = np.where(fresh, x, anchor)
            self._anchor[rows] = anchor
        # Deviations from each row's first value, as the scalar class keeps them.
        d = x - anchor
        n = self.period
        count = self._count[rows]
        slot = count % n
        old = self._window[rows, slot]
        total = self._sum[rows] + d
        squares = self._sumsq[rows] + d * d
        warm = count.min() >= n  # the usual case, without the selects
        if warm:
            total -= old
            squares -= old * old
        else:
            full = count >= n
            total = np.where(full, total - old, total)
            squares = np.where(full, squares - old * old, squares)
        self._window[rows, slot] = d
        self._sum[rows] = total
        self._sumsq[rows] = squares
        count += 1
        self._count[rows] = count
        mean = total / n
        sd = np.sqrt(np.maximum(squares / n - mean * mean, 0.0))
        middle = mean + anchor
        width = self.k * sd
        upper = middle + width
        lower = middle - width
        if not warm:
            ready = count >= n
            middle = np.where(ready, middle, np.nan)
            upper = np.where(ready, upper, np.nan)
            lower = np.where(ready, lower, np.nan)
        self.middle[rows] = middle
        self.upper[rows] = upper
        self.lower[rows] = lower
        return lower, middle, upper
