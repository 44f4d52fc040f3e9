"""Vector indicators give the scalar indicators' values bit for bit; bar batches as columns."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from engine.strategies.bars import Bar
from engine.strategies.batch import BarBatch, buckets
from engine.strategies.indicators import EMA, RSI, SMA, Bollinger
from engine.strategies.vector import VecBollinger, VecEMA, VecRSI, VecSMA

SIZE = 7


def walks(steps: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per step, some rows (random subset, random order) and a value for each.

    Prices repeat now and then (flat changes, equal averages) to reach the ties.
    """
    rng = random.Random(seed)
    price = [rng.uniform(50, 150) for _ in range(SIZE)]
    out = []
    for _ in range(steps):
        rows = rng.sample(range(SIZE), rng.randint(1, SIZE))
        values = []
        for row in rows:
            if rng.random() > 0.2:
                price[row] = round(price[row] * (1 + rng.gauss(0, 0.01)), 2)
            values.append(price[row])
        out.append((np.array(rows, dtype=np.int64), np.array(values)))
    return out


def same(vector: float, scalar: float | None) -> bool:
    """NaN stands for the scalar's ``None``; anything else must be the identical float."""
    return scalar is None if math.isnan(vector) else vector == scalar


@pytest.mark.parametrize("period", [1, 2, 5, 14])
@pytest.mark.parametrize(("vector", "scalar"), [(VecSMA, SMA), (VecEMA, EMA), (VecRSI, RSI)])
def test_vector_indicator_matches_the_scalar_one_row_by_row(
    vector: type, scalar: type, period: int
) -> None:
    vec = vector(SIZE, period)
    scalars = [scalar(period) for _ in range(SIZE)]
    checked = 0
    for rows, values in walks(300, seed=period):
        got = vec.update(rows, values)
        for row, value, result in zip(rows.tolist(), values.tolist(), got.tolist(), strict=True):
            expected = scalars[row].update(value)
            assert same(result, expected), (vector.__name__, row, result, expected)
            checked += expected is not None
        for row in range(SIZE):
            assert same(float(vec.value[row]), scalars[row].value)
    assert checked > 500


@pytest.mark.parametrize(("period", "k"), [(1, 2.0), (3, 1.0), (20, 2.0)])
def test_vector_bollinger_matches_the_scalar_bands(period: int, k: float) -> None:
    vec = VecBollinger(SIZE, period, k)
    scalars = [Bollinger(period, k) for _ in range(SIZE)]
    for rows, values in walks(300, seed=period):
        lower, middle, upper = vec.update(rows, values)
        for i, row in enumerate(rows.tolist()):
            expected = scalars[row].update(float(values[i]))
            got = (float(lower[i]), float(middle[i]), float(upper[i]))
            if expected is None:
                assert all(math.isnan(v) for v in got)
            else:
                assert got == expected
        for row in range(SIZE):
            band = scalars[row]
            assert same(float(vec.middle[row]), band.middle)
            assert same(float(vec.lower[row]), band.lower)
            assert same(float(vec.upper[row]), band.upper)


def bar(token: int, start: int, close: float, timeframe: str = "1m", volume: int = 10) -> Bar:
    period = {"1m": 60, "5m": 300}[timeframe]
    return Bar(token, timeframe, start, start + period, close - 1, close + 1, close - 2, close,
               volume, 3, 0.05)  # fmt: skip


def test_a_batch_gives_columns_and_each_bars_row_in_the_strategys_instruments() -> None:
    bars = [bar(103, 0, 10.0), bar(101, 0, 11.0), bar(999, 0, 12.0), bar(102, 0, 13.0)]
    batch = BarBatch.of(bars, [101, 102, 103])
    assert batch is not None
    assert (batch.timeframe, batch.start_ns, batch.end_ns) == ("1m", 0, 60)
    # 999 is not one of its instruments: left out, the rest keep their closing order.
    assert batch.tokens.tolist() == [103, 101, 102]
    assert batch.index.tolist() == [2, 0, 1]
    assert batch.close.tolist() == [10.0, 11.0, 13.0]
    assert batch.high.tolist() == [11.0, 12.0, 14.0]
    assert batch.low.tolist() == [8.0, 9.0, 11.0]
    assert batch.open.tolist() == [9.0, 10.0, 12.0]
    assert batch.volume.dtype == np.int64 and batch.volume.tolist() == [10, 10, 10]
    assert batch.ticks.tolist() == [3, 3, 3]
    assert batch.spread.tolist() == [0.05, 0.05, 0.05]
    assert list(batch) == [bars[0], bars[1], bars[3]] and len(batch) == 3
    assert BarBatch.of(bars, [555]) is None
    whole = BarBatch.of(bars[:2], [103, 101])
    assert whole is not None and whole.index.tolist() == [0, 1]
    with pytest.raises(ValueError, match="read-only"):
        whole.close[0] = 1.0  # the columns are shared by every strategy of the bucket


def test_buckets_group_by_timeframe_and_bucket_oldest_end_first() -> None:
    # One batch closed: 101's 09:16 bar, 102's 09:15 and 09:16 bars (it skipped a tick), a 5m bar.
    closed = [
        bar(101, 60, 1.0),
        bar(102, 0, 2.0),
        bar(999, 0, 3.0, "5m"),
        bar(102, 60, 4.0),
    ]
    groups = buckets(closed, ["1m", "5m"])
    assert [(g.timeframe, g.start_ns, [b.instrument_token for b in g.bars]) for g in groups] == [
        ("1m", 0, [102]),
        ("1m", 60, [101, 102]),
        ("5m", 0, [999]),
    ]
    assert [g.timeframe for g in buckets(closed, ["5m"])] == ["5m"]
