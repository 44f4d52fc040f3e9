"""The data quality monitor: every check fires on its fault and stays quiet on clean data."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

import msgspec
import numpy as np
import pytest
from pydantic import BaseModel

from engine.clock import IST, NS_PER_SECOND, TestClock
from engine.feeds.faults import FAULT_KINDS, FaultInjector
from engine.model import DEPTH_LEVELS, Instrument, MarketDay, Tick, on_tick_grid
from engine.quality import OK, QualityMonitor, QualitySettings, names
from engine.quality.session import Session

# --- a clean market ------------------------------------------------------------------------


class _Walker:
    """Generator state of one instrument; prices are kept as whole ticks."""

    def __init__(self, inst: Instrument, day: MarketDay | None, grid: float, rng) -> None:
        self.inst = inst
        self.grid = grid
        self.close = day.prev_close if day else 20000.0
        self.base = round(self.close / grid)
        self.ltp = self.base + int(rng.integers(-5, 6))
        self.open = self.high = self.low = self.ltp
        self.is_index = inst.segment == "INDICES"
        self.volume = 0 if self.is_index else inst.lot_size * int(rng.integers(1, 50))
        self.turnover = self.volume * self.ltp * grid
        self.last_qty = self.volume
        self.last_trade_ns = 0


_STEPS = (-2, -1, 0, 1, 2)
_STEP_P = (0.05, 0.2, 0.5, 0.2, 0.05)
"""Ticks a trade moves the price: mostly not at all, as on a liquid tape."""


class CleanMarket:
    """Random walks on the tick grid with consistent depth, volume and OHLC.

    Time comes from the TestClock, advanced by exponential gaps (mean 50 ms);
    exchange timestamps are whole seconds, as Kite sends them.
    """

    def __init__(self, seed: int, clock: TestClock, equities: int = 5) -> None:
        self.rng = rng = np.random.default_rng(seed)
        self.clock = clock
        self.instruments: dict[int, Instrument] = {}
        self.days: dict[int, MarketDay] = {}
        walkers = []
        # (tick size, price range, lot): realistic pairs, so one tick is a small move.
        kinds = (
            (0.05, (250, 5000), 1),
            (0.05, (100, 250), 1),
            (0.1, (500, 3000), 25),
            (0.01, (50, 250), 50),
            (1.0, (5000, 30000), 1),
        )
        for i in range(equities):
            token = 1000 + i
            size, (low, high), lot = kinds[i % len(kinds)]
            inst = Instrument(token, token, f"SYM{i}", f"SYM{i}", "NSE", "NSE", "EQ", size, lot)
            close = round(float(rng.uniform(low, high)) / size) * size
            band = (0.05, 0.1, 0.2)[i % 3]
            day = MarketDay(
                token,
                close,
                round(close * (1 - band) / size) * size,
                round(close * (1 + band) / size) * size,
            )
            self.instruments[token] = inst
            self.days[token] = day
            walkers.append(_Walker(inst, day, size, rng))
        index = Instrument(256265, 256265, "NIFTY 50", "NIFTY", "NSE", "INDICES", "EQ", 0.0, 0)
        self.instruments[index.token] = index
        walkers.append(_Walker(index, None, 0.05, rng))
        self.walkers = walkers

    def ticks(self, n: int):
        """Yield ``n`` clean ticks, moving the clock before each."""
        rng = self.rng
        for _ in range(n):
            self.clock.advance(float(rng.exponential(0.05)))
            walker = self.walkers[int(rng.integers(len(self.walkers)))]
            if walker.is_index and walker.last_trade_ns == self._second():
                # An index tick carries no depth or volume: at most one per exchange
                # second keeps any two of them distinguishable from a duplicate.
                walker = self.walkers[0]
            yield self._tick(walker)

    def _second(self) -> int:
        now = self.clock.now_ns()
        return now - now % NS_PER_SECOND

    def _tick(self, w: _Walker) -> Tick:
        rng = self.rng
        now = self.clock.now_ns()
        exchange_ts = now - now % NS_PER_SECOND
        g = w.grid
        if w.is_index:
            w.last_trade_ns = exchange_ts
            w.ltp = self._step(w, int(rng.choice((-3, -2, -1, 1, 2, 3))))
            self._range(w)
            return Tick(
                w.inst.token, w.ltp * g, 0, 0.0, 0, 0, 0,
                w.open * g, w.high * g, w.low * g, w.close,
                exchange_ts, 0, received_ns=now,
            )  # fmt: skip
        if rng.random() < 0.7:
            w.ltp = self._step(w, int(rng.choice(_STEPS, p=_STEP_P)))
            self._range(w)
            w.last_qty = w.inst.lot_size * int(rng.geometric(0.1))
            extra = w.inst.lot_size * int(rng.geometric(0.05)) if rng.random() < 0.3 else 0
            w.volume += w.last_qty + extra
            w.turnover += (w.last_qty + extra) * w.ltp * g
            w.last_trade_ns = exchange_ts
        bid0 = w.ltp - int(rng.integers(0, 2))
        ask0 = bid0 + int(rng.integers(1, 3))
        bids, asks = [bid0], [ask0]
        for _ in range(DEPTH_LEVELS - 1):
            bids.append(bids[-1] - int(rng.integers(1, 3)))
            asks.append(asks[-1] + int(rng.integers(1, 3)))
        lot = w.inst.lot_size
        bid_qty = tuple(lot * int(q) for q in rng.integers(1, 500, DEPTH_LEVELS))
        ask_qty = tuple(lot * int(q) for q in rng.integers(1, 500, DEPTH_LEVELS))
        return Tick(
            instrument_token=w.inst.token,
            ltp=w.ltp * g,
            last_qty=w.last_qty,
            avg_price=round(w.turnover / w.volume, 2),
            volume=w.volume,
            buy_qty=sum(bid_qty),
            sell_qty=sum(ask_qty),
            open=w.open * g,
            high=w.high * g,
            low=w.low * g,
            close=w.close,
            exchange_ts_ns=exchange_ts,
            last_trade_ts_ns=w.last_trade_ns,
            bid_px=tuple(b * g for b in bids),
            bid_qty=bid_qty,
            bid_orders=tuple(int(o) for o in rng.integers(1, 20, DEPTH_LEVELS)),
            ask_px=tuple(a * g for a in asks),
            ask_qty=ask_qty,
            ask_orders=tuple(int(o) for o in rng.integers(1, 20, DEPTH_LEVELS)),
            received_ns=now,
        )

    @staticmethod
    def _step(w: _Walker, step: int) -> int:
        # Reflect at ±4 % of the previous close: well inside every circuit band.
        limit = max(int(w.base * 0.04), 20)
        if abs(w.ltp + step - w.base) > limit:
            step = -step
        return w.ltp + step

    @staticmethod
    def _range(w: _Walker) -> None:
        w.high = max(w.high, w.ltp)
        w.low = min(w.low, w.ltp)


def _tick_policies(policy: str) -> dict:
    return {name: {"policy": policy} for name in (names.UNKNOWN_INSTRUMENT, *names.TICK_CHECKS)}


def _monitor(market: CleanMarket, clock: TestClock, **settings) -> QualityMonitor:
    return QualityMonitor(market.instruments, market.days, QualitySettings(**settings), clock)


# --- clean data ----------------------------------------------------------------------------


def test_generator_is_clean_by_construction() -> None:
    market = CleanMarket(7, TestClock())
    for tick in market.ticks(2000):
        inst = market.instruments[tick.token]
        assert on_tick_grid(tick.ltp, inst.tick_size or 0.05)
        assert tick.low <= tick.ltp <= tick.high
        if tick.bid_px:
            assert tick.best_bid < tick.best_ask


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_false_positives_on_clean_data(seed: int) -> None:
    clock = TestClock()
    market = CleanMarket(seed, clock)
    monitor = _monitor(market, clock)
    n = 20_000
    bad = 0
    fired: list = []
    next_sweep = clock.now_ns() + NS_PER_SECOND
    for tick in market.ticks(n):
        verdict = monitor.check(tick)
        if verdict is not OK:
            bad += 1
        if clock.now_ns() >= next_sweep:
            fired.extend(monitor.sweep(clock.now_ns()))
            next_sweep += NS_PER_SECOND
    print(f"seed {seed}: false-positive rate {bad / n:.4%} over {n} ticks")
    assert bad == 0, {k: v for k, v in monitor.counters().items() if v}
    assert fired == []
    assert sum(monitor.counters().values()) == 0
    assert monitor.score() == 100.0


# --- each check fires on its fault -----------------------------------------------------------

# A price beyond the circuit is usually also a jump from the recent median.
_MAY_CO_FIRE = {names.CIRCUIT_BREACH: {names.PRICE_SPIKE}}
_WARMUP_TICKS = 60


def _run_with_faults(kind: str, seed: int, settings: dict, n: int = 4000):
    clock = TestClock()
    market = CleanMarket(seed, clock)
    monitor = _monitor(market, clock, **settings)
    injector = FaultInjector(
        0.05, np.random.default_rng(seed + 100), market.instruments, market.days, kinds=[kind]
    )
    prev: dict[int, Tick] = {}
    seen: dict[int, int] = {}
    results = []
    for clean in market.ticks(n):
        token = clean.token
        seen[token] = seen.get(token, 0) + 1
        tick, fault = clean, None
        if seen[token] > _WARMUP_TICKS:
            tick, fault = injector.maybe_corrupt(clean, prev.get(token))
        prev[token] = clean
        results.append((fault, monitor.check(tick)))
    return monitor, injector, results


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("seed", [11, 12])
def test_each_check_fires_on_its_fault_alone(kind: str, seed: int) -> None:
    # All quarantine: a bad tick never becomes the reference, so nothing cascades.
    monitor, injector, results = _run_with_faults(kind, seed, _tick_policies("quarantine"))
    injected = injector.counts[kind]
    assert injected >= 5
    allowed = {kind} | _MAY_CO_FIRE.get(kind, set())
    for fault, verdict in results:
        if fault is None:
            assert verdict is OK, verdict
        else:
            assert kind in verdict.checks, verdict
            assert set(verdict.checks) <= allowed, verdict
            assert verdict.quarantined
    assert monitor.counters()[kind] == injected


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_check_fires_on_its_fault_with_default_policies(kind: str) -> None:
    _, injector, results = _run_with_faults(kind, 21, {})
    caught = [v for f, v in results if f is not None]
    assert len(caught) == injector.counts[kind] >= 5
    assert all(kind in v.checks and not v.ok for v in caught)


def test_fault_mix_is_caught() -> None:
    clock = TestClock()
    market = CleanMarket(5, clock)
    monitor = _monitor(market, clock, **_tick_policies("quarantine"))
    injector = FaultInjector(0.05, np.random.default_rng(5), market.instruments, market.days)
    prev: dict[int, Tick] = {}
    seen: dict[int, int] = {}
    missed = []
    for clean in market.ticks(20_000):
        seen[clean.token] = seen.get(clean.token, 0) + 1
        tick, fault = clean, None
        if seen[clean.token] > _WARMUP_TICKS:
            tick, fault = injector.maybe_corrupt(clean, prev.get(clean.token))
        prev[clean.token] = clean
        verdict = monitor.check(tick)
        if fault is not None and fault not in verdict.checks:
            missed.append((fault, verdict))
        elif fault is None:
            assert verdict is OK
    assert missed == []
    assert all(count > 0 for count in injector.counts.values()), injector.counts


def test_injector_rate_and_clean_passthrough() -> None:
    market = CleanMarket(3, TestClock())
    injector = FaultInjector(0.0, np.random.default_rng(0), market.instruments, market.days)
    ticks = list(market.ticks(200))
    for tick in ticks:
        assert injector.maybe_corrupt(tick, None) == (tick, None)
    with pytest.raises(ValueError):
        FaultInjector(1.5, np.random.default_rng(0), market.instruments, market.days)
    with pytest.raises(ValueError):
        FaultInjector(0.1, np.random.default_rng(0), {}, {}, kinds=["nonsense"])


def _perturb(tick: Tick, rng: np.random.Generator) -> Tick:
    """``tick`` with one field set to an awkward value (for the screen contract)."""
    ts = tick.exchange_ts_ns
    s = NS_PER_SECOND
    bids, asks = tick.bid_px, tick.ask_px
    options = {
        "ltp": (math.nan, math.inf, -1.0, 0.0, tick.ltp * 1.5, tick.ltp + 0.013),
        "volume": (-5, 0, tick.volume * 10, tick.volume - 1),
        "exchange_ts_ns": (0, -1, ts - 10 * s, ts + 10 * s),
        "received_ns": (0, ts + 10 * s, ts - 10 * s),
        "high": (0.0, tick.ltp - 0.05),
        "low": (0.0, tick.ltp + 0.05),
        "open": (0.0, tick.high + 1.0, tick.low - 1.0),
        "close": (0.0, math.nan),
        "last_qty": (10**9, 0),
        "last_trade_ts_ns": (tick.last_trade_ts_ns + s, 0),
        "bid_px": ((), bids[::-1], (*bids[:1], 0.0, *bids[2:]), asks),
        "ask_px": ((), asks[::-1], (*asks[:2], 0.0, 0.0, 0.0), bids),
        "bid_qty": ((), tick.bid_qty[:2]),
    }
    field = list(options)[int(rng.integers(len(options)))]
    values = options[field]
    return msgspec.structs.replace(tick, **{field: values[int(rng.integers(len(values)))]})


def test_screen_never_hides_a_firing() -> None:
    # The monitor's fast path: "screen passed" must imply no stateless check fires.
    clock = TestClock()
    market = CleanMarket(13, clock)
    monitor = _monitor(market, clock)
    injector = FaultInjector(0.2, np.random.default_rng(13), market.instruments, market.days)
    rng = np.random.default_rng(14)
    stateless = [c for c in monitor._checks if not c.learns]
    prev: dict[int, Tick] = {}
    passed = stopped = 0
    for clean in market.ticks(6000):
        tick, _ = injector.maybe_corrupt(clean, prev.get(clean.token))
        prev[clean.token] = clean
        if rng.random() < 0.2:
            tick = _perturb(tick, rng)
        for candidate in (tick, tick) if rng.random() < 0.05 else (tick,):
            state = monitor._states.get(candidate.instrument_token)
            if state is not None and monitor._screen(candidate, state):
                passed += 1
                assert [c.name for c in stateless if c.probe(candidate, state)] == [], candidate
            else:
                stopped += 1
            monitor.check(candidate)
    assert passed > 3000 and stopped > 1000


# --- policies, score, ring -------------------------------------------------------------------


def _warm(market: CleanMarket, monitor: QualityMonitor, n: int = 200) -> dict[int, Tick]:
    last: dict[int, Tick] = {}
    for tick in market.ticks(n):
        assert monitor.check(tick) is OK
        last[tick.token] = tick
    return last


def _equity(market: CleanMarket, last: dict[int, Tick]) -> Tick:
    return last[min(market.days)]


def _fresh(tick: Tick, now_ns: int, n: int = 0, **changes) -> Tick:
    """``tick`` re-stamped at ``now_ns``, its bid queue nudged so it is not a duplicate."""
    return msgspec.structs.replace(
        tick,
        exchange_ts_ns=now_ns - now_ns % NS_PER_SECOND,
        received_ns=now_ns,
        bid_qty=(tick.bid_qty[0] + n + 1, *tick.bid_qty[1:]),
        **changes,
    )


def _crossed(tick: Tick, now_ns: int, n: int = 0) -> Tick:
    """A fresh copy of ``tick`` with its asks moved below the best bid."""
    shift = tick.ask_px[0] - tick.bid_px[0] + 1.0
    return _fresh(tick, now_ns, n, ask_px=tuple(a - shift for a in tick.ask_px))


def test_quarantine_keeps_the_tick_out_and_in_the_ring() -> None:
    clock = TestClock()
    market = CleanMarket(1, clock)
    monitor = _monitor(market, clock, quarantine_capacity=3)
    last = _warm(market, monitor)
    good = _equity(market, last)
    bad = msgspec.structs.replace(good, ltp=math.nan, received_ns=clock.now_ns())
    verdict = monitor.check(bad)
    assert verdict.quarantined and verdict.checks == (names.PRICE_INVALID,)
    assert monitor.quarantined()[-1].tick is bad
    assert monitor.status(good.token).status == "quarantined"
    # Withheld from the batch, and never the reference: the good tick again is a duplicate.
    assert monitor.filter([bad]) == []
    again = msgspec.structs.replace(good, received_ns=clock.now_ns())
    assert monitor.check(again).checks == (names.DUPLICATE_TICK,)
    for _ in range(5):
        monitor.check(bad)
    assert len(monitor.quarantined()) == 3
    assert monitor.snapshot().quarantine_kept == 3


def test_flag_passes_downstream_and_pass_only_counts() -> None:
    clock = TestClock()
    market = CleanMarket(2, clock)
    seen = []
    monitor = _monitor(
        market, clock, crossed_book={"policy": "flag"}, wide_spread={"policy": "pass"}
    )
    monitor.on_breach = lambda *a: seen.append(a)
    last = _warm(market, monitor)
    good = _equity(market, last)
    t = clock.now_ns()
    crossed = _crossed(good, t)
    clean = _fresh(good, t, 1, volume=good.volume + 1, last_qty=1)
    assert monitor.filter([crossed, clean]) == [crossed, clean]
    assert monitor.status(good.token).flagged == 1
    wide = _fresh(
        good, t, 2, volume=good.volume + 2, last_qty=1, ask_px=tuple(a * 2 for a in good.ask_px)
    )
    verdict = monitor.check(wide)
    assert verdict.ok and verdict.checks == (names.WIDE_SPREAD,)
    assert monitor.counters()[names.WIDE_SPREAD] == 1
    assert [a[0] for a in seen] == [names.CROSSED_BOOK]


def test_score_per_instrument_and_overall() -> None:
    clock = TestClock()
    market = CleanMarket(3, clock)
    monitor = _monitor(market, clock, **_tick_policies("flag"))
    token = min(market.days)
    assert monitor.score(token) == 100.0
    last = _warm(market, monitor)
    good = last[token]
    before = monitor.status(token).ticks
    for i in range(before):  # as many bad ticks as good: score 50
        monitor.check(msgspec.structs.replace(good, ltp=-1.0 - i, received_ns=clock.now_ns()))
    status = monitor.status(token)
    assert status.score == pytest.approx(50.0)
    assert status.flagged == before
    total = sum(s.ticks for s in monitor.statuses())
    assert monitor.score() == pytest.approx(100.0 * (total - before) / total)
    snap = monitor.snapshot()
    assert snap.worst[0].instrument_token == token
    assert snap.score == pytest.approx(monitor.score())
    by_name = {c.name: c for c in snap.checks}
    assert by_name[names.PRICE_INVALID].count == before
    assert by_name[names.PRICE_INVALID].policy == "flag"
    assert by_name[names.PRICE_INVALID].last_token == token
    assert set(by_name) == set(names.ALL_CHECKS)
    with pytest.raises(AttributeError):
        snap.score = 0.0  # type: ignore[misc]


def test_unknown_instrument_is_quarantined() -> None:
    clock = TestClock()
    market = CleanMarket(4, clock)
    monitor = _monitor(market, clock)
    tick = next(iter(market.ticks(1)))
    stranger = msgspec.structs.replace(tick, instrument_token=999_999_999)
    assert monitor.check(stranger).checks == (names.UNKNOWN_INSTRUMENT,)
    assert monitor.snapshot().quarantined == 1


def test_disabled_check_never_fires() -> None:
    clock = TestClock()
    market = CleanMarket(4, clock)
    monitor = _monitor(market, clock, crossed_book={"enabled": False})
    good = _equity(market, _warm(market, monitor))
    crossed = _crossed(good, clock.now_ns())
    assert names.CROSSED_BOOK not in monitor.check(crossed).checks
    assert monitor.counters()[names.CROSSED_BOOK] == 0


def test_new_day_forgets_the_reference_tick() -> None:
    clock = TestClock()
    market = CleanMarket(4, clock)
    monitor = _monitor(market, clock)
    good = _equity(market, _warm(market, monitor))
    monitor.new_day(market.days)
    lower = msgspec.structs.replace(good, volume=good.volume - 1, received_ns=clock.now_ns())
    assert monitor.check(lower) is OK


# --- alerts ----------------------------------------------------------------------------------


def test_alerts_are_rate_limited_per_check_and_instrument() -> None:
    clock = TestClock()
    market = CleanMarket(6, clock)
    alerts = []
    monitor = QualityMonitor(
        market.instruments,
        market.days,
        QualitySettings(alert_interval_s=10),
        clock,
        on_breach=lambda *a: alerts.append(a),
    )
    last = _warm(market, monitor)
    a, b = (last[t] for t in sorted(market.days)[:2])

    sent = iter(range(1000))

    def crossed(tick: Tick) -> Tick:
        return _crossed(tick, clock.now_ns(), next(sent))

    for _ in range(50):
        assert monitor.check(crossed(a)).checks == (names.CROSSED_BOOK,)
    monitor.check(crossed(b))
    assert [(n, t) for n, t, _ in alerts] == [
        (names.CROSSED_BOOK, a.token),
        (names.CROSSED_BOOK, b.token),
    ]
    assert "best bid" in alerts[0][2]
    clock.advance(9.9)
    monitor.check(crossed(a))
    assert len(alerts) == 2
    clock.advance(0.2)
    monitor.check(crossed(a))
    assert len(alerts) == 3
    snap = monitor.snapshot()
    assert snap.alerts_raised == 3 and snap.alerts_suppressed == 50
    assert monitor.counters()[names.CROSSED_BOOK] == 53


def test_a_failing_alert_sink_does_not_stop_ticks() -> None:
    clock = TestClock()
    market = CleanMarket(6, clock)

    def sink(*_):
        raise RuntimeError("sink down")

    monitor = QualityMonitor(market.instruments, market.days, QualitySettings(), clock, sink)
    good = _equity(market, _warm(market, monitor))
    bad = msgspec.structs.replace(good, ltp=0.0, received_ns=clock.now_ns())
    assert monitor.check(bad).quarantined
    assert monitor.snapshot().callback_errors == 1


# --- sweeps ----------------------------------------------------------------------------------


def _tick_now(market: CleanMarket, last: dict[int, Tick], token: int) -> Tick:
    now = market.clock.now_ns()
    t = last[token]
    return msgspec.structs.replace(
        t,
        exchange_ts_ns=now - now % NS_PER_SECOND,
        received_ns=now,
        bid_qty=(t.bid_qty[0] + 1, *t.bid_qty[1:]) if t.bid_qty else (),
        ltp=t.ltp if t.bid_qty else t.ltp + 0.05,
        high=max(t.high, t.ltp + 0.05) if not t.bid_qty else t.high,
    )


def test_stale_instrument_fires_once_and_clears() -> None:
    clock = TestClock()
    market = CleanMarket(8, clock)
    monitor = _monitor(market, clock, stale_instrument={"after_s": 60})
    last = _warm(market, monitor)
    quiet, *others = sorted(last)
    for _ in range(70):
        clock.advance(1.0)
        for token in others:
            tick = _tick_now(market, last, token)
            assert monitor.check(tick) is OK
            last[token] = tick
        fired = monitor.sweep(clock.now_ns())
        if fired:
            break
    assert [(b.check, b.instrument_token) for b in fired] == [(names.STALE_INSTRUMENT, quiet)]
    assert monitor.status(quiet).status == "stale"
    assert monitor.snapshot().stale == (quiet,)
    clock.advance(1.0)
    assert monitor.sweep() == ()  # already reported
    assert monitor.check(_tick_now(market, last, quiet)) is OK
    assert monitor.sweep() == ()
    assert monitor.status(quiet).status == "ok"
    assert monitor.counters()[names.STALE_INSTRUMENT] == 1


def test_feed_gap_fires_once_and_hides_per_instrument_staleness() -> None:
    clock = TestClock()
    market = CleanMarket(9, clock)
    alerts = []
    monitor = QualityMonitor(
        market.instruments,
        market.days,
        QualitySettings(feed_gap={"after_s": 5}, stale_instrument={"after_s": 10}),
        clock,
        lambda *a: alerts.append(a),
    )
    last = _warm(market, monitor)
    clock.advance(4.0)
    assert monitor.sweep() == ()
    clock.advance(2.0)
    fired = monitor.sweep()
    assert [(b.check, b.instrument_token) for b in fired] == [(names.FEED_GAP, 0)]
    assert alerts[-1][:2] == (names.FEED_GAP, 0)
    clock.advance(30.0)
    assert monitor.sweep() == ()  # no repeat, and no stale storm
    assert monitor.snapshot().feed_gap
    # The feed comes back for all but one instrument: that one is now reported stale.
    quiet, *others = sorted(last)
    for token in others:
        monitor.check(_tick_now(market, last, token))
    fired = monitor.sweep()
    assert [(b.check, b.instrument_token) for b in fired] == [(names.STALE_INSTRUMENT, quiet)]
    assert not monitor.snapshot().feed_gap


def test_no_silence_checks_outside_market_hours() -> None:
    clock = TestClock(datetime(2026, 11, 25, 15, 29, tzinfo=IST))
    market = CleanMarket(10, clock)
    monitor = _monitor(market, clock)
    _warm(market, monitor, 50)
    clock.set_ns(int(datetime(2026, 11, 25, 16, 0, tzinfo=IST).timestamp()) * NS_PER_SECOND)
    assert monitor.sweep() == ()
    clock.set_ns(int(datetime(2026, 11, 28, 11, 0, tzinfo=IST).timestamp()) * NS_PER_SECOND)
    assert monitor.sweep() == ()  # a Saturday
    always = _monitor(market, clock, session="always-open")
    clock.advance(6.0)
    assert {b.check for b in always.sweep()} == {names.FEED_GAP}


def test_unseen_instruments_go_stale_from_the_session_open() -> None:
    clock = TestClock(datetime(2026, 11, 25, 9, 0, tzinfo=IST))
    market = CleanMarket(10, clock)
    monitor = _monitor(market, clock, feed_gap={"enabled": False})
    clock.set_ns(int(datetime(2026, 11, 25, 9, 15, 30, tzinfo=IST).timestamp()) * NS_PER_SECOND)
    assert monitor.sweep() == ()
    clock.advance(31)
    assert len(monitor.sweep()) == len(market.instruments)
    hidden = _monitor(
        market, clock, feed_gap={"enabled": False}, stale_instrument={"include_unseen": False}
    )
    assert hidden.sweep() == ()


def test_sweeps_follow_the_watched_set_and_new_instruments() -> None:
    # A sweep keeps the list of states it looks at; watching others or adding an
    # instrument must change what the next sweep reports.
    clock = TestClock()
    market = CleanMarket(12, clock)
    monitor = _monitor(market, clock, session="always-open", feed_gap={"enabled": False})
    tokens = sorted(market.instruments)
    _warm(market, monitor, 50)
    assert monitor.sweep() == ()
    monitor.watch_only(tokens[:2])
    clock.advance(61)
    assert {b.instrument_token for b in monitor.sweep()} == set(tokens[:2])
    monitor.watch_only(tokens[:3])
    assert [b.instrument_token for b in monitor.sweep()] == [tokens[2]]
    monitor.watch_only(None)
    assert {b.instrument_token for b in monitor.sweep()} == set(tokens[3:])
    new = msgspec.structs.replace(market.instruments[tokens[0]], instrument_token=7)
    monitor.add_instrument(new)
    assert [b.instrument_token for b in monitor.sweep()] == [7]
    # Ticks resume on every watched instrument: each clears, none fires again.
    monitor.watch_only(tokens)
    assert set(monitor.snapshot().stale) == set(tokens)
    for tick in market.ticks(200):
        monitor.check(tick)
    assert monitor.sweep() == ()
    assert monitor.snapshot().stale == ()


def test_session_answers_from_its_span_as_from_the_calendar() -> None:
    # ``opened_ns`` keeps the span of the session it last found open; asked again and
    # again (forwards, backwards, across the close and a weekend), it must answer as a
    # fresh ``Session`` computing from the date each time.
    settings = QualitySettings()
    args = (False, settings.market_open, settings.market_close)
    kept = Session(*args)
    rng = np.random.default_rng(3)
    day = int(datetime(2026, 11, 27, 0, 0, tzinfo=IST).timestamp()) * NS_PER_SECOND
    close = int(datetime(2026, 11, 27, 15, 30, tzinfo=IST).timestamp()) * NS_PER_SECOND
    instants = [close + d for d in (-1_000_000, -1001, -1000, -999, -500, -1, 0, 1, 500)]
    instants += [int(day + rng.integers(0, 4 * 86_400 * NS_PER_SECOND)) for _ in range(3000)]
    instants += sorted(instants)
    answers = [kept.opened_ns(ns) for ns in instants]
    assert answers == [Session(*args).opened_ns(ns) for ns in instants]
    assert answers.count(None) > 1000 and len(set(answers)) == 3  # Friday, Monday, closed


async def test_run_sweeps_follows_the_injected_clock() -> None:
    clock = TestClock()
    market = CleanMarket(11, clock)
    monitor = _monitor(market, clock, feed_gap={"after_s": 5})
    _warm(market, monitor, 50)
    task = asyncio.create_task(monitor.run_sweeps(1.0))
    try:
        for _ in range(10):
            await asyncio.sleep(0)
            clock.advance(1.0)
            await asyncio.sleep(0)
        assert monitor.counters()[names.FEED_GAP] == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# --- settings --------------------------------------------------------------------------------


def test_every_settings_field_is_documented() -> None:
    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann)

    walk(QualitySettings)


def test_settings_reject_bad_policies() -> None:
    with pytest.raises(ValueError):
        QualitySettings(price_spike={"policy": "ignore"})
    with pytest.raises(ValueError):
        QualitySettings(feed_gap={"policy": "quarantine"})
    with pytest.raises(ValueError):
        QualitySettings(market_open="15:30", market_close="09:15")
