"""Checks on cumulative volume and the last traded quantity."""

from __future__ import annotations

from engine.model import Tick
from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.settings import LastQtyConfig, VolumeJumpConfig
from engine.quality.state import InstrumentState


class VolumeDecrease(Check):
    """Cumulative day volume lower than on the previous tick."""

    __slots__ = ()
    name = names.VOLUME_DECREASE

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        prev = state.prev
        if prev is None or tick.volume >= prev.volume:
            return None
        return f"volume {tick.volume} < previous {prev.volume}"


class LastQtyExceedsVolume(Check):
    """A new trade's quantity larger than the volume change since the previous tick.

    With no volume change, a trade is new only if its trade timestamp moved:
    Kite repeats the last trade's quantity on depth-only ticks.
    """

    __slots__ = ("tolerance",)
    name = names.LAST_QTY_EXCEEDS_VOLUME

    def __init__(self, config: LastQtyConfig) -> None:
        super().__init__(config)
        self.tolerance = config.tolerance_qty

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        prev = state.prev
        if prev is None:
            return None
        change = tick.volume - prev.volume
        if change > 0:
            if tick.last_qty <= change + self.tolerance:
                return None
        elif (
            change < 0
            or tick.last_trade_ts_ns <= prev.last_trade_ts_ns
            or tick.last_qty <= self.tolerance
        ):
            return None
        return f"last qty {tick.last_qty} > volume change {change}"


class VolumeJump(Check):
    """A volume change far above the running mean of this instrument's changes."""

    __slots__ = ("alpha", "min_qty", "multiple", "warmup")
    name = names.VOLUME_JUMP
    learns = True

    def __init__(self, config: VolumeJumpConfig) -> None:
        super().__init__(config)
        self.multiple = config.multiple
        self.min_qty = config.min_qty
        self.warmup = config.warmup
        self.alpha = config.alpha

    def prepare(self, state: InstrumentState) -> None:
        state.dv_ewma = 0.0
        state.dv_n = self.warmup

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        prev = state.prev
        if prev is None:
            return None
        change = tick.volume - prev.volume
        if change <= 0:
            return None
        mean = state.dv_ewma
        left = state.dv_n
        if not left:
            if change > self.multiple * mean and change > self.min_qty:
                return f"volume change {change} vs mean {mean:.1f}"
            # Only changes that did not fire feed the mean, so one jump cannot arm the next.
            state.dv_ewma = mean + self.alpha * (change - mean)
            return None
        # Warm-up: a plain running mean, then the check is armed.
        state.dv_ewma = mean + (change - mean) / (self.warmup - left + 1)
        state.dv_n = left - 1
        return None
