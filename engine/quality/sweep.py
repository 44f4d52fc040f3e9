"""Periodic checks: silence of one instrument, silence of the whole feed."""

from __future__ import annotations

from engine.clock import NS_PER_SECOND
from engine.quality import names
from engine.quality.checks.base import Rule
from engine.quality.settings import FeedGapConfig, StaleConfig


class StaleInstrument(Rule):
    """No tick from an instrument for ``after_s`` seconds of market time."""

    __slots__ = ("after_ns", "include_unseen")
    name = names.STALE_INSTRUMENT

    def __init__(self, config: StaleConfig) -> None:
        super().__init__(config)
        self.after_ns = int(config.after_s * NS_PER_SECOND)
        self.include_unseen = config.include_unseen


class FeedGap(Rule):
    """No tick from any instrument for ``after_s`` seconds of market time."""

    __slots__ = ("after_ns",)
    name = names.FEED_GAP

    def __init__(self, config: FeedGapConfig) -> None:
        super().__init__(config)
        self.after_ns = int(config.after_s * NS_PER_SECOND)
