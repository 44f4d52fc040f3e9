"""Incremental indicators against reference loops written here and published values."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from engine.clock import NS_PER_SECOND
from engine.strategies.indicators import ATR, EMA, RSI, SMA, VWAP, Bollinger

RNG = random.Random(11)
PRICES = [100.0]
for _ in range(299):
    PRICES.append(max(1.0, PRICES[-1] + RNG.uniform(-2, 2)))

# Wilder RSI(14) worked example as published by StockCharts (ChartSchool, "RSI").
CHARTSCHOOL = [44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433,
               46.0826, 45.8931, 46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116,
               46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515, 45.7835, 45.3528, 44.0288,
               44.1783, 44.2181, 44.5672, 43.4205, 42.6628, 43.1314]  # fmt: skip
CHARTSCHOOL_RSI = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71,
                   50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.09, 37.79]  # fmt: skip


def test_sma_matches_window_means() -> None:
    sma = SMA(10)
    for i, price in enumerate(PRICES):
        value = sma.update(price)
        if i < 9:
            assert value is None
        else:
            assert value == pytest.approx(sum(PRICES[i - 9 : i + 1]) / 10, rel=1e-12)


def test_ema_matches_recursive_definition_seeded_with_sma() -> None:
    ema = EMA(12)
    alpha = 2 / 13
    reference = None
    for i, price in enumerate(PRICES):
        if i == 11:
            reference = sum(PRICES[:12]) / 12
        elif i > 11:
            reference = alpha * price + (1 - alpha) * reference
        assert ema.update(price) == (None if reference is None else pytest.approx(reference))


def reference_rsi(prices: list[float], n: int) -> list[float | None]:
    out: list[float | None] = [None] * len(prices)
    gains = [max(prices[i] - prices[i - 1], 0) for i in range(1, len(prices))]
    losses = [max(prices[i - 1] - prices[i], 0) for i in range(1, len(prices))]
    avg_gain, avg_loss = sum(gains[:n]) / n, sum(losses[:n]) / n
    for i in range(n, len(prices)):
        if i > n:
            avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out[i] = 100 - 100 / (1 + avg_gain / avg_loss) if avg_loss else 100.0
    return out


def test_rsi_matches_wilder_reference_loop() -> None:
    rsi = RSI(14)
    for value, expected in zip(
        [rsi.update(p) for p in PRICES], reference_rsi(PRICES, 14), strict=True
    ):
        assert value == (None if expected is None else pytest.approx(expected))


def test_rsi_matches_published_worked_example() -> None:
    rsi = RSI(14)
    values = [rsi.update(p) for p in CHARTSCHOOL]
    assert values[:14] == [None] * 14
    # The published table comes from a spreadsheet that rounds intermediate averages.
    assert values[14:] == pytest.approx(CHARTSCHOOL_RSI, abs=0.05)


def test_rsi_of_a_flat_or_rising_series() -> None:
    flat, rising = RSI(3), RSI(3)
    assert [flat.update(10.0) for _ in range(5)][-1] == 50.0
    assert [rising.update(float(x)) for x in range(5)][-1] == 100.0


def test_atr_matches_wilder_reference_loop() -> None:
    bars = [(p + RNG.uniform(0, 2), p - RNG.uniform(0, 2), p) for p in PRICES]
    atr = ATR(14)
    trs = [bars[0][0] - bars[0][1]]
    for (high, low, _), (_, _, prev_close) in zip(bars[1:], bars, strict=False):
        trs.append(max(high - low, abs(high - prev_close), abs(low - prev_close)))
    expected = None
    for i, (high, low, close) in enumerate(bars):
        if i == 13:
            expected = sum(trs[:14]) / 14
        elif i > 13:
            expected = (expected * 13 + trs[i]) / 14
        assert atr.update(high, low, close) == (
            None if expected is None else pytest.approx(expected)
        )


def test_bollinger_matches_population_stdev_bands() -> None:
    bands = Bollinger(20, 2.0)
    for i, price in enumerate(PRICES):
        value = bands.update(price)
        if i < 19:
            assert value is None
            continue
        window = PRICES[i - 19 : i + 1]
        mean, sd = statistics.fmean(window), statistics.pstdev(window)
        assert value == pytest.approx((mean - 2 * sd, mean, mean + 2 * sd), rel=1e-9)


def test_bollinger_stays_accurate_far_from_its_first_value() -> None:
    bands = Bollinger(5, 1.0)
    for i in range(100_000):
        bands.update(1_000_000.0 + i * 0.5)
    window = [1_000_000.0 + i * 0.5 for i in range(99_995, 100_000)]
    assert bands.upper - bands.middle == pytest.approx(statistics.pstdev(window), rel=1e-6)


def test_vwap_is_volume_weighted_and_restarts_each_ist_day() -> None:
    vwap = VWAP()
    day1 = 1_764_042_300 * NS_PER_SECOND  # 2025-11-25 09:15 IST
    assert vwap.update(100.0, 0, day1) is None  # no volume yet
    assert vwap.update(100.0, 10, day1) == 100.0
    assert vwap.update(110.0, 30, day1 + 60 * NS_PER_SECOND) == pytest.approx(107.5)
    # 18:29 UTC is 23:59 IST the same day; 18:31 UTC is the next IST day.
    late = day1 + (14 * 3600 + 44 * 60) * NS_PER_SECOND
    assert vwap.update(90.0, 40, late) == pytest.approx((100 * 10 + 110 * 30 + 90 * 40) / 80)
    assert vwap.update(50.0, 5, late + 120 * NS_PER_SECOND) == 50.0
    assert vwap.count == 1


def test_periods_must_be_positive() -> None:
    for cls in (SMA, EMA, RSI, ATR, Bollinger):
        with pytest.raises(ValueError, match="period must be at least 1"):
            cls(0)
    assert math.isfinite(SMA(1).update(3.0))
