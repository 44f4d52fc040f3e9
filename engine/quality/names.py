"""Check names: the vocabulary shared by the monitor, its settings and the fault injector."""

from __future__ import annotations

UNKNOWN_INSTRUMENT = "unknown_instrument"
MISSING_FIELDS = "missing_fields"
PRICE_INVALID = "price_invalid"
CIRCUIT_BREACH = "circuit_breach"
LTP_OUTSIDE_RANGE = "ltp_outside_range"
OHLC_INCONSISTENT = "ohlc_inconsistent"
OFF_TICK_GRID = "off_tick_grid"
CROSSED_BOOK = "crossed_book"
WIDE_SPREAD = "wide_spread"
TS_FUTURE = "ts_future"
CLOCK_SKEW = "clock_skew"
TS_OUT_OF_ORDER = "ts_out_of_order"
VOLUME_DECREASE = "volume_decrease"
LAST_QTY_EXCEEDS_VOLUME = "last_qty_exceeds_volume"
VOLUME_JUMP = "volume_jump"
DUPLICATE_TICK = "duplicate_tick"
DEPTH_UNSORTED = "depth_unsorted"
PRICE_SPIKE = "price_spike"
STALE_INSTRUMENT = "stale_instrument"
FEED_GAP = "feed_gap"

TICK_CHECKS: tuple[str, ...] = (
    MISSING_FIELDS,
    PRICE_INVALID,
    CIRCUIT_BREACH,
    LTP_OUTSIDE_RANGE,
    OHLC_INCONSISTENT,
    OFF_TICK_GRID,
    CROSSED_BOOK,
    WIDE_SPREAD,
    TS_FUTURE,
    CLOCK_SKEW,
    TS_OUT_OF_ORDER,
    VOLUME_DECREASE,
    LAST_QTY_EXCEEDS_VOLUME,
    VOLUME_JUMP,
    DUPLICATE_TICK,
    DEPTH_UNSORTED,
    PRICE_SPIKE,
)
"""Per-tick checks in evaluation order: gates first, then cheapest first."""

SWEEP_CHECKS: tuple[str, ...] = (FEED_GAP, STALE_INSTRUMENT)
"""Checks run by the periodic sweep rather than per tick."""

ALL_CHECKS: tuple[str, ...] = (UNKNOWN_INSTRUMENT, *TICK_CHECKS, *SWEEP_CHECKS)
"""Every check the monitor knows, in report order."""
