"""The strategy framework: the :class:`Strategy` API, bars and indicators, and the manager."""

from __future__ import annotations

from engine.strategies.bars import TIMEFRAMES, Bar, BarAggregator
from engine.strategies.base import Strategy, StrategyParams, StrategyState
from engine.strategies.batch import BarBatch
from engine.strategies.gateway import OrderGateway
from engine.strategies.manager import StrategyManager
from engine.strategies.settings import StrategiesSettings, StrategyEntry, StrategyLimits
from engine.strategies.slot import BarHistory, MarketView
from engine.strategies.views import StrategyPositionView, StrategyView

__all__ = [
    "TIMEFRAMES",
    "Bar",
    "BarAggregator",
    "BarBatch",
    "BarHistory",
    "MarketView",
    "OrderGateway",
    "StrategiesSettings",
    "Strategy",
    "StrategyEntry",
    "StrategyLimits",
    "StrategyManager",
    "StrategyParams",
    "StrategyPositionView",
    "StrategyState",
    "StrategyView",
]
