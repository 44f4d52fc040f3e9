"""The hot path of the strategy manager: ticks → bars → ``on_bar``, and ticks → ``on_tick``.

Each tick costs one dict lookup when no strategy trades its instrument. Bars are
built once per timeframe for every strategy that subscribed. Every callback is
timed (``perf_counter`` pairs, samples appended and folded in bulk) and guarded:
an exception goes to ``on_error`` and the loop carries on with the next strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from time import perf_counter

from engine.model import Tick
from engine.strategies.bars import TIMEFRAMES, Bar, BarAggregator
from engine.strategies.base import Strategy
from engine.strategies.slot import StrategySlot

TickTarget = tuple[StrategySlot, Callable[[Tick], None], Callable[[float], None]]
FOLD_EVERY_TICKS = 200_000


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
        self._bar_subs: dict[tuple[str, int], tuple[StrategySlot, ...]] = {}
        self._feeds: dict[int, tuple[BarAggregator, ...]] = {}
        self._unfolded = 0

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
        budget = self.budget_s
        clock = perf_counter
        for tick in ticks:
            token = tick.instrument_token
            aggregators = feeds.get(token)
            if aggregators is not None:
                for aggregator in aggregators:
                    bar = aggregator.update(tick)
                    if bar is not None:
                        self._dispatch_bar(bar)
            targets = subs.get(token)
            if targets is None:
                continue
            for slot, on_tick, record in targets:
                started = clock()
                try:
                    on_tick(tick)
                except Exception as exc:
                    self._fail(slot, exc, "on_tick")
                    continue
                elapsed = clock() - started
                record(elapsed)
                if elapsed > budget:
                    self._on_slow(slot, elapsed)
        self._unfolded += len(ticks)
        if self._unfolded > FOLD_EVERY_TICKS:
            self.fold_latency()
        return ticks

    def fold_latency(self) -> None:
        """Bucket every strategy's pending latency samples (bounded memory, cheap hot path)."""
        self._unfolded = 0
        for slot in self._slots:
            slot.latency.fold()

    def _dispatch_bar(self, bar: Bar) -> None:
        for slot in self._bar_subs.get((bar.timeframe, bar.instrument_token), ()):
            if not slot.running:
                continue
            started = perf_counter()
            try:
                slot.strategy.on_bar(bar)
            except Exception as exc:
                self._fail(slot, exc, "on_bar")
                continue
            elapsed = perf_counter() - started
            slot.latency.samples.append(elapsed)
            if elapsed > self.budget_s:
                self._on_slow(slot, elapsed)

    def flush_bars(self, now_ns: int, grace_ns: int) -> None:
        """Close bars whose period ended ``grace_ns`` before ``now_ns`` (quiet instruments)."""
        for aggregator in self._aggregators.values():
            for bar in aggregator.flush(now_ns, grace_ns):
                self._dispatch_bar(bar)

    def rebuild(self, slots: Iterable[StrategySlot]) -> None:
        """Recompute the dispatch tables from the running strategies and their subscriptions."""
        self._slots = list(slots)
        ticks: dict[int, list[TickTarget]] = {}
        bars: dict[tuple[str, int], list[StrategySlot]] = {}
        fed: dict[int, set[str]] = {}
        for slot in self._slots:
            if not slot.running:
                continue
            wants_ticks = type(slot.strategy).on_tick is not Strategy.on_tick
            for token in slot.by_token:
                if wants_ticks:
                    target = (slot, slot.strategy.on_tick, slot.latency.samples.append)
                    ticks.setdefault(token, []).append(target)
                for tf in slot.timeframes:
                    bars.setdefault((tf, token), []).append(slot)
                    fed.setdefault(token, set()).add(tf)
        for token, timeframes in self._fed_timeframes().items():
            for tf in timeframes - fed.get(token, set()):
                self._aggregators[tf].forget(token)
        self._tick_subs.clear()
        self._tick_subs.update({t: tuple(s) for t, s in ticks.items()})
        self._bar_subs.clear()
        self._bar_subs.update({k: tuple(s) for k, s in bars.items()})
        self._feeds.clear()
        self._feeds.update(
            {t: tuple(self._aggregators[tf] for tf in sorted(tfs)) for t, tfs in fed.items()}
        )

    def _fed_timeframes(self) -> dict[int, set[str]]:
        return {t: {a.timeframe for a in aggs} for t, aggs in self._feeds.items()}
