"""Bars for a chart: stored bars from the tick store, with the live candle at the end."""

from __future__ import annotations

import msgspec

from engine.clock import NS_PER_SECOND
from engine.storage.settings import StorageSettings

TIMEFRAME_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1d": 86_400}
"""Width of one bar of each chart timeframe."""


class ChartBar(msgspec.Struct, frozen=True, gc=False):
    """One OHLCV bar; ``ts_ns`` is the start of its bucket."""

    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: int


class ChartBars(msgspec.Struct, frozen=True):
    """What a chart screen asked for, or a one-line note saying why there is nothing."""

    key: str
    timeframe: str
    bars: tuple[ChartBar, ...] = ()
    note: str = ""


def lookback_ns(timeframe: str, bars: int) -> int:
    """How far back ``bars`` bars of ``timeframe`` reach."""
    return TIMEFRAME_SECONDS[timeframe] * bars * NS_PER_SECOND


def storage_note(settings: StorageSettings) -> str:
    """Why a chart is empty when the tick store is off."""
    if not settings.enabled:
        return "the tick store is off (ALPHAPT_STORAGE__ENABLED=false): no bars to chart"
    return ""
