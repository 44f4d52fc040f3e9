"""Checks on a tick's own prices: gates, grid, circuits and day range."""

from __future__ import annotations

from engine.model import Tick, on_tick_grid
from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.settings import CircuitConfig, RangeConfig
from engine.quality.state import InstrumentState

_INF = float("inf")


class MissingFields(Check):
    """Required fields absent: a gate, so nothing else is judged on such a tick."""

    __slots__ = ()
    name = names.MISSING_FIELDS
    fatal = True

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        if (
            tick.exchange_ts_ns > 0
            and tick.close > 0.0
            and tick.volume >= 0
            and (tick.volume == 0 or (tick.open > 0.0 and tick.high > 0.0 and tick.low > 0.0))
            and len(tick.bid_px) == len(tick.bid_qty)
            and len(tick.ask_px) == len(tick.ask_qty)
        ):
            return None
        return ", ".join(missing_fields(tick))


def missing_fields(tick: Tick) -> list[str]:
    """Names of the required fields a tick lacks."""
    out = []
    if not tick.exchange_ts_ns > 0:
        out.append("exchange_ts_ns")
    if not tick.close > 0.0:
        out.append("close")
    if tick.volume < 0:
        out.append("volume")
    if tick.volume != 0:
        out.extend(f for f in ("open", "high", "low") if not getattr(tick, f) > 0.0)
    if len(tick.bid_px) != len(tick.bid_qty):
        out.append("bid_qty")
    if len(tick.ask_px) != len(tick.ask_qty):
        out.append("ask_qty")
    return out


class PriceInvalid(Check):
    """LTP zero, negative, NaN or infinite: a gate."""

    __slots__ = ()
    name = names.PRICE_INVALID
    fatal = True

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        if 0.0 < tick.ltp < _INF:
            return None
        return f"ltp={tick.ltp!r}"


class CircuitBreach(Check):
    """LTP outside the day's circuit limits, if the instrument has them."""

    __slots__ = ("tolerance_ticks",)
    name = names.CIRCUIT_BREACH

    def __init__(self, config: CircuitConfig) -> None:
        super().__init__(config)
        self.tolerance_ticks = config.tolerance_ticks

    def prepare(self, state: InstrumentState) -> None:
        day = state.day
        slack = self.tolerance_ticks * state.tick_size + 1e-9
        if day is not None and day.lower_circuit > 0.0:
            state.circuit_lo = day.lower_circuit - slack
        else:
            state.circuit_lo = -_INF
        if day is not None and day.upper_circuit > 0.0:
            state.circuit_hi = day.upper_circuit + slack
        else:
            state.circuit_hi = _INF

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        if state.circuit_lo <= tick.ltp <= state.circuit_hi:
            return None
        day = state.day
        assert day is not None
        return f"ltp {tick.ltp} outside circuit [{day.lower_circuit}, {day.upper_circuit}]"


class LtpOutsideRange(Check):
    """LTP outside the day low/high carried by the same tick."""

    __slots__ = ("tolerance_ticks",)
    name = names.LTP_OUTSIDE_RANGE

    def __init__(self, config: RangeConfig) -> None:
        super().__init__(config)
        self.tolerance_ticks = config.tolerance_ticks

    def prepare(self, state: InstrumentState) -> None:
        state.range_tol = self.tolerance_ticks * state.tick_size + 1e-9

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        tol = state.range_tol
        if tick.low - tol <= tick.ltp <= tick.high + tol or tick.high <= 0.0:
            return None
        return f"ltp {tick.ltp} outside day range [{tick.low}, {tick.high}]"


class OhlcInconsistent(Check):
    """Day open outside the day low/high (or low above high)."""

    __slots__ = ()
    name = names.OHLC_INCONSISTENT

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        if tick.low <= tick.open <= tick.high or tick.high <= 0.0:
            return None
        return f"open {tick.open} low {tick.low} high {tick.high}"


class OffTickGrid(Check):
    """LTP not a whole number of ticks."""

    __slots__ = ()
    name = names.OFF_TICK_GRID

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        if on_tick_grid(tick.ltp, state.tick_size):
            return None
        return f"ltp {tick.ltp} not a multiple of tick {state.tick_size}"
