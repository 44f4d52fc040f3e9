"""The monitor's columnar path judges a batch exactly as ``check`` judges each tick."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from engine.clock import NS_PER_SECOND, TestClock
from engine.feeds.faults import FaultInjector
from engine.feeds.mock_market import MockMarket
from engine.feeds.universe import build_universe
from engine.model import Tick
from engine.quality import QualityMonitor, QualitySettings
from engine.quality.columns import ColumnarTicks

UNIVERSE = 80


def _market(scenario: str, seed: int) -> MockMarket:
    return MockMarket(build_universe(UNIVERSE), scenario, seed)


def _monitor(market: MockMarket, clock: TestClock) -> QualityMonitor:
    days = {day.instrument_token: day for day in market.market_days()}
    instruments = {i.instrument_token: i for i in market.instruments}
    return QualityMonitor(instruments, days, QualitySettings(session="always-open"), clock)


def _batches(scenario: str, seed: int, steps: int, fault_rate: float, clock: TestClock):
    """Full-universe batches, some ticks faulted (with the injector's ``prev``)."""
    market = _market(scenario, seed)
    injector = FaultInjector(
        fault_rate,
        np.random.default_rng(seed),
        {i.instrument_token: i for i in market.instruments},
        {day.instrument_token: day for day in market.market_days()},
    )
    prev: dict[int, Tick] = {}
    idx = np.arange(UNIVERSE)
    for step in range(steps):
        clock.advance(0.25)
        ticks = market.step(idx, clock.now_ns(), 30.0 + step / 240)
        sent = []
        for tick in ticks:
            bad = injector.maybe_corrupt(tick, prev.get(tick.instrument_token))[0]
            prev[tick.instrument_token] = tick
            sent.append(bad if step > 40 else tick)
        yield sent


def _report(monitor: QualityMonitor) -> tuple:
    snapshot = msgspec.structs.replace(monitor.snapshot(), at_ns=0)
    return (
        monitor.counters(),
        sorted(monitor.statuses(), key=lambda q: q.instrument_token),
        [(q.tick, q.checks, q.details) for q in monitor.quarantined()],
        snapshot,
    )


@pytest.mark.parametrize(("scenario", "seed"), [("calm", 1), ("volatile", 2), ("calm", 3)])
def test_columnar_batches_match_tick_by_tick(scenario: str, seed: int) -> None:
    clock_a = TestClock()
    clock_b = TestClock()
    market = _market(scenario, seed)
    scalar = _monitor(market, clock_a)
    columnar = _monitor(market, clock_b)
    fired = 0
    for batch in _batches(scenario, seed, 200, 0.03, clock_a):
        clock_b.advance((clock_a.now_ns() - clock_b.now_ns()) / NS_PER_SECOND)
        kept_a = scalar.filter(list(batch))
        kept_b = columnar.filter(ColumnarTicks.from_ticks(batch))
        assert list(kept_b) == list(kept_a)
        fired += len(batch) - len(kept_a)
    assert _report(columnar) == _report(scalar)
    assert fired > 0, "the faults must have quarantined something"
    assert sum(v > 0 for v in columnar.counters().values()) >= 12, columnar.counters()


def test_mock_market_columns_are_its_ticks() -> None:
    market = _market("calm", 5)
    batch = market.step_columns(np.arange(UNIVERSE), 10 * NS_PER_SECOND, 60.0)
    again = ColumnarTicks.from_ticks(list(batch))
    for field in again.columns.__slots__:
        mine = getattr(batch.columns, field)
        theirs = getattr(again.columns, field)
        assert np.array_equal(mine, theirs), field


def test_a_batch_with_a_repeated_or_unknown_instrument_goes_tick_by_tick() -> None:
    clock = TestClock()
    market = _market("calm", 7)
    monitor = _monitor(market, clock)
    batches = list(_batches("calm", 7, 3, 0.0, clock))
    first, second, third = batches
    monitor.filter(ColumnarTicks.from_ticks(first))
    # The same instrument twice: the second copy is a duplicate of the first (quarantined).
    repeated = ColumnarTicks.from_ticks([*second, second[0]])
    assert list(monitor.filter(repeated)) == list(second)
    assert monitor.counters()["duplicate_tick"] == 1
    stranger = msgspec.structs.replace(third[0], instrument_token=999_999_999)
    kept = monitor.filter(ColumnarTicks.from_ticks([*third, stranger]))
    assert stranger not in kept and len(kept) == len(third)
    assert monitor.counters()["unknown_instrument"] == 1


def test_columns_must_match_the_ticks_in_number() -> None:
    market = _market("calm", 9)
    batch = market.step_columns(np.arange(UNIVERSE), NS_PER_SECOND, 60.0)
    with pytest.raises(ValueError, match="column rows"):
        ColumnarTicks(batch[:-1], batch.columns)
