"""The kill switch: HALT first, cancel every open order, optionally flatten.

Flatten orders are ordinary MARKET orders whose ``strategy_id`` is
:data:`KILL_SWITCH_STRATEGY`. They pass the HALTED state only while
``flatten_all`` is running and only if they reduce the position; they skip the
other checks except instrument, market protection and freeze quantity (a flatten
larger than the freeze quantity must be sliced: see ``RiskManager.freeze_limit``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from engine.alerts import Severity
from engine.risk.records import KillReport, TradingState

log = structlog.get_logger("engine.risk")

KILL_SWITCH_STRATEGY = "kill-switch"
"""``strategy_id`` that marks the kill switch's own flatten orders."""


class KillSwitchMixin:
    """The kill switch part of the risk manager."""

    _flattening: int

    if TYPE_CHECKING:

        def _set_state(
            self, state: TradingState, reason: str, user: str = ..., kind: str = ...
        ) -> Any: ...
        def _alert(self, severity: Severity, message: str) -> None: ...
        def _now(self) -> int: ...

    @property
    def flattening(self) -> bool:
        """Whether the kill switch is flattening right now."""
        return self._flattening > 0

    async def kill(
        self,
        reason: str,
        flatten: bool,
        cancel_all: Callable[[], Awaitable[Any]],
        flatten_all: Callable[[], Awaitable[Any]],
        user: str = "risk",
    ) -> KillReport:
        """HALT, then ``await cancel_all()``, then (if ``flatten``) ``await flatten_all()``.

        Trading stays HALTED afterwards whatever happens; only an explicit
        ``resume(user)`` lifts it. A failing step is reported (CRITICAL alert and in
        the returned report) and does not stop the next one.
        """
        self._set_state(TradingState.HALTED, f"kill switch: {reason}", user, kind="kill")
        errors: list[str] = []
        cancelled = await self._step("cancel all", cancel_all, errors)
        flattened = False
        if flatten:
            self._flattening += 1
            try:
                flattened = await self._step("flatten", flatten_all, errors)
            finally:
                self._flattening -= 1
        return KillReport(self._now(), reason, cancelled, flattened, tuple(errors))

    async def _step(self, what: str, step: Callable[[], Awaitable[Any]], errors: list[str]) -> bool:
        try:
            await step()
        except Exception as exc:
            detail = f"kill switch {what} failed: {type(exc).__name__}: {exc}"
            log.exception("kill switch step failed", step=what)
            errors.append(detail)
            self._alert(Severity.CRITICAL, detail)
            return False
        return True
