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


@pytest.fixture(autouse=True)
def _small_batches_go_columnar(monkeypatch: pytest.MonkeyPatch) -> None:
    # The desk sends only batches of 160+ ticks down the numpy path (below that it is
    # slower); these tests compare the two paths on smaller batches, so lower the bar.
    import engine.quality.monitor

    monkeypatch.setattr(engine.quality.monitor, "_MIN_VECTOR_BATCH", 32)


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


def _states(monitor: QualityMonitor) -> list[tuple]:
    """Every instrument's state as the per-tick path would read it next.

    Reads the monitor's private states on purpose: after a columnar batch they are
    only brought up to date lazily, and this is what must come out equal.
    """
    monitor.snapshot()  # brings the states up to date
    size = monitor.settings.price_spike.window
    return [
        (
            s.token,
            s.prev,
            s.ticks,
            s.flagged,
            s.quarantined,
            s.last_seen_ns,
            s.last_bad_tick,
            s.last_check,
            s.stale,
            s.dv_ewma,
            s.dv_n,
            s.window[-size:],
            s.due,
            s.spike_lo,
            s.spike_hi,
        )
        for s in sorted(monitor._states.values(), key=lambda s: s.token)
    ]


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
    assert _states(columnar) == _states(scalar)
    assert fired > 0, "the faults must have quarantined something"
    assert sum(v > 0 for v in columnar.counters().values()) >= 12, columnar.counters()


def test_prices_at_the_edge_of_the_tick_grid_are_judged_alike() -> None:
    # Steps off the grid: inside and outside the 1e-6 tolerance, and exactly half a tick.
    offsets = (0.0, 3e-7, -3e-7, 2e-6, -2e-6, 5e-4, 0.5)
    clock_a, clock_b = TestClock(), TestClock()
    market = _market("calm", 4)
    scalar, columnar = _monitor(market, clock_a), _monitor(market, clock_b)
    idx = np.arange(UNIVERSE)
    for step in range(6):
        clock_a.advance(0.25)
        clock_b.advance(0.25)
        batch = market.step(idx, clock_a.now_ns(), 30.0 + step / 240)
        if step == 5:
            sizes = {i.instrument_token: i.tick_size for i in market.instruments}
            edged = []
            for n, tick in enumerate(batch):
                size = sizes[tick.instrument_token]
                if size <= 0:  # an index has no grid
                    edged.append(tick)
                    continue
                ltp = (round(tick.ltp / size) + offsets[n % len(offsets)]) * size
                edged.append(
                    msgspec.structs.replace(
                        tick, ltp=ltp, high=max(tick.high, ltp), low=min(tick.low, ltp)
                    )
                )
            batch = edged
        kept_a = scalar.filter(list(batch))
        kept_b = columnar.filter(ColumnarTicks.from_ticks(batch))
        assert list(kept_b) == list(kept_a)
    assert _report(columnar) == _report(scalar)
    assert scalar.counters()["off_tick_grid"] > 0


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_lazy_state_matches_when_paths_interleave(seed: int) -> None:
    """Columnar batches mixed with direct ``check`` calls, reports, sweeps and a new day.

    The columnar path keeps clean ticks' state in its arrays and hands it to the
    instrument states only when something reads them; every reader must see what the
    per-tick path would have left.
    """
    clock_a = TestClock()
    clock_b = TestClock()
    market = _market("volatile", seed)
    scalar = _monitor(market, clock_a)
    mixed = _monitor(market, clock_b)
    days = {day.instrument_token: day for day in market.market_days()}
    rng = np.random.default_rng(seed)
    paths = {"columns": 0, "split": 0, "ticks": 0}
    for step, batch in enumerate(_batches("volatile", seed, 240, 0.03, clock_a)):
        clock_b.advance((clock_a.now_ns() - clock_b.now_ns()) / NS_PER_SECOND)
        kept_a = scalar.filter(list(batch))
        roll = rng.random()
        if roll < 0.6:
            paths["columns"] += 1
            kept_b = list(mixed.filter(ColumnarTicks.from_ticks(batch)))
        elif roll < 0.85:
            # Some ticks one by one, the rest (still over the vector minimum) by columns.
            paths["split"] += 1
            cut = int(rng.integers(1, len(batch) - 32))
            kept_b = [t for t in batch[:cut] if not mixed.check(t).quarantined]
            kept_b += list(mixed.filter(ColumnarTicks.from_ticks(batch[cut:])))
        else:
            paths["ticks"] += 1
            kept_b = list(mixed.filter(list(batch)))
        assert kept_b == list(kept_a), step
        if rng.random() < 0.2:
            assert _report(mixed) == _report(scalar), step
        if rng.random() < 0.1:
            token = int(rng.choice(list(days)))
            assert mixed.status(token) == scalar.status(token)
            assert mixed.score(token) == scalar.score(token)
            assert mixed.score() == scalar.score()
        if rng.random() < 0.1:
            later = clock_a.now_ns() + int(rng.integers(0, 20)) * NS_PER_SECOND
            assert mixed.sweep(later) == scalar.sweep(later), step
        if step == 120:
            scalar.new_day(days)
            mixed.new_day(days)
    assert min(paths.values()) > 10, paths
    assert _report(mixed) == _report(scalar)
    assert _states(mixed) == _states(scalar)


def test_mock_market_columns_are_its_ticks() -> None:
    market = _market("calm", 5)
    batch = market.step_columns(np.arange(UNIVERSE), 10 * NS_PER_SECOND, 60.0)
    again = ColumnarTicks.from_ticks(list(batch))
    for field in again.columns.__slots__:
        if field == "every_field":
            continue
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


@pytest.mark.parametrize("seed", [21, 22])
def test_replay_instants_cut_from_a_block_match_tick_by_tick(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay hands the monitor one instant at a time, cut from a stored block of many
    (``ColumnarTicks.rows``): the block is screened by columns once, each instant's
    cleared ticks then run only the sequence half of the screen. Verdicts, counters,
    reports and states must equal ``check``'s, through faults, unknown instruments,
    ticks without a receive time, and a new day that moves circuit limits mid-block."""
    import engine.quality.monitor

    monkeypatch.setattr(engine.quality.monitor, "_MIN_VECTOR_BATCH", 160)
    made = TestClock()
    market = _market("volatile", seed)
    instants: list[tuple[int, list[Tick]]] = []
    rng = np.random.default_rng(seed)
    for batch in _batches("volatile", seed, 240, 0.03, made):
        batch = list(batch)
        if rng.random() < 0.1:
            batch.append(msgspec.structs.replace(batch[0], instrument_token=999_999_999))
        if rng.random() < 0.1:
            at = int(rng.integers(len(batch)))
            batch[at] = msgspec.structs.replace(batch[at], received_ns=0)
        instants.append((made.now_ns(), batch))
    clock_a = TestClock()
    clock_b = TestClock()
    scalar = _monitor(market, clock_a)
    replay = _monitor(market, clock_b)
    days = {day.instrument_token: day for day in market.market_days()}
    narrow = {
        token: msgspec.structs.replace(day, upper_circuit=day.prev_close * 1.002)
        for token, day in days.items()
    }
    step = 0
    for first in range(0, len(instants), 7):
        group = instants[first : first + 7]
        block = ColumnarTicks.from_ticks([t for _, batch in group for t in batch])
        row = 0
        for now, batch in group:
            for clock in (clock_a, clock_b):
                clock.advance((now - clock.now_ns()) / NS_PER_SECOND)
            kept_a = scalar.filter(list(batch))
            kept_b = replay.filter(block.rows(row, row + len(batch)))
            assert list(kept_b) == list(kept_a), step
            row += len(batch)
            step += 1
            if step == 121:
                scalar.new_day(narrow)
                replay.new_day(narrow)
            if step % 37 == 0:
                assert replay.sweep() == scalar.sweep(), step
    assert replay._block is not None and any(replay._block[2])
    assert scalar.counters()["circuit_breach"] > 0
    assert scalar.counters()["unknown_instrument"] > 0
    assert _report(replay) == _report(scalar)
    assert _states(replay) == _states(scalar)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"volume_jump": {"enabled": False}},
        {"price_spike": {"enabled": False}},
        {"price_spike": {"policy": "flag", "refresh": 3}, "volume_jump": {"policy": "flag"}},
    ],
)
def test_fused_learner_matches_the_probes(settings: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """``learn`` stands in for the learning checks' probes on a screened tick: verdicts,
    reports and states equal those of a monitor that runs each probe, tick by tick, in
    batches and in replay instants, through faults and ticks without a receive time."""
    import engine.quality.monitor

    # Batches go tick by tick, replay instants through the block's screen.
    monkeypatch.setattr(engine.quality.monitor, "_MIN_VECTOR_BATCH", 160)
    market = _market("volatile", 31)
    days = {day.instrument_token: day for day in market.market_days()}
    instruments = {i.instrument_token: i for i in market.instruments}
    quality = QualitySettings.model_validate({"session": "always-open", **settings})
    made = TestClock()
    rng = np.random.default_rng(31)
    batches = []
    last: dict[int, Tick] = {}
    for batch in _batches("volatile", 31, 200, 0.04, made):
        batch = list(batch)
        if rng.random() < 0.1:
            at = int(rng.integers(len(batch)))
            batch[at] = msgspec.structs.replace(batch[at], received_ns=0)
        # Sequence faults without a new trade: the previous tick again, or its volume
        # one lower at this instant's time.
        for at in rng.choice(len(batch), 4, replace=False).tolist() if last else ():
            now = batch[at]
            prev = last[now.instrument_token]
            if rng.random() < 0.5:
                batch[at] = msgspec.structs.replace(prev, received_ns=now.received_ns)
            else:
                batch[at] = msgspec.structs.replace(
                    prev,
                    received_ns=now.received_ns,
                    exchange_ts_ns=now.exchange_ts_ns,
                    volume=prev.volume - 1,
                )
        last.update((t.instrument_token, t) for t in batch)
        batches.append((made.now_ns(), batch))
    clocks = [TestClock() for _ in range(4)]
    probes, ticks, lists, replay = (
        QualityMonitor(instruments, days, quality, clock) for clock in clocks
    )
    probes._learn = probes._settle = lambda tick, state: False  # each probe runs
    block = ColumnarTicks.from_ticks([t for _, batch in batches for t in batch])
    row = 0
    for step, (now, batch) in enumerate(batches):
        for clock in clocks:
            clock.advance((now - clock.now_ns()) / NS_PER_SECOND)
        expected = [t for t in batch if not probes.check(t).quarantined]
        assert [t for t in batch if not ticks.check(t).quarantined] == expected, step
        assert list(lists.filter(batch)) == expected, step
        assert list(replay.filter(block.rows(row, row + len(batch)))) == expected, step
        row += len(batch)
    for learner in ("volume_jump", "price_spike"):
        if getattr(quality, learner).enabled:
            assert probes.counters()[learner] > 0, learner
    for monitor in (ticks, lists, replay):
        assert _report(monitor) == _report(probes)
        assert _states(monitor) == _states(probes)
