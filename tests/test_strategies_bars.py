"""Tick → bar aggregation (IST boundaries, volume from cumulative, timer flush) and ML features."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from engine.clock import IST, NS_PER_SECOND
from engine.model import Tick
from engine.strategies import Strategy
from engine.strategies.bars import Bar, BarAggregator
from engine.strategies.batch import BarBatch
from engine.strategies.builtin.ml_features import FeatureBuilder, dataset
from engine.strategies.builtin.ml_model import LogisticModel, NotEnoughData, walk_forward
from engine.strategies.testing import Harness, make_tick

T = 101


def ist(h: int, m: int, s: float = 0.0) -> int:
    return int((datetime(2026, 11, 25, h, m, tzinfo=IST).timestamp() + s) * NS_PER_SECOND)


def test_minute_bars_close_on_the_boundary_of_exchange_time() -> None:
    agg = BarAggregator("1m")
    assert agg.update(make_tick(T, 100.0, ist(9, 15, 0.0), 1000)) is None
    assert agg.update(make_tick(T, 102.0, ist(9, 15, 20), 1300)) is None
    assert agg.update(make_tick(T, 99.0, ist(9, 15, 40), 1350, bid=98.95, ask=99.05)) is None
    assert agg.update(make_tick(T, 101.0, ist(9, 15, 59.999), 1500)) is None
    bar = agg.update(make_tick(T, 103.0, ist(9, 16, 0.0), 1600))
    assert bar == Bar(
        T, "1m", ist(9, 15), ist(9, 16), 100.0, 102.0, 99.0, 101.0, 500, 4, pytest.approx(0.1)
    )
    closed = agg.update(make_tick(T, 104.0, ist(9, 18, 5), 1700))  # a quiet minute between
    assert (closed.start_ns, closed.open, closed.close, closed.volume) == (
        ist(9, 16),
        103.0,
        103.0,
        100,
    )


def test_five_and_fifteen_minute_bars_align_to_ist_clock_times() -> None:
    five, fifteen = BarAggregator("5m"), BarAggregator("15m")
    closed5, closed15 = [], []
    for minute in range(0, 31):
        tick = make_tick(
            T, 100.0 + minute, ist(9, 15, 30) + minute * 60 * NS_PER_SECOND, 1000 + minute
        )
        closed5 += [b for b in [five.update(tick)] if b]
        closed15 += [b for b in [fifteen.update(tick)] if b]
    assert [b.start_ns for b in closed5] == [ist(9, 15 + 5 * i) for i in range(6)]
    assert [(b.start_ns, b.end_ns, b.open, b.close) for b in closed15] == [
        (ist(9, 15), ist(9, 30), 100.0, 114.0),
        (ist(9, 30), ist(9, 45), 115.0, 129.0),
    ]


def test_volume_is_the_change_in_cumulative_volume() -> None:
    agg = BarAggregator("1m")
    agg.update(make_tick(T, 100.0, ist(10, 0, 1), 50_000))  # first tick: a baseline, no volume
    agg.update(make_tick(T, 100.0, ist(10, 0, 2), 50_400))
    agg.update(make_tick(T, 100.0, ist(10, 0, 3), 50_100))  # a drop re-baselines, never negative
    agg.update(make_tick(T, 100.0, ist(10, 0, 4), 50_300))
    bar = agg.update(make_tick(T, 100.0, ist(10, 1, 0), 50_900))
    assert bar.volume == 600
    # The volume a tick reports belongs to the bar the tick opens: 50 300 → 50 900.
    assert agg.update(make_tick(T, 100.0, ist(10, 2, 0), 51_000)).volume == 600
    assert agg.flush(ist(10, 3, 0))[0].volume == 100


def test_flush_closes_quiet_bars_after_the_grace_and_late_ticks_are_dropped() -> None:
    agg = BarAggregator("1m")
    agg.update(make_tick(T, 100.0, ist(10, 0, 10), 10))
    agg.update(make_tick(T + 1, 50.0, ist(10, 0, 50), 10))
    assert agg.flush(ist(10, 1, 1), grace_ns=2 * NS_PER_SECOND) == []
    flushed = agg.flush(ist(10, 1, 2), grace_ns=2 * NS_PER_SECOND)
    assert sorted((b.instrument_token, b.close) for b in flushed) == [(T, 100.0), (T + 1, 50.0)]
    assert agg.update(make_tick(T, 99.0, ist(10, 0, 59), 20)) is None  # late for a closed bar
    assert agg.late_ticks == 1
    assert agg.flush(ist(10, 5, 0)) == []


def test_flush_finds_a_bar_opened_after_it_that_ends_before_the_others() -> None:
    # The flush skips its pass until the earliest open bar can be due; a bar opened later
    # with an older exchange time (an instrument lagging behind) must still be closed on time.
    agg = BarAggregator("1m")
    agg.update(make_tick(T, 100.0, ist(10, 2, 10), 10))
    assert agg.flush(ist(10, 2, 30)) == []
    agg.update(make_tick(T + 1, 50.0, ist(10, 1, 50), 10))
    assert [(b.instrument_token, b.end_ns) for b in agg.flush(ist(10, 2, 30))] == [
        (T + 1, ist(10, 2))
    ]
    assert agg.flush(ist(10, 2, 59)) == []
    assert [b.instrument_token for b in agg.flush(ist(10, 3, 0))] == [T]
    assert agg.flush(ist(10, 9, 0)) == []
    agg.update(make_tick(T, 101.0, ist(10, 9, 5), 20))
    assert [b.close for b in agg.flush(ist(10, 10, 0))] == [101.0]


def test_unknown_timeframe_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown timeframe '2m'"):
        BarAggregator("2m")


class BarRecorder(Strategy):
    def on_start(self) -> None:
        self.bars: list[Bar] = []
        self.subscribe_bars("1m")
        self.subscribe_bars("5m")

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)


class BatchBarRecorder(BarRecorder):
    """The same, through ``on_bars``: one call per bucket."""

    def on_bars(self, bars: BarBatch) -> None:
        self.bars.extend(bars)


@pytest.mark.parametrize("recorder", [BarRecorder, BatchBarRecorder])
async def test_manager_flushes_quiet_instruments_on_its_timer(
    tmp_path: Path, recorder: type[BarRecorder]
) -> None:
    h = Harness(
        [{"name": "rec", "class": "rec", "instruments": ["AAA", "BBB"]}],
        tmp_path,
        start=datetime(2026, 11, 25, 9, 15, 30, tzinfo=IST),
        builtins={"rec": recorder},
    )
    await h.manager.start()
    h.tick(101, 10.0, h.at(0, 10))
    h.tick(102, 20.0, h.at(0, 20))
    h.tick(103, 30.0, h.at(0, 30))  # not one of its instruments: never aggregated
    h.tick(101, 11.0, h.at(1, 5))
    await h.settle()  # a bar a tick closes is delivered from the loop, right after its batch
    strategy = h.manager.strategy("rec")
    assert [(b.instrument_token, b.timeframe, b.close) for b in strategy.bars] == [
        (101, "1m", 10.0)
    ]
    h.clock.advance(60)  # 09:16:30: BBB's 09:15 bar is over, AAA's 09:16 bar is not
    h.manager.flush_bars()
    assert [(b.instrument_token, b.close) for b in strategy.bars[1:]] == [(102, 20.0)]
    assert (
        103 not in h.manager.dispatch.fed_tokens
    )  # ticks of instruments no strategy trades build no bars


def bar(close: float, volume: int, spread: float = 0.0) -> Bar:
    return Bar(T, "1m", 0, 60, close, close, close, close, volume, 1, spread)


def test_ml_features_hand_checked() -> None:
    builder = FeatureBuilder(horizons=(1, 2), rsi_period=2, volume_window=3)
    assert builder.update(bar(10.0, 100)) is None
    assert builder.update(bar(11.0, 200)) is None
    assert builder.update(bar(10.5, 300)) is None  # RSI ready (66.67) but 3 volumes not yet seen
    features = builder.update(bar(12.0, 600, spread=0.05))
    # r1 = 12/10.5 - 1; r2 = 12/11 - 1; RSI(2): gains 0.5→1.0, losses 0.25→0.125, RS 8 → 88.89,
    # rescaled (88.89-50)/50; volume z = (600 - 200) / pstdev(100, 200, 300) = 400/81.65;
    # spread 0.05 on 12 = 41.67 bps.
    assert features == pytest.approx((0.142857, 0.090909, 0.777778, 4.898979, 41.666667), rel=1e-5)
    assert builder.width == 5


def test_dataset_labels_the_next_bar_direction_and_drops_ties() -> None:
    closes = [10, 11, 10.5, 12, 12, 11, 13]
    rows, labels = dataset([bar(c, 100 * (i + 1)) for i, c in enumerate(closes)], (1, 2), 2, 3)
    # Features exist from the 4th bar (12): next 12 is a tie (dropped); 12 → 11 down; 11 → 13 up.
    assert labels == [0, 1]
    assert len(rows) == 2


def test_logistic_model_learns_a_separable_rule_and_walk_forward_scores_it() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(int)
    model, result = walk_forward(x.tolist(), y.tolist(), 0.7, 0.6)
    assert result.train_samples == 280 and result.oos_samples == 120
    assert result.oos_hit_rate > 0.95
    assert model.predict_up(np.array([2.0, 0.0, 0.0]))[0] > 0.9
    assert isinstance(LogisticModel().fit(x, y).weights, np.ndarray)
    with pytest.raises(NotEnoughData):
        walk_forward([[1.0]] * 10, [1] * 10, 0.7, 0.6)


def test_tick_helper_builds_depth_only_when_asked() -> None:
    tick: Tick = make_tick(T, 10.0, 1, 5)
    assert tick.best_bid == 0.0 and tick.bid_px == ()
