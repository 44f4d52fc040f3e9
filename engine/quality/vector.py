"""The stateless half of the screen, run with numpy over a :class:`ColumnarTicks` batch.

It is :mod:`engine.quality.screen` by columns: the same conditions and thresholds,
one array operation per condition for the whole batch instead of one Python
comparison per tick. Like the scalar screen it is conservative: a row it passes
cannot fire any stateless check; a row it stops goes through the monitor's
per-tick path, which alone decides what fired. Per-instrument thresholds live in
arrays indexed by the instrument's slot, copied from the instrument states.

The screen also keeps, per slot, the state clean ticks change (tick count, reference
tick, last seen, the learners' fields, the spike window as a ring). On the columnar
path these arrays are the source of truth: a clean batch updates them and marks the
slots ``dirty``; :meth:`VectorScreen.store` writes dirty slots back to the instrument
states before anything reads those (the monitor's per-tick path, reports, sweeps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.checks.spike import PriceSpike
from engine.quality.columns import TickColumns
from engine.quality.state import InstrumentState


class VectorScreen:
    """Slots of the watched instruments and the batch-wide stateless screen."""

    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.window_size: int = checks[names.PRICE_SPIKE].size  # type: ignore[attr-defined]
        self.half_pct: float = checks[names.WIDE_SPREAD].half_pct  # type: ignore[attr-defined]
        self.future_ns: int = checks[names.TS_FUTURE].tolerance_ns  # type: ignore[attr-defined]
        self.max_lag_ns: int = checks[names.CLOCK_SKEW].max_lag_ns  # type: ignore[attr-defined]
        self.states: np.ndarray = np.empty(0, dtype=object)
        self._keys = np.empty(0, dtype=np.int64)
        self._slot_of_key = np.empty(0, dtype=np.int64)
        self._n = 0
        empty = np.empty(0)
        self.tick_size = self.circuit_lo = self.circuit_hi = self.spike_min_pct = empty
        self.range_tol = self.spread_floor = empty

    def load(self, states: Sequence[InstrumentState]) -> None:
        """Take the slots and thresholds of ``states`` (after their checks prepared them)."""
        n = len(states)
        self._n = n
        self.states = np.empty(n, dtype=object)
        self.states[:] = list(states)
        for slot, state in enumerate(states):
            state.slot = slot
        tokens = np.array([s.token for s in states], dtype=np.int64)
        order = np.argsort(tokens, kind="stable")
        self._keys = tokens[order]
        self._slot_of_key = order

        def col(field: str) -> np.ndarray:
            return np.array([getattr(s, field) for s in states], dtype=np.float64)

        self.tick_size = col("tick_size")
        self.spike_min_pct = col("spike_min_pct")
        self.circuit_lo = col("circuit_lo")
        self.circuit_hi = col("circuit_hi")
        self.range_tol = col("range_tol")
        self.spread_floor = col("spread_floor")
        self.spike_lo = col("spike_lo")
        self.spike_hi = col("spike_hi")
        self.dv_ewma = col("dv_ewma")
        self.dv_n = np.array([s.dv_n for s in states], dtype=np.int64)
        prevs = [s.prev for s in states]
        self.has_prev = np.array([p is not None for p in prevs], dtype=bool)

        def prev_col(field: str, dtype: type) -> np.ndarray:
            return np.array([0 if p is None else getattr(p, field) for p in prevs], dtype=dtype)

        self.prev_ts = prev_col("exchange_ts_ns", np.int64)
        self.prev_volume = prev_col("volume", np.int64)
        self.prev_trade_ts = prev_col("last_trade_ts_ns", np.int64)
        self.prev_ltp = prev_col("ltp", np.float64)
        self.prev_tick = np.empty(n, dtype=object)
        self.prev_tick[:] = prevs
        self.ticks = np.array([s.ticks for s in states], dtype=np.int64)
        self.last_seen = np.array([s.last_seen_ns for s in states], dtype=np.int64)
        self.due = np.array([s.due for s in states], dtype=np.int64)
        # The spike window as a ring: ``window_count`` prices appended so far (or the
        # window's length when loaded), the newest at ``(window_count - 1) % size``.
        self.window = np.zeros((n, self.window_size))
        self.window_count = np.zeros(n, dtype=np.int64)
        for slot, state in enumerate(states):
            self._load_window(slot, state.window)
        self.dirty = np.zeros(n, dtype=bool)
        """Slots whose arrays are newer than their instrument state."""

    def _load_window(self, slot: int, window: list[float]) -> None:
        last = window[-self.window_size :]
        self.window[slot, : len(last)] = last
        self.window_count[slot] = len(last)

    def reload(self, slot: int, window: bool = True) -> None:
        """Copy one instrument's state into the arrays after the scalar path judged its tick.

        ``window=False`` when the tick could not have changed the spike window.
        """
        state: InstrumentState = self.states[slot]
        self.spike_lo[slot] = state.spike_lo
        self.spike_hi[slot] = state.spike_hi
        self.dv_ewma[slot] = state.dv_ewma
        self.dv_n[slot] = state.dv_n
        self.ticks[slot] = state.ticks
        self.last_seen[slot] = state.last_seen_ns
        self.due[slot] = state.due
        if window:
            self._load_window(slot, state.window)
        prev = state.prev
        self.prev_tick[slot] = prev
        self.has_prev[slot] = prev is not None
        if prev is not None:
            self.prev_ts[slot] = prev.exchange_ts_ns
            self.prev_volume[slot] = prev.volume
            self.prev_trade_ts[slot] = prev.last_trade_ts_ns
            self.prev_ltp[slot] = prev.ltp
        self.dirty[slot] = False

    def store(self, slots: np.ndarray) -> None:
        """Write the arrays of the dirty ones among ``slots`` back to their instrument states."""
        slots = slots[self.dirty[slots]]
        if not len(slots):
            return
        self.dirty[slots] = False
        size = self.window_size
        for state, ticks, seen, prev, mean, left, due, lo, hi, count, ring in zip(
            self.states[slots].tolist(),
            self.ticks[slots].tolist(),
            self.last_seen[slots].tolist(),
            self.prev_tick[slots].tolist(),
            self.dv_ewma[slots].tolist(),
            self.dv_n[slots].tolist(),
            self.due[slots].tolist(),
            self.spike_lo[slots].tolist(),
            self.spike_hi[slots].tolist(),
            self.window_count[slots].tolist(),
            self.window[slots].tolist(),
            strict=True,
        ):
            state.ticks = ticks
            state.last_seen_ns = seen
            state.prev = prev
            state.dv_ewma = mean
            state.dv_n = left
            state.due = due
            state.spike_lo = lo
            state.spike_hi = hi
            # The last ``size`` prices in order are all the spike check ever reads.
            if count <= size:
                state.window = ring[:count]
            else:
                at = count % size
                state.window = ring[at:] + ring[:at]

    def slots(self, tokens: np.ndarray) -> np.ndarray | None:
        """Slot of every token, or ``None`` if any token is unknown or repeats in the batch."""
        keys = self._keys
        if not len(keys):
            return None
        at = np.searchsorted(keys, tokens)
        np.minimum(at, len(keys) - 1, out=at)
        if not np.array_equal(keys[at], tokens):
            return None
        slots = self._slot_of_key[at]
        # Sequence checks compare with the instrument's previous tick: with one row per
        # instrument, every row's reference is the state before the batch.
        if len(slots) > 1 and np.bincount(slots, minlength=self._n).max() > 1:
            return None
        return slots

    def known_slots(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slot of every token (repeats allowed; 0 for an unknown one) and which are known."""
        keys = self._keys
        if not len(keys):
            return np.zeros(len(tokens), dtype=np.int64), np.zeros(len(tokens), dtype=bool)
        at = np.searchsorted(keys, tokens)
        np.minimum(at, len(keys) - 1, out=at)
        known = keys[at] == tokens
        return np.where(known, self._slot_of_key[at], 0), known

    def passes(self, c: TickColumns, slot: np.ndarray, now_ns: int) -> np.ndarray:
        """Per row: ``True`` if no stateless check can fire on it."""
        price = c.ltp
        ts = c.exchange_ts_ns
        volume = c.volume
        open_ = c.open
        high = c.high
        low = c.low
        # missing_fields (scalars), price_invalid, circuit_breach
        ok = (ts > 0) & (c.close > 0.0) & (price > 0.0) & (price < np.inf)
        ok &= (self.circuit_lo[slot] <= price) & (price <= self.circuit_hi[slot])
        ok &= (volume == 0) | ((volume > 0) & (open_ > 0.0) & (high > 0.0) & (low > 0.0))
        # ltp_outside_range, ohlc_inconsistent
        tol = self.range_tol[slot]
        in_range = (low - tol <= price) & (price <= high + tol) & (low <= open_) & (open_ <= high)
        ok &= ~(high > 0.0) | in_range
        # off_tick_grid
        size = self.tick_size[slot]
        with np.errstate(all="ignore"):
            # on_tick_grid's own formula: np.rint rounds half to even like round().
            steps = price / size
            off = np.abs(steps - np.rint(steps)) >= 1e-6
        ok &= ~((size > 0.0) & off)
        # missing_fields (depth shape), crossed_book, wide_spread, depth_unsorted
        if not c.depth_ok:
            return np.zeros(len(price), dtype=bool)
        bids = c.bid_px
        asks = c.ask_px
        if bids.shape[1] and asks.shape[1]:
            bid = bids[:, 0]
            ask = asks[:, 0]
            spread = ask - bid
            wide = (spread > self.spread_floor[slot]) & (spread > self.half_pct * (ask + bid))
            ok &= ~((bid > 0.0) & (ask > 0.0) & ((bid >= ask) | wide))
        ok &= _levels_ordered(bids, descending=True) & _levels_ordered(asks, descending=False)
        # ts_future, clock_skew
        received = c.received_ns
        local = np.where(received != 0, received, now_ns)
        ok &= ts <= local + self.future_ns
        ok &= (received == 0) | (received - ts <= self.max_lag_ns)
        return ok


def _levels_ordered(prices: np.ndarray, descending: bool) -> np.ndarray:
    """Per row, :func:`~engine.quality.checks.book.levels_ordered` (NaN counts as unordered)."""
    if prices.shape[1] < 2:
        return np.ones(len(prices), dtype=bool)
    filled = ~(prices <= 0.0)
    here = prices[:, :-1]
    after = prices[:, 1:]
    better = here > after if descending else here < after
    # A filled level needs a filled, strictly better level before it.
    return np.all(~filled[:, 1:] | (filled[:, :-1] & better), axis=1)


def refresh_bands(spike: PriceSpike, slots: np.ndarray, vector: VectorScreen) -> None:
    """:meth:`PriceSpike._refresh` for the instruments in ``slots``, on the ring windows.

    Full windows go by columns, sorted row by row: median and MAD do not depend on
    the ring's order, and the middle values are combined as :func:`_median_sorted`
    combines them, so the bands come out equal to the scalar ones.
    """
    size = spike.size
    count = vector.window_count[slots]
    for slot, n in zip(slots[count < size].tolist(), count[count < size].tolist(), strict=True):
        window = vector.window[slot, :n].tolist()
        vector.spike_lo[slot], vector.spike_hi[slot] = spike.band(
            window, float(vector.tick_size[slot]), float(vector.spike_min_pct[slot])
        )
    full = slots[count >= size]
    vector.due[slots] = spike.refresh
    if not len(full):
        return
    values = np.sort(vector.window[full], axis=1)
    median = _middle(values)
    mad = _middle(np.sort(np.abs(values - median[:, None]), axis=1))
    floor = spike.min_ticks * vector.tick_size[full]
    band = np.maximum(np.maximum(spike.z_sigma * mad, floor), vector.spike_min_pct[full] * median)
    vector.spike_lo[full] = median - band
    vector.spike_hi[full] = median + band


def _middle(rows: np.ndarray) -> np.ndarray:
    """Median of each sorted row (the mean of the two middle values for an even count)."""
    mid = rows.shape[1] // 2
    if rows.shape[1] % 2:
        return rows[:, mid]
    return (rows[:, mid - 1] + rows[:, mid]) / 2.0
