"""Replay: stored ticks through the live engine in simulated time (see ``docs/replay.md``).

:class:`ReplaySession` checks a request, opens the tick store read-only and builds a
kernel whose feed is a :class:`ReplayFeed` on a :class:`ReplayClock`; the paper broker
fills its strategies' orders; :func:`summarize` turns the account into a report.
"""

from engine.replay.clock import ReplayClock
from engine.replay.feed import ReplayFeed, parse_speed
from engine.replay.progress import ReplayProgress
from engine.replay.report import EquityPoint, RoundTrip
from engine.replay.request import ReplayRequest, check_strategy, replay_settings
from engine.replay.session import ReplaySession
from engine.replay.source import ReplayInputError, StoredTicks, Universe, universe_of
from engine.replay.summary import ReplaySummary, summarize, summary_text

__all__ = [
    "EquityPoint",
    "ReplayClock",
    "ReplayFeed",
    "ReplayInputError",
    "ReplayProgress",
    "ReplayRequest",
    "ReplaySession",
    "ReplaySummary",
    "RoundTrip",
    "StoredTicks",
    "Universe",
    "check_strategy",
    "parse_speed",
    "replay_settings",
    "summarize",
    "summary_text",
    "universe_of",
]
