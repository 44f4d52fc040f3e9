"""The paper broker: fills orders from the live tick stream, as Kite and the exchange would."""

from engine.trading.paper.broker import PaperBroker
from engine.trading.paper.matching import Working

__all__ = ["PaperBroker", "Working"]
