"""Immutable views the engine hands to a front end, and the commands it accepts from one."""

from __future__ import annotations

import msgspec

from engine.alert_log import AlertEntry
from engine.cache import QuoteRow
from engine.health import ComponentHealth
from engine.orders.model import Fill, Order
from engine.quality import QualitySnapshot
from engine.trading.views import FundsView, PositionView


class EngineStatus(msgspec.Struct, frozen=True):
    """What the header shows: time, mode, feed and health."""

    now_ns: int
    mode: str
    feed_state: str
    ticks_per_second: float
    health: str
    components: tuple[ComponentHealth, ...]
    ticks_dropped: int
    trading_state: str = ""
    """ACTIVE, REDUCING or HALTED (empty before the risk manager exists)."""
    trading_reason: str = ""
    """Why trading is in that state."""
    unacknowledged_alerts: int = 0
    """Alerts nobody has acknowledged yet."""


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
    trading_version: int = 0
    """Bumps whenever an order, fill, position or the funds change."""
    orders: tuple[Order, ...] | None = None
    """Every order of the day, present only when ``trading_version`` moved."""
    fills: tuple[Fill, ...] | None = None
    """Every fill of the day, present only when ``trading_version`` moved."""
    positions: tuple[PositionView, ...] | None = None
    """Every position, present only when ``trading_version`` moved."""
    funds: FundsView | None = None
    """The account, present only when ``trading_version`` moved."""
    alerts_version: int = 0
    """Bumps on every new or acknowledged alert."""
    alerts: tuple[AlertEntry, ...] | None = None
    """Every kept alert, present only when ``alerts_version`` moved past what was asked."""


class QueueDepth(msgspec.Struct, frozen=True):
    """One bus consumer's backlog."""

    consumer: str
    depth: int
    drops: int


class HealthReport(msgspec.Struct, frozen=True):
    """What the health screen shows; pulled about once a second."""

    now_ns: int
    started_ns: int
    components: tuple[ComponentHealth, ...]
    queues: tuple[QueueDepth, ...]
    ticks_per_second: float
    ticks_total: int
    storage_lag_s: float | None
    storage_pending: int
    storage_dropped: int
    connections: tuple[tuple[str, str], ...]
    """(name, state) of each outside connection: feed, ledger, NATS, Redis."""
    quality: QualitySnapshot


class AddToWatchlist(msgspec.Struct, frozen=True, tag=True):
    """Add an instrument (``RELIANCE`` or ``NSE:RELIANCE``) to the watchlist."""

    symbol: str
    user: str = "local"


class RemoveFromWatchlist(msgspec.Struct, frozen=True, tag=True):
    """Remove an instrument from the watchlist."""

    symbol: str
    user: str = "local"


class HaltTrading(msgspec.Struct, frozen=True, tag=True):
    """Stop all new orders (cancels still pass) until an explicit resume."""

    reason: str
    user: str = "local"


class ResumeTrading(msgspec.Struct, frozen=True, tag=True):
    """Lift a halt or reduce-only state; refused before reconciliation has passed."""

    user: str = "local"
    reason: str = "resumed from the desk"


class KillSwitch(msgspec.Struct, frozen=True, tag=True):
    """HALT, cancel every open order, and optionally flatten every position at market."""

    reason: str
    flatten: bool = False
    user: str = "local"


class AcknowledgeAlert(msgspec.Struct, frozen=True, tag=True):
    """Acknowledge one alert by id, or every alert when ``alert_id`` is None."""

    alert_id: str | None = None
    user: str = "local"


class CommandResult(msgspec.Struct, frozen=True):
    """The engine's answer to a command: ``ok`` and a one-line message."""

    ok: bool
    message: str = ""
    client_order_id: str | None = None
    """The order a trading command placed or acted on, when there is one."""
