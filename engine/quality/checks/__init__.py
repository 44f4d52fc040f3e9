"""The per-tick checks, one small class each, and the order they run in."""

from __future__ import annotations

from engine.clock import Clock
from engine.quality.checks.base import POLICY_RANK, Check
from engine.quality.checks.book import CrossedBook, DepthUnsorted, WideSpread
from engine.quality.checks.price import (
    CircuitBreach,
    LtpOutsideRange,
    MissingFields,
    OffTickGrid,
    OhlcInconsistent,
    PriceInvalid,
)
from engine.quality.checks.spike import PriceSpike
from engine.quality.checks.timing import ClockSkew, DuplicateTick, TsFuture, TsOutOfOrder
from engine.quality.checks.volume import LastQtyExceedsVolume, VolumeDecrease, VolumeJump
from engine.quality.settings import QualitySettings

__all__ = ["POLICY_RANK", "Check", "build_tick_checks"]


def build_tick_checks(settings: QualitySettings, clock: Clock) -> list[Check]:
    """Every per-tick check in evaluation order (gates first, then cheapest first)."""
    s = settings
    return [
        MissingFields(s.missing_fields),
        PriceInvalid(s.price_invalid),
        CircuitBreach(s.circuit_breach),
        LtpOutsideRange(s.ltp_outside_range),
        OhlcInconsistent(s.ohlc_inconsistent),
        OffTickGrid(s.off_tick_grid),
        CrossedBook(s.crossed_book),
        WideSpread(s.wide_spread),
        TsFuture(s.ts_future, clock),
        ClockSkew(s.clock_skew),
        TsOutOfOrder(s.ts_out_of_order),
        VolumeDecrease(s.volume_decrease),
        LastQtyExceedsVolume(s.last_qty_exceeds_volume),
        VolumeJump(s.volume_jump),
        DuplicateTick(s.duplicate_tick),
        DepthUnsorted(s.depth_unsorted),
        PriceSpike(s.price_spike),
    ]
