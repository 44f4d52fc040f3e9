"""A fused pre-filter over the stateless checks: the clean-tick fast path.

Calling fifteen small check objects per tick costs more than the 3 µs budget
allows in pure Python (a call alone is ~0.1 µs). The screen evaluates the quiet
condition of every stateless check in one function, with the checks' own
thresholds. It is conservative: ``True`` means none of those checks can fire;
``False`` means "maybe", and the monitor then runs every enabled check object,
which alone decide what fired. A disabled check therefore only costs speed if
the data keeps tripping it. ``tests/test_quality.py`` holds the screen to this
contract on clean and faulted ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from engine.model import Tick
from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.checks.book import levels_ordered
from engine.quality.state import InstrumentState

Screen = Callable[[Tick, InstrumentState], bool]


def build_screen(checks: Mapping[str, Check], now_ns: Callable[[], int]) -> Screen:
    """The fast path for ``checks`` (by name; every per-tick check must be present)."""
    half_pct: float = checks[names.WIDE_SPREAD].half_pct  # type: ignore[attr-defined]
    future_ns: int = checks[names.TS_FUTURE].tolerance_ns  # type: ignore[attr-defined]
    max_lag_ns: int = checks[names.CLOCK_SKEW].max_lag_ns  # type: ignore[attr-defined]
    sequence = build_sequence_screen(checks)
    inf = float("inf")

    def screen(tick: Tick, state: InstrumentState) -> bool:
        price = tick.ltp
        ts = tick.exchange_ts_ns
        # missing_fields (scalars), price_invalid, circuit_breach
        if not (
            ts > 0
            and tick.close > 0.0
            and 0.0 < price < inf
            and state.circuit_lo <= price <= state.circuit_hi
        ):
            return False
        high = tick.high
        low = tick.low
        volume = tick.volume
        if volume and not (volume > 0 and tick.open > 0.0 and high > 0.0 and low > 0.0):
            return False
        # ltp_outside_range, ohlc_inconsistent
        if high > 0.0:
            tol = state.range_tol
            if not (low - tol <= price <= high + tol and low <= tick.open <= high):
                return False
        # off_tick_grid (inline ``on_tick_grid``)
        size = state.tick_size
        # |steps - round(steps)| without a call: shift by half a step, wrap, measure.
        if size > 0.0 and abs((price / size + 0.5) % 1.0 - 0.5) >= 1e-6:
            return False
        # missing_fields (depth shape), crossed_book, wide_spread, depth_unsorted
        bids = tick.bid_px
        asks = tick.ask_px
        n_bids = len(bids)
        n_asks = len(asks)
        if n_bids != len(tick.bid_qty) or n_asks != len(tick.ask_qty):
            return False
        if n_bids and n_asks:
            bid = bids[0]
            ask = asks[0]
            if bid > 0.0 and ask > 0.0:
                if bid >= ask:
                    return False
                spread = ask - bid
                if spread > state.spread_floor and spread > half_pct * (ask + bid):
                    return False
        if n_bids == 5 and n_asks == 5:
            b0, b1, b2, b3, b4 = bids
            a0, a1, a2, a3, a4 = asks
            if not (b0 > b1 > b2 > b3 > b4 > 0.0 and 0.0 < a0 < a1 < a2 < a3 < a4):
                return False
        elif not (levels_ordered(bids, True) and levels_ordered(asks, False)):
            return False
        # ts_future, clock_skew
        received = tick.received_ns
        if ts > (received or now_ns()) + future_ns:
            return False
        if received and received - ts > max_lag_ns:
            return False
        # ts_out_of_order, volume_decrease, last_qty_exceeds_volume, duplicate_tick
        return sequence(tick, state)

    return screen


def build_sequence_screen(checks: Mapping[str, Check]) -> Screen:
    """The sequence half of :func:`build_screen`, also run alone on a tick whose stateless
    checks were already screened (by columns, :meth:`VectorScreen.passes`): ``True``
    means ts_out_of_order, volume_decrease, last_qty_exceeds_volume and duplicate_tick
    cannot fire."""
    back_ns: int = checks[names.TS_OUT_OF_ORDER].tolerance_ns  # type: ignore[attr-defined]
    qty_tol: int = checks[names.LAST_QTY_EXCEEDS_VOLUME].tolerance  # type: ignore[attr-defined]

    def sequence(tick: Tick, state: InstrumentState) -> bool:
        prev = state.prev
        if prev is None:
            return True
        ts = tick.exchange_ts_ns
        if ts < prev.exchange_ts_ns - back_ns:
            return False
        change = tick.volume - prev.volume
        if change > 0:
            return tick.last_qty <= change + qty_tol
        if change < 0:
            return False
        if tick.last_trade_ts_ns > prev.last_trade_ts_ns and tick.last_qty > qty_tol:
            return False
        return not (
            ts == prev.exchange_ts_ns and tick.ltp == prev.ltp and tick.bid_qty == prev.bid_qty
        )

    return sequence
