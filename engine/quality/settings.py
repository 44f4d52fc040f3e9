"""Settings of the data quality monitor: thresholds and a policy for every check.

A policy says what a firing does:

* ``pass`` — count it (health screen) but treat the tick as valid and raise no alert;
* ``flag`` — mark the tick suspect, alert, and still hand it downstream;
* ``quarantine`` — alert and withhold the tick from downstream (kept in a ring for
  inspection). Sweep checks have no tick to withhold, so they take pass or flag.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Policy = Literal["pass", "flag", "quarantine"]
SweepPolicy = Literal["pass", "flag"]

_CONFIG = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)


class CheckConfig(BaseModel):
    """A check without thresholds of its own."""

    model_config = _CONFIG

    enabled: bool = True
    """Run the check at all; a disabled check costs nothing on the tick path."""
    policy: Policy = "flag"
    """What a firing does to the tick: ``pass``, ``flag`` or ``quarantine``."""


def _quarantine() -> CheckConfig:
    return CheckConfig(policy="quarantine")


class CircuitConfig(CheckConfig):
    """LTP outside the day's circuit limits (``MarketDay``)."""

    policy: Policy = "quarantine"
    """What a firing does; an exchange cannot trade outside its circuit, so quarantine."""
    tolerance_ticks: float = Field(default=0.0, ge=0)
    """Ticks beyond a circuit limit still accepted."""


class RangeConfig(CheckConfig):
    """LTP outside the tick's own day low/high."""

    tolerance_ticks: float = Field(default=0.0, ge=0)
    """Ticks beyond the day's low/high still accepted."""


class SpreadConfig(CheckConfig):
    """Best ask minus best bid wider than a bound."""

    max_ticks: float = Field(default=20.0, gt=0)
    """Spreads up to this many ticks never fire (protects low-priced names)."""
    max_pct: float = Field(default=2.0, gt=0)
    """Spreads up to this percentage of the mid never fire (protects high-priced names)."""


class FutureConfig(CheckConfig):
    """Exchange timestamp ahead of local time."""

    policy: Policy = "quarantine"
    """What a firing does; a future timestamp would poison ordering downstream."""
    tolerance_s: float = Field(default=2.0, ge=0)
    """Seconds the exchange timestamp may run ahead of local time."""


class SkewConfig(CheckConfig):
    """Exchange timestamp lagging the local receive time (``received_ns``)."""

    max_lag_s: float = Field(default=5.0, gt=0)
    """Largest accepted ``received_ns - exchange_ts_ns``, in seconds (Kite stamps whole seconds)."""


class OrderConfig(CheckConfig):
    """Exchange timestamp older than the instrument's previous tick."""

    policy: Policy = "quarantine"
    """What a firing does; an older tick would move the latest state backwards."""
    tolerance_s: float = Field(default=0.0, ge=0)
    """Seconds a timestamp may step back before it counts as out of order."""


class LastQtyConfig(CheckConfig):
    """Last traded quantity larger than the change in cumulative volume."""

    tolerance_qty: int = Field(default=0, ge=0)
    """Units by which ``last_qty`` may exceed the volume change."""


class VolumeJumpConfig(CheckConfig):
    """Volume change far above the instrument's usual change per tick."""

    multiple: float = Field(default=50.0, gt=1)
    """Fire when the volume change exceeds this multiple of its running mean."""
    min_qty: int = Field(default=100, ge=0)
    """Volume changes up to this many units never fire."""
    warmup: int = Field(default=20, ge=1)
    """Volume changes to observe before the check is armed."""
    alpha: float = Field(default=0.05, gt=0, le=1)
    """Weight of the newest change in the running mean (an EWMA)."""


class SpikeConfig(CheckConfig):
    """LTP far from the median of the instrument's recent prices (robust z-score)."""

    policy: Policy = "quarantine"
    """What a firing does; a bad print would trigger stops, so quarantine."""
    window: int = Field(default=32, ge=5, le=1024)
    """Recent prices kept per instrument (a repeat of the last price is not kept again)."""
    z: float = Field(default=12.0, gt=0)
    """Robust z-score (0.6745·|p − median| / MAD) above which the price is a spike."""
    min_move_pct: float = Field(default=1.0, ge=0)
    """Moves up to this percentage of the median never fire (MAD is 0 on a flat tape)."""
    min_move_ticks: float = Field(default=10.0, ge=0)
    """Moves up to this many ticks never fire."""
    option_min_move_pct: float = Field(default=15.0, ge=0)
    """For options (CE/PE), which move several times their underlying in percent: moves up
    to this percentage of the median never fire."""
    warmup: int = Field(default=10, ge=3)
    """Prices to observe before the check is armed."""
    refresh: int = Field(default=16, ge=1)
    """Recompute median and MAD every this many new prices (amortises the sort)."""


class StaleConfig(BaseModel):
    """An instrument silent for too long during market hours (periodic sweep)."""

    model_config = _CONFIG

    enabled: bool = True
    """Run the check in the sweep."""
    policy: SweepPolicy = "flag"
    """``pass`` counts it only; ``flag`` also alerts."""
    after_s: float = Field(default=60.0, gt=0)
    """Seconds without a tick (in market hours) before an instrument is stale."""
    include_unseen: bool = True
    """Also report instruments that have not ticked at all (a failed subscription)."""


class FeedGapConfig(BaseModel):
    """No tick from any instrument for too long during market hours (periodic sweep)."""

    model_config = _CONFIG

    enabled: bool = True
    """Run the check in the sweep."""
    policy: SweepPolicy = "flag"
    """``pass`` counts it only; ``flag`` also alerts."""
    after_s: float = Field(default=5.0, gt=0)
    """Seconds without any tick (in market hours) before the feed counts as gapped."""


class QualitySettings(BaseModel):
    """The data quality monitor on the tick path."""

    model_config = _CONFIG

    unknown_instrument: CheckConfig = Field(default_factory=_quarantine)
    """A tick for an instrument token not in the instrument registry."""
    missing_fields: CheckConfig = Field(default_factory=_quarantine)
    """Required fields absent: exchange timestamp, previous close, OHLC once traded, depth shape."""
    price_invalid: CheckConfig = Field(default_factory=_quarantine)
    """LTP zero, negative, NaN or infinite."""
    circuit_breach: CircuitConfig = CircuitConfig()
    """LTP outside the day's circuit limits."""
    ltp_outside_range: RangeConfig = RangeConfig()
    """LTP outside the tick's day low/high."""
    ohlc_inconsistent: CheckConfig = CheckConfig()
    """Day open outside the day low/high."""
    off_tick_grid: CheckConfig = Field(default_factory=_quarantine)
    """LTP not a whole number of the instrument's tick size."""
    crossed_book: CheckConfig = CheckConfig()
    """Best bid at or above best ask (both sides present)."""
    wide_spread: SpreadConfig = SpreadConfig()
    """Spread wider than both its tick and percentage bounds."""
    ts_future: FutureConfig = FutureConfig()
    """Exchange timestamp ahead of local time."""
    clock_skew: SkewConfig = SkewConfig()
    """Exchange timestamp lagging the local receive time."""
    ts_out_of_order: OrderConfig = OrderConfig()
    """Exchange timestamp older than the instrument's previous tick."""
    volume_decrease: CheckConfig = CheckConfig()
    """Cumulative volume lower than on the previous tick."""
    last_qty_exceeds_volume: LastQtyConfig = LastQtyConfig()
    """Last traded quantity larger than the volume change since the previous tick."""
    volume_jump: VolumeJumpConfig = VolumeJumpConfig()
    """Volume change far above its running mean."""
    duplicate_tick: CheckConfig = Field(default_factory=_quarantine)
    """The previous tick delivered again (every market field equal)."""
    depth_unsorted: CheckConfig = CheckConfig()
    """Depth levels not strictly best-first, or an empty level before a filled one."""
    price_spike: SpikeConfig = SpikeConfig()
    """LTP far from the recent median (robust z-score over a short window)."""
    stale_instrument: StaleConfig = StaleConfig()
    """An instrument silent too long in market hours (sweep)."""
    feed_gap: FeedGapConfig = FeedGapConfig()
    """The whole feed silent too long in market hours (sweep)."""

    session: Literal["ist", "always-open"] = "ist"
    """When sweeps run: ``ist`` weekdays between market open and close; ``always-open`` always."""
    market_open: time = time(9, 15)
    """Session start, IST, for the sweep checks."""
    market_close: time = time(15, 30)
    """Session end, IST, for the sweep checks."""
    alert_interval_s: float = Field(default=60.0, ge=0)
    """At most one alert per check per instrument in this many seconds."""
    quarantine_capacity: int = Field(default=1000, ge=1)
    """Quarantined ticks kept for inspection (oldest dropped first)."""
    worst_count: int = Field(default=10, ge=0)
    """Instruments listed in the snapshot's worst-quality table."""

    @model_validator(mode="after")
    def _session_is_a_window(self) -> QualitySettings:
        if self.market_open >= self.market_close:
            raise ValueError("market_open must be before market_close")
        return self
