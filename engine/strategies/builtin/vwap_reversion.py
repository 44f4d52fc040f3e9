"""VWAP reversion on ticks: fade a price stretched away from the session VWAP."""

from __future__ import annotations

from pydantic import Field

from engine.model import Tick
from engine.strategies.base import Strategy, StrategyParams
from engine.strategies.indicators import VWAP


class VwapParams(StrategyParams):
    """Entry band and warm-up."""

    band_pct: float = Field(default=0.5, gt=0, le=20)
    """Enter when the LTP is this many percent away from VWAP."""
    warmup_ticks: int = Field(default=20, ge=0)
    """Ticks with volume per instrument and session before trading."""


class VwapReversion(Strategy):
    """Buys ``band_pct`` below the session VWAP, sells as far above; exits at the VWAP.

    The VWAP is built from each tick's LTP weighted by the change in cumulative volume.
    """

    Params = VwapParams
    key = "vwap_reversion"

    def on_start(self) -> None:
        self._vwap = {i.instrument_token: VWAP() for i in self.instruments}
        self._volume: dict[int, int] = {}

    def on_tick(self, tick: Tick) -> None:
        token = tick.instrument_token
        last = self._volume.get(token)
        self._volume[token] = tick.volume
        if last is None or tick.volume <= last:
            return
        vwap = self._vwap[token]
        value = vwap.update(tick.ltp, tick.volume - last, tick.exchange_ts_ns)
        if value is None or vwap.count <= self.params.warmup_ticks:
            return
        p = self.params
        deviation = (tick.ltp - value) / value * 100.0
        if deviation <= -p.band_pct:
            self.target_position(token, p.quantity)
        elif deviation >= p.band_pct:
            self.target_position(token, -p.quantity)
        else:
            held = self.expected_position(token)
            if (held > 0 and tick.ltp >= value) or (held < 0 and tick.ltp <= value):
                self.target_position(token, 0)
