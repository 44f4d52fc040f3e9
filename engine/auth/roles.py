"""Roles and the one question the engine asks before running a command: may this role?

viewer
    Looks only: no command that changes anything.
trader
    Orders on manual tickets and on strategies named after the user (``alice.momentum``),
    modify and cancel, the watchlist, acknowledging alerts.
admin
    Everything, including the kill switch, halt/resume and strategy management.
"""

from __future__ import annotations

from enum import StrEnum

from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.snapshot import AcknowledgeAlert, AddToWatchlist, RemoveFromWatchlist


class Role(StrEnum):
    """What a user may do."""

    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"


ROLE_NAMES: tuple[str, ...] = tuple(role.value for role in Role)

TRADER_COMMANDS: tuple[type, ...] = (
    SubmitOrder,
    ModifyOrder,
    CancelOrder,
    CancelAllOrders,
    AddToWatchlist,
    RemoveFromWatchlist,
    AcknowledgeAlert,
)
"""Command types a trader may send (orders further limited to their own strategies)."""


def owns_strategy(user: str, strategy_id: str | None) -> bool:
    """Whether orders of ``strategy_id`` are the user's: manual ones, or ``<user>.<name>``."""
    return strategy_id in (None, "manual") or (strategy_id or "").startswith(f"{user}.")


def authorize(user_role: str | Role | None, command: object) -> str | None:
    """``None`` if ``user_role`` may run ``command``, else the one-line reason it may not."""
    kind = type(command).__name__
    user = str(getattr(command, "user", "?"))
    try:
        role = Role(user_role) if user_role is not None else None
    except ValueError:
        role = None
    if role is None:
        return f"refused: {user} has no role"
    if role is Role.ADMIN:
        return None
    if role is Role.VIEWER:
        return f"refused: {user} is a viewer and may not {kind}"
    if not isinstance(command, TRADER_COMMANDS):
        return f"refused: {kind} needs the admin role ({user} is a trader)"
    if isinstance(command, SubmitOrder | CancelAllOrders):
        strategy = command.strategy_id
        if not owns_strategy(user, strategy):
            return f"refused: strategy {strategy} is not {user}'s (trader)"
    return None
