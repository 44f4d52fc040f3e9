"""The narrow door through which strategies send orders.

The trading service implements it (validation, the risk pre-trade hook, then the
paper or live broker). Strategies never hold the service itself, only this.
"""

from __future__ import annotations

from typing import Protocol

from engine.orders.commands import CancelAllOrders, CancelOrder, SubmitOrder
from engine.snapshot import CommandResult


class OrderGateway(Protocol):
    """Submit and cancel orders; every call goes through validation and risk."""

    async def submit(self, cmd: SubmitOrder) -> CommandResult:
        """Place an order; ``ok`` False carries the one-line reason it was refused."""
        ...

    async def cancel(self, cmd: CancelOrder) -> CommandResult:
        """Cancel one order (cancels always pass risk)."""
        ...

    async def cancel_all(self, cmd: CancelAllOrders) -> CommandResult:
        """Cancel every open order of a user, or of one strategy."""
        ...
