"""Fault injection for the mock feed's bad-data scenario.

At a configured rate, a clean tick is turned into one carrying exactly one named
fault; the name is the quality check meant to catch it (``engine.quality.names``).
Faults are isolated: the tick after a corrupted one, for the same instrument,
is always left clean, so every fault is judged against clean history and the
``prev`` a fault is built from is a tick the consumer really received.

Silence faults (``stale_instrument``, ``feed_gap``) cannot be made by corrupting
a tick; a feed makes them by not sending.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
from msgspec.structs import replace

from engine.clock import NS_PER_SECOND
from engine.model import Instrument, MarketDay, Tick
from engine.quality import names

FAULT_KINDS: tuple[str, ...] = (
    names.UNKNOWN_INSTRUMENT,
    names.MISSING_FIELDS,
    names.PRICE_INVALID,
    names.CIRCUIT_BREACH,
    names.LTP_OUTSIDE_RANGE,
    names.OHLC_INCONSISTENT,
    names.OFF_TICK_GRID,
    names.CROSSED_BOOK,
    names.WIDE_SPREAD,
    names.TS_FUTURE,
    names.CLOCK_SKEW,
    names.TS_OUT_OF_ORDER,
    names.VOLUME_DECREASE,
    names.LAST_QTY_EXCEEDS_VOLUME,
    names.VOLUME_JUMP,
    names.DUPLICATE_TICK,
    names.DEPTH_UNSORTED,
    names.PRICE_SPIKE,
)
"""Every fault the injector can make, named after the check that catches it."""

SPIKE_PCT = 10.0
"""Size of an injected spike, percent of LTP: far beyond any clean tick-to-tick move."""

_DEFAULT_TICK = 0.05

Fault = Callable[[Tick, "Tick | None", Instrument, "MarketDay | None"], "Tick | None"]


class FaultInjector:
    """Corrupts ticks at ``rate`` with one fault each, chosen uniformly from ``kinds``.

    A chosen fault that cannot be applied to the tick at hand (a crossed book on an
    index with no depth, a sequence fault on an instrument's first tick) leaves
    the tick clean. ``counts`` records the faults actually injected.
    """

    def __init__(
        self,
        rate: float,
        rng: np.random.Generator,
        instruments: dict[int, Instrument],
        days: dict[int, MarketDay],
        kinds: Iterable[str] | None = None,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {rate}")
        self.rate = rate
        self.kinds: tuple[str, ...] = tuple(kinds) if kinds is not None else FAULT_KINDS
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.counts: dict[str, int] = dict.fromkeys(self.kinds, 0)
        self._rng = rng
        self._instruments = instruments
        self._days = days
        self._stranger = max(instruments, default=0) + 1_000_003
        self._cooling: set[int] = set()
        self._faults: dict[str, Fault] = {
            names.UNKNOWN_INSTRUMENT: self._unknown_instrument,
            names.MISSING_FIELDS: self._missing_fields,
            names.PRICE_INVALID: self._price_invalid,
            names.CIRCUIT_BREACH: self._circuit_breach,
            names.LTP_OUTSIDE_RANGE: _ltp_outside_range,
            names.OHLC_INCONSISTENT: _ohlc_inconsistent,
            names.OFF_TICK_GRID: _off_tick_grid,
            names.CROSSED_BOOK: _crossed_book,
            names.WIDE_SPREAD: _wide_spread,
            names.TS_FUTURE: _ts_future,
            names.CLOCK_SKEW: _clock_skew,
            names.TS_OUT_OF_ORDER: _ts_out_of_order,
            names.VOLUME_DECREASE: _volume_decrease,
            names.LAST_QTY_EXCEEDS_VOLUME: _last_qty_exceeds_volume,
            names.VOLUME_JUMP: _volume_jump,
            names.DUPLICATE_TICK: _duplicate_tick,
            names.DEPTH_UNSORTED: _depth_unsorted,
            names.PRICE_SPIKE: _price_spike,
        }

    def maybe_corrupt(self, tick: Tick, prev: Tick | None) -> tuple[Tick, str | None]:
        """Return ``(tick, None)`` or ``(corrupted tick, fault name)``.

        ``prev`` is the previous tick of the same instrument as the feed sent it.
        """
        token = tick.instrument_token
        if token in self._cooling:
            self._cooling.discard(token)
            return tick, None
        if self.rate <= 0.0 or self._rng.random() >= self.rate:
            return tick, None
        instrument = self._instruments.get(token)
        if instrument is None:
            return tick, None
        kind = self.kinds[int(self._rng.integers(len(self.kinds)))]
        bad = self._faults[kind](tick, prev, instrument, self._days.get(token))
        if bad is None:
            return tick, None
        self._cooling.add(token)
        self.counts[kind] += 1
        return bad, kind

    def _unknown_instrument(
        self, t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
    ) -> Tick | None:
        return replace(t, instrument_token=self._stranger)

    def _missing_fields(
        self, t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
    ) -> Tick | None:
        options = ["exchange_ts_ns", "close"]
        if t.volume > 0:
            options.append("high")
        field = options[int(self._rng.integers(len(options)))]
        return replace(t, **{field: 0 if field == "exchange_ts_ns" else 0.0})

    def _price_invalid(
        self, t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
    ) -> Tick | None:
        bad = (math.nan, 0.0, -t.ltp, math.inf)[int(self._rng.integers(4))]
        return replace(t, ltp=bad)

    def _circuit_breach(
        self, t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
    ) -> Tick | None:
        if day is None or day.upper_circuit <= 0.0:
            return None
        size = _tick(inst)
        steps = int(self._rng.integers(1, 5))
        if self._rng.random() < 0.5 or day.lower_circuit - steps * size <= 0.0:
            price = _snap(day.upper_circuit + steps * size, size)
        else:
            price = _snap(day.lower_circuit - steps * size, size)
        return _with_ltp(t, price)


def _tick(inst: Instrument) -> float:
    return inst.tick_size if inst.tick_size > 0.0 else _DEFAULT_TICK


def _snap(price: float, size: float) -> float:
    """The grid price nearest ``price``, computed as the model's grid check expects."""
    return round(price / size) * size


def _with_ltp(t: Tick, price: float) -> Tick:
    """Move LTP and stretch the day range over it, so only the intended check fires."""
    return replace(
        t,
        ltp=price,
        high=max(t.high, price),
        low=min(t.low, price) if t.low > 0.0 else price,
    )


def _inside_circuit(price: float, day: MarketDay | None) -> bool:
    if day is None:
        return True
    if day.lower_circuit > 0.0 and price < day.lower_circuit:
        return False
    return not (day.upper_circuit > 0.0 and price > day.upper_circuit)


def _ltp_outside_range(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    # Pull the range in past LTP while keeping the open inside it.
    if t.high <= 0.0 or t.low <= 0.0:
        return None
    below = max(t.open, t.low)
    if below < t.ltp:
        return replace(t, high=below)
    above = min(t.open, t.high)
    if above > t.ltp:
        return replace(t, low=above)
    return None


def _ohlc_inconsistent(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if t.high <= 0.0:
        return None
    return replace(t, open=_snap(t.high + 2 * _tick(inst), _tick(inst)))


def _off_tick_grid(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if inst.tick_size <= 0.0:
        return None
    half = inst.tick_size / 2.0
    for price in (t.ltp - half, t.ltp + half):
        if price > 0.0 and t.low <= price <= t.high and _inside_circuit(price, day):
            return replace(t, ltp=price)
    for price in (t.ltp - half, t.ltp + half):
        if price > 0.0 and _inside_circuit(price, day):
            return _with_ltp(t, price)
    return None


def _crossed_book(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if not t.bid_px or not t.ask_px or t.bid_px[0] <= 0.0 or t.ask_px[0] <= 0.0:
        return None
    size = _tick(inst)
    shift = t.ask_px[0] - t.bid_px[0] + size
    asks = tuple(_snap(a - shift, size) if a > 0.0 else a for a in t.ask_px)
    if asks[0] <= 0.0:
        return None
    return replace(t, ask_px=asks)


def _wide_spread(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if not t.bid_px or not t.ask_px or t.bid_px[0] <= 0.0 or t.ask_px[0] <= 0.0:
        return None
    size = _tick(inst)
    widen = _snap(max(0.05 * t.ask_px[0], 100 * size), size)
    return replace(t, ask_px=tuple(_snap(a + widen, size) if a > 0.0 else a for a in t.ask_px))


def _depth_unsorted(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    # Swap levels 2 and 3 (best level untouched, so the spread checks stay quiet).
    for side in ("bid", "ask"):
        px = getattr(t, f"{side}_px")
        if len(px) >= 3 and px[1] > 0.0 and px[2] > 0.0:
            changes = {}
            for part in ("px", "qty", "orders"):
                levels = list(getattr(t, f"{side}_{part}"))
                if len(levels) >= 3:
                    levels[1], levels[2] = levels[2], levels[1]
                changes[f"{side}_{part}"] = tuple(levels)
            return replace(t, **changes)
    return None


def _ts_future(t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None) -> Tick | None:
    return replace(t, exchange_ts_ns=max(t.exchange_ts_ns, t.received_ns) + 60 * NS_PER_SECOND)


def _clock_skew(t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None) -> Tick | None:
    # The local clock jumps ahead: exchange time stays in order, the lag grows.
    if not t.received_ns:
        return None
    return replace(t, received_ns=t.received_ns + 30 * NS_PER_SECOND)


def _ts_out_of_order(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if prev is None or prev.exchange_ts_ns <= NS_PER_SECOND:
        return None
    return replace(t, exchange_ts_ns=prev.exchange_ts_ns - NS_PER_SECOND)


def _volume_decrease(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    # A small step back, so the next clean tick's volume change stays ordinary.
    if prev is None or prev.volume <= 0:
        return None
    return replace(t, volume=max(0, prev.volume - max(1, inst.lot_size)))


def _last_qty_exceeds_volume(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if prev is None:
        return None
    change = t.volume - prev.volume
    if change <= 0:
        return None
    return replace(t, last_qty=2 * change + 1)


def _volume_jump(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if prev is None or prev.volume <= 0 or not inst.tradable:
        return None
    usual = max(t.volume - prev.volume, t.last_qty, inst.lot_size, 1)
    return replace(t, volume=t.volume + max(t.volume // 2, 1000 * usual))


def _duplicate_tick(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    if prev is None:
        return None
    return replace(prev, received_ns=t.received_ns)


def _price_spike(
    t: Tick, prev: Tick | None, inst: Instrument, day: MarketDay | None
) -> Tick | None:
    size = _tick(inst)
    move = math.ceil(t.ltp * SPIKE_PCT / 100.0 / size) * size
    for price in (t.ltp + move, t.ltp - move):
        price = _snap(price, size)
        if price > 0.0 and _inside_circuit(price, day):
            return _with_ltp(t, price)
    return None
