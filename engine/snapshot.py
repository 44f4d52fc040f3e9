"""Immutable views the engine hands to a front end, and the commands it accepts from one."""

from __future__ import annotations

import msgspec

from engine.cache import QuoteRow
from engine.health import ComponentHealth


class EngineStatus(msgspec.Struct, frozen=True):
    """What the header shows: time, mode, feed and health."""

    now_ns: int
    mode: str
    feed_state: str
    ticks_per_second: float
    health: str
    components: tuple[ComponentHealth, ...]
    ticks_dropped: int


class DeskSnapshot(msgspec.Struct, frozen=True):
    """Everything that changed since the version the front end last saw.

    ``quotes`` holds only rows that changed after ``since``; ``watchlist`` is the
    full ordered list of instrument keys, always present and cheap.
    """

    version: int
    since: int
    status: EngineStatus
    watchlist: tuple[str, ...]
    quotes: tuple[QuoteRow, ...]


class AddToWatchlist(msgspec.Struct, frozen=True, tag=True):
    """Add an instrument (``RELIANCE`` or ``NSE:RELIANCE``) to the watchlist."""

    symbol: str
    user: str = "local"


class RemoveFromWatchlist(msgspec.Struct, frozen=True, tag=True):
    """Remove an instrument from the watchlist."""

    symbol: str
    user: str = "local"


class CommandResult(msgspec.Struct, frozen=True):
    """The engine's answer to a command: ``ok`` and a one-line message."""

    ok: bool
    message: str = ""
