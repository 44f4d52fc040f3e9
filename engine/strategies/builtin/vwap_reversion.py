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
        volume = tick.volume
        volumes = self._volume
        last = volumes.get(token)
        volumes[token] = volume
        if last is None or volume <= last:
            return
        vwap = self._vwap[token]
        price = tick.ltp
        value = vwap.update(price, volume - last, tick.exchange_ts_ns)
        p = self.params
        if value is None or vwap.count <= p.warmup_ticks:
            return
        deviation = (price - value) / value * 100.0
        if deviation <= -p.band_pct:
            target = p.quantity
        elif deviation >= p.band_pct:
            target = -p.quantity
        else:
            held = self.expected_position(token)
            if (held > 0 and price >= value) or (held < 0 and price <= value):
                self.target_position(token, 0)
            return
        # Most ticks outside the band find the position already there: skip the order path.
        if self.expected_position(token) != (target if target > 0 or p.allow_short else 0):
            self.target_position(token, target)
