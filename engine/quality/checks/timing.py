"""Checks on a tick's timestamps against local time and the previous tick."""

from __future__ import annotations

import msgspec

from engine.clock import NS_PER_SECOND, Clock
from engine.model import Tick
from engine.quality import names
from engine.quality.checks.base import Check
from engine.quality.settings import FutureConfig, OrderConfig, SkewConfig
from engine.quality.state import InstrumentState


class TsFuture(Check):
    """Exchange timestamp ahead of local time (``received_ns``, else the clock)."""

    __slots__ = ("now_ns", "tolerance_ns")
    name = names.TS_FUTURE
    keeps_reference = True

    def __init__(self, config: FutureConfig, clock: Clock) -> None:
        super().__init__(config)
        self.tolerance_ns = int(config.tolerance_s * NS_PER_SECOND)
        self.now_ns = clock.now_ns

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        now = tick.received_ns or self.now_ns()
        if tick.exchange_ts_ns <= now + self.tolerance_ns:
            return None
        return f"exchange ts {(tick.exchange_ts_ns - now) / NS_PER_SECOND:.3f}s ahead of local"


class ClockSkew(Check):
    """Exchange timestamp lagging the local receive time by more than ``max_lag_s``.

    Either the local clock runs ahead of the exchange's or the data arrive late;
    both make the tick's time untrustworthy. Ticks without ``received_ns`` skip it.
    """

    __slots__ = ("max_lag_ns",)
    name = names.CLOCK_SKEW

    def __init__(self, config: SkewConfig) -> None:
        super().__init__(config)
        self.max_lag_ns = int(config.max_lag_s * NS_PER_SECOND)

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        received = tick.received_ns
        if not received or received - tick.exchange_ts_ns <= self.max_lag_ns:
            return None
        return f"received {(received - tick.exchange_ts_ns) / NS_PER_SECOND:.3f}s after exchange ts"


class TsOutOfOrder(Check):
    """Exchange timestamp older than the previous tick's."""

    __slots__ = ("tolerance_ns",)
    name = names.TS_OUT_OF_ORDER
    keeps_reference = True

    def __init__(self, config: OrderConfig) -> None:
        super().__init__(config)
        self.tolerance_ns = int(config.tolerance_s * NS_PER_SECOND)

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        prev = state.prev
        if prev is None or tick.exchange_ts_ns >= prev.exchange_ts_ns - self.tolerance_ns:
            return None
        back = (prev.exchange_ts_ns - tick.exchange_ts_ns) / NS_PER_SECOND
        return f"exchange ts {back:.3f}s before the previous tick's"


class DuplicateTick(Check):
    """The previous tick again: every field equal but ``received_ns``."""

    __slots__ = ()
    name = names.DUPLICATE_TICK

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        prev = state.prev
        if (
            prev is None
            or tick.exchange_ts_ns != prev.exchange_ts_ns
            or tick.volume != prev.volume
            or tick.ltp != prev.ltp
            or tick.bid_qty != prev.bid_qty
            or msgspec.structs.replace(tick, received_ns=prev.received_ns) != prev
        ):
            return None
        return f"same as previous tick at exchange ts {tick.exchange_ts_ns}"
