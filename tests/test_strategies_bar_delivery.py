"""Bars closed on the tick path are delivered off it: once each, in order, after the batch's orders."""

from __future__ import annotations

import asyncio
import itertools
import random
from pathlib import Path

import pytest

from engine.model import Tick
from engine.strategies import Strategy
from engine.strategies import dispatch as dispatch_module
from engine.strategies.bars import TIMEFRAMES, Bar, BarAggregator
from engine.strategies.batch import BarBatch
from engine.strategies.testing import Harness, make_tick

SYMBOLS = tuple(f"S{i:02d}" for i in range(12))
TOKENS = [101 + i for i in range(len(SYMBOLS))]
Event = tuple  # ("tick", batch, token) or ("bar", timeframe, token, start_ns)


class Recorder(Strategy):
    """Logs every tick and bar it receives, in the order received."""

    timeframes: tuple[str, ...] = ("1m", "5m")

    def on_start(self) -> None:
        self.log: list[Event] = []
        self.bars: list[Bar] = []
        self.batch = 0
        for timeframe in self.timeframes:
            self.subscribe_bars(timeframe)

    def on_tick(self, tick: Tick) -> None:
        self.log.append(("tick", self.batch, tick.instrument_token))

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)
        self.log.append(("bar", bar.timeframe, bar.instrument_token, bar.start_ns))


class MinuteRecorder(Recorder):
    timeframes = ("1m",)


class AllRecorder(Recorder):
    timeframes = tuple(TIMEFRAMES)


class BrokenOnBar(Recorder):
    """Fails on its third bar: the others must still receive every bar."""

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        if len(self.bars) == 3:
            raise RuntimeError("bad bar")


CLASSES = {"rec": Recorder, "minute": MinuteRecorder, "all": AllRecorder, "broken": BrokenOnBar}


def batches(seed: int = 7) -> list[list[Tick]]:
    """17 minutes of ticks from 09:15; each instrument ticks at random moments, some go quiet."""
    rng = random.Random(seed)
    h = Harness([], Path("."))  # only for its clock arithmetic
    volume = dict.fromkeys(TOKENS, 1000)
    out = []
    for step in range(17 * 12):  # one batch per 5 s of exchange time
        ts = h.at(0, 0.5) + step * 5_000_000_000
        batch = []
        for token in rng.sample(TOKENS, rng.randint(1, len(TOKENS))):
            volume[token] += rng.randint(1, 50)
            batch.append(make_tick(token, rng.uniform(90, 110), ts, volume[token]))
        out.append(batch)
    return out


def expected_log(ticks: list[list[Tick]], tokens: set[int], timeframes: tuple[str, ...]) -> list:
    """What a strategy must see: each batch's ticks, then the bars that batch closed, in order."""
    aggregators = [BarAggregator(tf) for tf in sorted(timeframes)]
    log: list[Event] = []
    for number, batch in enumerate(ticks):
        mine = [t for t in batch if t.instrument_token in tokens]
        log += [("tick", number, t.instrument_token) for t in mine]
        for tick in mine:
            for aggregator in aggregators:
                if (bar := aggregator.update(tick)) is not None:
                    log.append(("bar", bar.timeframe, bar.instrument_token, bar.start_ns))
    return log


@pytest.fixture
def one_bar_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    # A zero budget makes every bar its own loop turn: the most interleaving there can be.
    monkeypatch.setattr(dispatch_module, "BAR_CHUNK_S", 0.0)


@pytest.mark.usefixtures("one_bar_per_chunk")
async def test_every_bar_reaches_every_strategy_once_in_order_before_the_next_batch(
    tmp_path: Path,
) -> None:
    entries = [
        {"name": "rec", "class": "rec", "instruments": list(SYMBOLS)},
        {"name": "minute", "class": "minute", "instruments": list(SYMBOLS[:6])},
        {"name": "all", "class": "all", "instruments": list(SYMBOLS[3:])},
        {"name": "broken", "class": "broken", "instruments": list(SYMBOLS)},
    ]
    h = Harness(entries, tmp_path, symbols=SYMBOLS, builtins=CLASSES)
    await h.manager.start()
    strategies = [h.manager.strategy(e["name"]) for e in entries]
    ticks = batches()
    for number, batch in enumerate(ticks):
        for strategy in strategies:
            strategy.batch = number
        h.bus.publish_ticks(batch)
        if number % 3 == 0:
            # Otherwise the next batch arrives while this one's bars are still queued.
            await h.settle()
    await h.settle()
    assert h.manager.dispatch.bars_pending == 0

    for entry, strategy in zip(entries[:3], strategies, strict=False):
        tokens = {TOKENS[SYMBOLS.index(s)] for s in entry["instruments"]}
        expected = expected_log(ticks, tokens, strategy.timeframes)
        assert sum(e[0] == "bar" for e in expected) >= 90
        assert strategy.log == expected, entry["name"]
    broken = strategies[3]
    assert h.manager.state("broken").value == "failed"
    assert len(broken.bars) == 3  # nothing after the bar it failed on


class TickBuyer(Strategy):
    """Buys on every tick of its instruments."""

    def on_tick(self, tick: Tick) -> None:
        self.buy(tick.instrument_token)


class BarBuyer(Strategy):
    """Buys on every bar; notes how many orders had reached the gateway at each call."""

    def on_start(self) -> None:
        self.subscribe_bars("1m")
        self.seen_at_gateway: list[int] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen_at_gateway.append(len(self.gateway.submits))
        self.buy(bar.instrument_token)


@pytest.mark.usefixtures("one_bar_per_chunk")
async def test_orders_of_the_closing_batch_go_out_before_its_bars_and_between_chunks(
    tmp_path: Path,
) -> None:
    h = Harness(
        [
            {"name": "ticks", "class": "ticks", "instruments": ["AAA"]},
            {"name": "bars", "class": "bars", "instruments": ["AAA", "BBB", "CCC"]},
        ],
        tmp_path,
        builtins={"ticks": TickBuyer, "bars": BarBuyer},
        fill=False,
    )
    await h.manager.start()
    bars = h.manager.strategy("bars")
    bars.gateway = h.gateway
    h.bus.publish_ticks([make_tick(t, 100.0, h.at(0, 10), 1000) for t in (101, 102, 103)])
    await h.settle()
    assert h.orders() == [("ticks", "BUY", "AAA", 1)]
    # 09:16:01 closes three 09:15 bars; its tick's order is at the gateway before any on_bar,
    # and each bar's order before the next bar is delivered.
    h.bus.publish_ticks([make_tick(t, 101.0, h.at(1, 1), 1100) for t in (101, 102, 103)])
    assert bars.seen_at_gateway == []  # nothing on the tick path
    await h.settle()
    assert bars.seen_at_gateway == [2, 3, 4]
    assert h.orders() == [
        ("ticks", "BUY", "AAA", 1),
        ("ticks", "BUY", "AAA", 1),
        ("bars", "BUY", "AAA", 1),
        ("bars", "BUY", "BBB", 1),
        ("bars", "BUY", "CCC", 1),
    ]


async def test_outside_an_event_loop_bars_are_delivered_within_the_batch(tmp_path: Path) -> None:
    h = Harness(
        [{"name": "rec", "class": "minute", "instruments": ["AAA"]}], tmp_path, builtins=CLASSES
    )
    await h.manager.start()
    recorder = h.manager.strategy("rec")
    dispatch = h.manager.dispatch

    def publish_without_loop() -> None:
        dispatch.on_ticks([make_tick(101, 100.0, h.at(0, 5), 1000)])
        dispatch.on_ticks([make_tick(101, 101.0, h.at(1, 5), 1100)])

    import threading

    worker = threading.Thread(target=publish_without_loop)
    worker.start()
    worker.join()
    assert [(e[0], e[1]) for e in recorder.log if e[0] == "bar"] == [("bar", "1m")]
    assert dispatch.bars_pending == 0


class FailsFirst(Recorder):
    """Raises on its first bar; listed before the others, who must still get that bar."""

    timeframes = ("1m",)

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        raise RuntimeError("bad first bar")


async def test_a_raising_on_bar_fails_only_its_strategy_and_every_callback_is_timed(
    tmp_path: Path,
) -> None:
    h = Harness(
        [
            {"name": "bad", "class": "bad", "instruments": ["AAA", "BBB"]},
            {"name": "rec", "class": "minute", "instruments": ["AAA", "BBB"]},
        ],
        tmp_path,
        builtins={"bad": FailsFirst, "minute": MinuteRecorder},
        fill=False,
    )
    await h.manager.start()
    for minute in range(4):
        h.bus.publish_ticks(
            [make_tick(t, 100.0 + minute, h.at(minute, 5), 1000) for t in (101, 102)]
        )
        await h.settle()
    assert h.manager.state("bad").value == "failed"
    assert len(h.manager.strategy("bad").bars) == 1
    recorder = h.manager.strategy("rec")
    assert [(b.instrument_token, b.close) for b in recorder.bars] == [
        (token, 100.0 + minute) for minute in range(3) for token in (101, 102)
    ]
    h.manager.dispatch.fold_latency()
    slots = h.manager._slots
    # One sample per delivered callback (8 ticks + 6 bars); none for the call that raised.
    assert slots["rec"].latency.count == 8 + 6
    # The first bars close after the second batch's on_tick calls: 2 + 2 samples, none for the bar.
    assert slots["bad"].latency.count == 4
    assert all(0 < s < 1 for s in slots["rec"].latency.recent)


@pytest.mark.usefixtures("one_bar_per_chunk")
async def test_latency_fold_waits_until_the_queued_bars_are_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch_module, "FOLD_EVERY_TICKS", 1)
    h = Harness(
        [{"name": "rec", "class": "minute", "instruments": list(SYMBOLS)}],
        tmp_path,
        symbols=SYMBOLS,
        builtins=CLASSES,
    )
    await h.manager.start()
    dispatch = h.manager.dispatch
    pending_at_fold: list[int] = []
    fold = dispatch.fold_latency
    monkeypatch.setattr(
        dispatch, "fold_latency", lambda: (pending_at_fold.append(dispatch.bars_pending), fold())
    )
    h.bus.publish_ticks([make_tick(t, 100.0, h.at(0, 5), 1000) for t in TOKENS])
    await h.settle()
    # Twelve bars close at once, one per loop turn: the fold this batch asked for comes after them.
    h.bus.publish_ticks([make_tick(t, 101.0, h.at(1, 5), 1100) for t in TOKENS])
    await h.settle()
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(h.manager.strategy("rec").bars) == len(TOKENS)
    assert pending_at_fold and set(pending_at_fold) == {0}


class BatchRecorder(Recorder):
    """Takes bars through ``on_bars``: logs each bar of each batch, and each batch."""

    timeframes = tuple(TIMEFRAMES)

    def on_start(self) -> None:
        super().on_start()
        self.batches: list[BarBatch] = []

    def on_bars(self, bars: BarBatch) -> None:
        self.batches.append(bars)
        for bar in bars:
            self.bars.append(bar)
            self.log.append(("bar", bar.timeframe, bar.instrument_token, bar.start_ns))


class BrokenOnBars(BatchRecorder):
    """Fails on its second batch."""

    def on_bars(self, bars: BarBatch) -> None:
        super().on_bars(bars)
        if len(self.batches) == 2:
            raise RuntimeError("bad batch")


BATCH_CLASSES = {**CLASSES, "batch": BatchRecorder, "broken_batch": BrokenOnBars}


def per_instrument(log: list[Event]) -> dict[tuple[str, int], list[Event]]:
    """Each (timeframe, instrument)'s bars in the order received, and each batch's ticks."""
    out: dict[tuple[str, int], list[Event]] = {}
    for event in log:
        if event[0] == "bar":
            out.setdefault((event[1], event[2]), []).append(event)
    return out


@pytest.mark.usefixtures("one_bar_per_chunk")
async def test_a_batch_strategy_gets_every_bar_once_by_bucket_before_the_next_batch(
    tmp_path: Path,
) -> None:
    instruments = list(reversed(SYMBOLS[2:]))
    entries = [
        {"name": "batch", "class": "batch", "instruments": instruments},
        {"name": "all", "class": "all", "instruments": instruments},
        {"name": "broken", "class": "broken_batch", "instruments": list(SYMBOLS)},
    ]
    h = Harness(entries, tmp_path, symbols=SYMBOLS, builtins=BATCH_CLASSES)
    await h.manager.start()
    batch, per_bar, broken = (h.manager.strategy(e["name"]) for e in entries)
    ticks = batches()
    for number, tick_batch in enumerate(ticks):
        for strategy in (batch, per_bar):
            strategy.batch = number
        h.bus.publish_ticks(tick_batch)
        if number % 3 == 0:
            await h.settle()
    await h.settle()

    tokens = {TOKENS[SYMBOLS.index(s)] for s in instruments}
    expected = expected_log(ticks, tokens, BatchRecorder.timeframes)
    # The same ticks and bars as a per-bar strategy, each bar after the ticks of the batch that
    # closed it and before the next batch's; only the order across instruments may differ.
    assert sorted(batch.log) == sorted(expected) == sorted(per_bar.log)
    assert per_instrument(batch.log) == per_instrument(expected)
    ticks_seen = [i for i, e in enumerate(batch.log) if e[0] == "tick"]
    for i, j in itertools.pairwise(ticks_seen):
        closed_between = {e[1:] for e in batch.log[i + 1 : j]}
        assert closed_between == {
            e[1:] for e in expected_between(expected, batch.log[i], batch.log[j])
        }
    assert len(batch.batches) < len(batch.bars) / 2
    for one in batch.batches:
        assert len(set(one.tokens.tolist())) == len(one)  # each instrument once
        assert {b.start_ns for b in one} == {one.start_ns}
        assert {b.timeframe for b in one} == {one.timeframe}
        rows = [instruments.index(SYMBOLS[TOKENS.index(t)]) for t in one.tokens.tolist()]
        assert one.index.tolist() == rows
    assert h.manager.state("broken").value == "failed"
    assert len(broken.batches) == 2
    assert "on_bars: RuntimeError: bad batch" in h.manager.views()[2].last_error
    assert any("strategy broken failed in on_bars" in a[2] for a in h.alerts)


def expected_between(expected: list[Event], first: Event, second: Event) -> list[Event]:
    """The bars ``expected`` has between two tick events (both unique: batch number, token)."""
    start, end = expected.index(first), expected.index(second)
    return [e for e in expected[start + 1 : end] if e[0] == "bar"]


async def test_each_on_bars_call_is_one_latency_sample(tmp_path: Path) -> None:
    h = Harness(
        [{"name": "batch", "class": "batch", "instruments": ["AAA", "BBB", "CCC"]}],
        tmp_path,
        builtins=BATCH_CLASSES,
    )
    await h.manager.start()
    for minute in range(4):
        h.bus.publish_ticks([make_tick(t, 100.0, h.at(minute, 5), 1000) for t in (101, 102, 103)])
        await h.settle()
    recorder = h.manager.strategy("batch")
    # Three minutes closed, three bars each: one call (and one sample) per minute.
    assert [len(b) for b in recorder.batches] == [3, 3, 3]
    h.manager.dispatch.fold_latency()
    assert h.manager._slots["batch"].latency.count == 12 + 3  # 12 on_tick, 3 on_bars
