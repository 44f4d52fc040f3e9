"""The strategies that ship with the desk, by the key settings use."""

from __future__ import annotations

from engine.strategies.base import Strategy
from engine.strategies.builtin.bollinger import BollingerBreakout
from engine.strategies.builtin.crossover import EmaCrossover, SmaCrossover
from engine.strategies.builtin.ml import MlDirection
from engine.strategies.builtin.opening_range import OpeningRangeBreakout
from engine.strategies.builtin.rsi_reversion import RsiReversion
from engine.strategies.builtin.vwap_reversion import VwapReversion

BUILTINS: dict[str, type[Strategy]] = {
    cls.key: cls
    for cls in (
        SmaCrossover,
        EmaCrossover,
        RsiReversion,
        VwapReversion,
        OpeningRangeBreakout,
        BollingerBreakout,
        MlDirection,
    )
}
"""Built-in strategy classes by key."""

__all__ = [
    "BUILTINS",
    "BollingerBreakout",
    "EmaCrossover",
    "MlDirection",
    "OpeningRangeBreakout",
    "RsiReversion",
    "SmaCrossover",
    "VwapReversion",
]
