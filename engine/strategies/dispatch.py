"""The hot path of the strategy manager: ticks → bars → ``on_bar``, and ticks → ``on_tick``.

Each tick costs one dict lookup when no strategy trades its instrument. Bars are
built once per timeframe for every strategy that subscribed. Every callback is
timed and guarded: an exception goes to ``on_error`` and the loop carries on with
the next strategy. Timing chains one ``perf_counter`` reading per callback (the end
of one call starts the next), so a sample also holds the dispatcher's own step to
the call (a lookup, ~0.1 µs); samples are appended and folded in bulk.

Bars closed by a batch are *not* delivered inside it. At a minute boundary one
batch closes a bar for every instrument (100 instruments × strategies = hundreds
of ``on_bar`` calls); run inline they held back every order of that batch and
every later hot-path stage by milliseconds. They are queued instead and delivered
from the event loop right after the batch, in chunks of at most
:data:`BAR_CHUNK_S`: the orders the batch's ``on_tick`` calls sent go out first,
and each chunk's orders reach the gateway before the next chunk starts. Order is
kept: bars are delivered in the order they closed, and every bar closed by one
batch is delivered before any tick of the next batch (a batch arriving while bars
are still queued delivers them first).

A strategy that overrides ``on_bars`` gets the bars of one timeframe and bucket
as one :class:`~engine.strategies.batch.BarBatch` instead: one call per strategy
per bucket, timed as one sample (the batch's view of the bars is built inside
the timing, it is that strategy's work). Batch calls go out before the per-bar
calls of the same close, in one chunk unless they pass :data:`BAR_CHUNK_S`: ending
the chunk after each strategy's orders would let the gateway's acknowledgements of
them in ahead of the next strategy's work.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from time import perf_counter

from engine.model import Tick
from engine.strategies.bars import TIMEFRAMES, Bar, BarAggregator
from engine.strategies.base import Strategy, StrategyState
from engine.strategies.batch import BarBatch, BarColumns, InstrumentIndex, buckets, select
from engine.strategies.slot import StrategySlot

TickTarget = tuple[StrategySlot, Callable[[Tick], None], Callable[[float], None]]
BarTarget = tuple[StrategySlot, Callable[[Bar], None], Callable[[float], None]]
BatchTarget = tuple[
    StrategySlot, Callable[[BarBatch], None], Callable[[float], None], InstrumentIndex
]
_RUNNING = StrategyState.RUNNING
FOLD_EVERY_TICKS = 20_000
"""Pending latency samples are folded after this many ticks (the manager's timer folds sooner)."""
BAR_CHUNK_S = 0.0005
"""Time spent in ``on_bar`` calls before the drain yields to the loop (orders go out).

Smaller sends the first bar orders sooner but lets more acknowledgement work in ahead of the last."""


class TickDispatcher:
    """Subscriber tables by instrument token, the shared bar aggregators, and the guarded calls."""

    def __init__(
        self,
        budget_s: float,
        on_error: Callable[[StrategySlot, BaseException, str], None],
        on_slow: Callable[[StrategySlot, float], None],
    ) -> None:
        self.budget_s = budget_s
        self._fail = on_error
        self._on_slow = on_slow
        self._slots: list[StrategySlot] = []
        self._aggregators = {tf: BarAggregator(tf) for tf in TIMEFRAMES}
        # Tables are mutated in place so a hot-path loop already holding them sees changes.
        self._tick_subs: dict[int, tuple[TickTarget, ...]] = {}
        self._bar_subs: dict[tuple[str, int], tuple[BarTarget, ...]] = {}
        self._batch_subs: dict[str, tuple[BatchTarget, ...]] = {}
        self._feeds: dict[int, tuple[BarAggregator, ...]] = {}
        self._unfolded = 0
        self._bars: deque[Bar] = deque()
        self._batches: deque[tuple[BatchTarget, BarColumns]] = deque()
        self._drain: asyncio.Handle | None = None

    @property
    def bars_pending(self) -> int:
        """Deliveries not yet made: bars queued for ``on_bar``, buckets for ``on_bars``."""
        return len(self._bars) + len(self._batches)

    @property
    def fed_tokens(self) -> frozenset[int]:
        """Instruments whose ticks build bars."""
        return frozenset(self._feeds)

    def on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Bus hot-path stage: build bars, call ``on_tick``; returns the batch unchanged."""
        subs = self._tick_subs
        feeds = self._feeds
        if not subs and not feeds:
            return ticks
        if self._bars or self._batches:
            self.deliver_bars()
        budget = self.budget_s
        clock = perf_counter
        closed_bars: list[Bar] = []
        closed = closed_bars.append
        for tick in ticks:
            token = tick.instrument_token
            aggregators = feeds.get(token)
            if aggregators is not None:
                for aggregator in aggregators:
                    bar = aggregator.update(tick)
                    if bar is not None:
                        closed(bar)
            targets = subs.get(token)
            if targets is None:
                continue
            started = clock()
            for slot, on_tick, record in targets:
                try:
                    on_tick(tick)
                except Exception as exc:
                    self._fail(slot, exc, "on_tick")
                    started = clock()
                    continue
                ended = clock()
                elapsed = ended - started
                record(elapsed)
                if elapsed > budget:
                    self._on_slow(slot, elapsed)
                    ended = clock()
                started = ended
        if closed_bars:
            self._queue(closed_bars)
            if self._drain is None:
                self._schedule_drain()
        self._unfolded += len(ticks)
        if self._unfolded > FOLD_EVERY_TICKS:
            # Folding is numpy work of ~1 ms per 10k samples: after the batch's orders, not before.
            self._unfolded = 0
            self._later(self._fold_after_bars)
        return ticks

    def _queue(self, closed: list[Bar]) -> None:
        """Queue bars closed together: by bucket for ``on_bars``, one by one for ``on_bar``."""
        batch_subs = self._batch_subs
        if batch_subs:
            batches = self._batches
            for columns in buckets(closed, batch_subs):
                for target in batch_subs[columns.timeframe]:
                    batches.append((target, columns))
        subs = self._bar_subs
        if subs:
            self._bars.extend(b for b in closed if (b.timeframe, b.instrument_token) in subs)

    def deliver_bars(self) -> None:
        """Deliver every queued bar now, in order (before a new batch, at a flush, on stop)."""
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        self._dispatch_bars(None)

    def _schedule_drain(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # Fed outside an event loop (a script, a thread): nothing could run between chunks.
            self.deliver_bars()
            return
        self._drain = loop.call_soon(self._drain_chunk)

    @staticmethod
    def _later(callback: Callable[[], None]) -> None:
        """Run ``callback`` on the next loop turn, or now when fed outside an event loop."""
        try:
            asyncio.get_running_loop().call_soon(callback)
        except RuntimeError:
            callback()

    def _drain_chunk(self) -> None:
        self._drain = None
        try:
            self._dispatch_bars(BAR_CHUNK_S)
        finally:
            if (self._bars or self._batches) and self._drain is None:
                # Queued behind the sender tasks this chunk spawned: its orders go out first.
                self._schedule_drain()

    def _fold_after_bars(self) -> None:
        """Fold once no bar is queued: never between a minute close's bar chunks."""
        if (self._bars or self._batches) and self._drain is not None:
            asyncio.get_running_loop().call_soon(self._fold_after_bars)
            return
        self.fold_latency()

    def fold_latency(self) -> None:
        """Bucket every strategy's pending latency samples (bounded memory, cheap hot path)."""
        self._unfolded = 0
        for slot in self._slots:
            slot.latency.fold()

    def _dispatch_bars(self, limit_s: float | None) -> None:
        """Deliver queued buckets, then queued bars in order; stop after ``limit_s`` if given.

        Checked after each call: a close's batch calls run in one chunk unless they
        take longer than ``limit_s`` together (their orders then go out between chunks).
        """
        budget = self.budget_s
        clock = perf_counter
        started = clock()
        deadline = float("inf") if limit_s is None else started + limit_s
        batches = self._batches
        while batches:
            (slot, on_bars, record, index), columns = batches.popleft()
            if slot.state is not _RUNNING:
                continue
            try:
                batch = select(columns, index)
                if batch is None:
                    continue  # none of its instruments closed a bar in this bucket
                on_bars(batch)
            except Exception as exc:
                self._fail(slot, exc, "on_bars")
                started = clock()
                continue
            ended = clock()
            elapsed = ended - started
            record(elapsed)
            if elapsed > budget:
                self._on_slow(slot, elapsed)
                ended = clock()
            started = ended
            if started >= deadline:
                return
        bars = self._bars
        subs = self._bar_subs
        while bars:
            bar = bars.popleft()
            for slot, on_bar, record in subs.get((bar.timeframe, bar.instrument_token), ()):
                if slot.state is not _RUNNING:
                    continue  # failed or stopped by an earlier call of this chunk
                try:
                    on_bar(bar)
                except Exception as exc:
                    self._fail(slot, exc, "on_bar")
                    started = clock()
                    continue
                ended = clock()
                elapsed = ended - started
                record(elapsed)
                if elapsed > budget:
                    self._on_slow(slot, elapsed)
                    ended = clock()
                started = ended
            if started >= deadline:
                return

    def flush_bars(self, now_ns: int, grace_ns: int) -> None:
        """Close bars whose period ended ``grace_ns`` before ``now_ns`` (quiet instruments).

        Runs on the manager's timer, not on the tick path, so it delivers at once
        (after any bar still queued, keeping the order bars closed in).
        """
        closed = [b for a in self._aggregators.values() for b in a.flush(now_ns, grace_ns)]
        if closed:
            self._queue(closed)
        self.deliver_bars()

    def rebuild(self, slots: Iterable[StrategySlot]) -> None:
        """Recompute the dispatch tables from the running strategies and their subscriptions."""
        self._slots = list(slots)
        ticks: dict[int, list[TickTarget]] = {}
        bars: dict[tuple[str, int], list[BarTarget]] = {}
        batched: dict[str, list[BatchTarget]] = {}
        indexes: dict[tuple[int, ...], InstrumentIndex] = {}  # shared rows per bucket
        fed: dict[int, set[str]] = {}
        for slot in self._slots:
            if not slot.running:
                continue
            kind = type(slot.strategy)
            wants_ticks = kind.on_tick is not Strategy.on_tick
            wants_batches = kind.on_bars is not Strategy.on_bars
            record = slot.latency.samples.append
            tick_target = (slot, slot.strategy.on_tick, record)
            bar_target = (slot, slot.strategy.on_bar, record)
            if wants_batches and slot.timeframes:
                tokens = tuple(i.instrument_token for i in slot.instruments)
                index = indexes.get(tokens)
                if index is None:
                    index = indexes[tokens] = InstrumentIndex(tokens)
                for tf in slot.timeframes:
                    batched.setdefault(tf, []).append((slot, slot.strategy.on_bars, record, index))
            for token in slot.by_token:
                if wants_ticks:
                    ticks.setdefault(token, []).append(tick_target)
                for tf in slot.timeframes:
                    if not wants_batches:
                        bars.setdefault((tf, token), []).append(bar_target)
                    fed.setdefault(token, set()).add(tf)
        for token, timeframes in self._fed_timeframes().items():
            for tf in timeframes - fed.get(token, set()):
                self._aggregators[tf].forget(token)
        self._tick_subs.clear()
        self._tick_subs.update({t: tuple(s) for t, s in ticks.items()})
        self._bar_subs.clear()
        self._bar_subs.update({k: tuple(s) for k, s in bars.items()})
        self._batch_subs.clear()
        self._batch_subs.update({tf: tuple(s) for tf, s in batched.items()})
        self._feeds.clear()
        self._feeds.update(
            {t: tuple(self._aggregators[tf] for tf in sorted(tfs)) for t, tfs in fed.items()}
        )

    def _fed_timeframes(self) -> dict[int, set[str]]:
        return {t: {a.timeframe for a in aggs} for t, aggs in self._feeds.items()}
