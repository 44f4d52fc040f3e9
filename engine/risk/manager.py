"""The risk manager: trading state, pre-trade checks, post-trade monitors and the kill switch.

:meth:`RiskManager.check` is the trading service's ``PreTradeCheck``. It starts
HALTED; only :meth:`reconciled` (once) or an explicit :meth:`resume` makes it
ACTIVE. Every state change is published on ``risk.state`` and alerted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.clock import Clock
from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.risk.checks import RiskCheck, build_checks, instrument_exposures
from engine.risk.freeze import FreezeTable
from engine.risk.intent import OrderIntent
from engine.risk.killswitch import KILL_SWITCH_STRATEGY, KillSwitchMixin
from engine.risk.monitor import PnlMonitor
from engine.risk.records import (
    STATE_TOPIC,
    LimitUsage,
    RiskSnapshot,
    RiskStateChanged,
    TradingState,
)
from engine.risk.rejections import RejectionLog
from engine.risk.settings import RiskSettings
from engine.trading.context import TradingContext

log = structlog.get_logger("engine.risk")

AlertFn = Callable[[Severity, AlertSource, str], Any]
"""``raise_alert(severity, source, message)``, as the kernel provides it."""

_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
_SEVERITY = {
    TradingState.ACTIVE: Severity.INFO,
    TradingState.REDUCING: Severity.WARNING,
    TradingState.HALTED: Severity.CRITICAL,
}


class RiskError(Exception):
    """A risk command was refused; the message is one line."""


class RiskManager(KillSwitchMixin):
    """Decides what may trade. Single-threaded: call from the engine loop."""

    def __init__(
        self,
        settings: RiskSettings,
        clock: Clock,
        *,
        bus: MessageBus | None = None,
        raise_alert: AlertFn | None = None,
        registry: CollectorRegistry | None = None,
        freeze_table: FreezeTable | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._bus = bus
        self._raise_alert = raise_alert
        self._state = TradingState.HALTED
        self._reason = "awaiting reconciliation"
        self._since_ns = clock.now_ns()
        self._halt_kind = "startup"
        self.is_reconciled = False
        self._flattening = 0
        self.history: deque[RiskStateChanged] = deque(maxlen=100)
        """Recent state changes, oldest first."""
        table = freeze_table or FreezeTable.load(settings.freeze_quantity.table)
        self.checks: list[RiskCheck] = build_checks(settings, self._state_and_reason, table)
        self._active = [c for c in self.checks if c.enabled]
        self._kill_checks = [c for c in self._active if c.for_kill_switch]
        self._acceptors = [c for c in self._active if type(c).accept is not RiskCheck.accept]
        self._freeze = next(c for c in self.checks if c.name == "freeze_quantity")
        self.monitor = PnlMonitor(settings)
        self.rejections = RejectionLog(
            settings.rejections_kept, settings.alert_interval_s, self._alert, registry
        )
        """Recent rejections, their metric and rate-limited alerts."""

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> TradingState:
        """The current trading state."""
        return self._state

    @property
    def reason(self) -> str:
        """Why the desk is in its current state."""
        return self._reason

    @property
    def since_ns(self) -> int:
        """When the current state began (engine clock)."""
        return self._since_ns

    def _state_and_reason(self) -> tuple[TradingState, str]:
        return self._state, self._reason

    def _set_state(
        self, state: TradingState, reason: str, user: str = "risk", kind: str = ""
    ) -> RiskStateChanged | None:
        if state is self._state and reason == self._reason:
            return None
        event = RiskStateChanged(self._clock.now_ns(), state, self._state, reason, user)
        self._state, self._reason, self._since_ns = state, reason, event.ts_ns
        self._halt_kind = kind if state is TradingState.HALTED else ""
        self.history.append(event)
        log.warning(
            "trading state",
            state=state.value,
            previous=event.previous.value,
            reason=reason,
            user=user,
        )
        if self._bus is not None:
            self._bus.publish(STATE_TOPIC, event)
        self._alert(_SEVERITY[state], f"trading {state.value}: {reason} (by {user})")
        return event

    def reconciled(self, detail: str = "reconciliation passed") -> bool:
        """Reconciliation succeeded: lift the start-up halt (and only that one).

        Returns whether trading became ACTIVE. A halt from the kill switch, a loss
        limit or an operator stays until :meth:`resume`.
        """
        self.is_reconciled = True
        if self._state is TradingState.HALTED and self._halt_kind == "startup":
            self._set_state(TradingState.ACTIVE, detail, "reconciliation")
            return True
        return False

    def reconciliation_failed(self, detail: str) -> None:
        """Reconciliation found a mismatch or could not run: stay (or go) HALTED."""
        self.is_reconciled = False
        self._set_state(TradingState.HALTED, f"reconciliation failed: {detail}", kind="startup")

    def halt(self, reason: str, user: str = "risk") -> None:
        """Stop all trading but cancels until an explicit :meth:`resume`."""
        self._set_state(TradingState.HALTED, reason, user, kind="manual")

    def reduce_only(self, reason: str, user: str = "risk") -> None:
        """Let only exposure-reducing orders through until an explicit :meth:`resume`."""
        self._set_state(TradingState.REDUCING, reason, user)

    def resume(self, user: str, reason: str = "resumed") -> None:
        """Return to ACTIVE; raises :class:`RiskError` before reconciliation or mid-kill.

        Resuming accepts the drawdown so far (the day's peak is reset); loss limits
        still apply, so a desk past its soft loss limit goes straight back to REDUCING
        on the next P&L update.
        """
        if not self.is_reconciled:
            raise RiskError("cannot resume: reconciliation has not passed")
        if self._flattening:
            raise RiskError("cannot resume: the kill switch is still flattening")
        self.monitor.rebase()
        self._set_state(TradingState.ACTIVE, f"{reason} by {user}", user)

    # -- pre-trade ------------------------------------------------------------------------

    def check(self, cmd: object, ctx: TradingContext) -> str | None:
        """Judge a SubmitOrder or ModifyOrder: ``None`` to allow, else one line naming the check."""
        if isinstance(cmd, SubmitOrder):
            intent = OrderIntent(cmd, ctx)
        elif isinstance(cmd, ModifyOrder):
            order = ctx.order(cmd.client_order_id)
            if order is None:
                return self._reject_raw("order", ctx.now_ns(), cmd.client_order_id, "unknown order")
            intent = OrderIntent(cmd, ctx, order)
        elif isinstance(cmd, CancelOrder | CancelAllOrders):
            return None
        else:
            return self._reject_raw(
                "command", ctx.now_ns(), type(cmd).__name__, "not an order command"
            )
        now = ctx.now_ns()
        checks = self._active
        if intent.strategy_id == KILL_SWITCH_STRATEGY and not intent.is_modify:
            if not self._flattening:
                detail = "kill-switch orders are accepted only while the kill switch flattens"
                return self._reject("trading_state", intent, now, detail)
            intent.kill_switch = True
            checks = self._kill_checks
        check: RiskCheck | None = None
        try:
            for check in checks:
                detail = check.check(intent, now)
                if detail is not None:
                    return self._reject(check.name, intent, now, detail)
        except Exception as exc:  # fail closed: a broken check rejects, it never waves through
            name = check.name if check is not None else "risk"
            log.exception("risk check failed", check=name)
            return self._reject(name, intent, now, f"check failed ({type(exc).__name__})", True)
        for check in self._acceptors:
            check.accept(intent, now)
        return None

    def freeze_limit(self, cmd: SubmitOrder, ctx: TradingContext) -> int:
        """The largest quantity one order may carry (the kill switch slices flatten orders by it)."""
        return self._freeze.limit(OrderIntent(cmd, ctx))  # type: ignore[attr-defined]

    def _reject(
        self, name: str, intent: OrderIntent, now: int, detail: str, critical: bool = False
    ) -> str:
        summary = intent.summary()
        return self.rejections.record(name, now, summary, detail, intent.strategy_id, critical)

    def _reject_raw(self, name: str, now: int, summary: str, detail: str) -> str:
        return self.rejections.record(name, now, summary, detail)

    def _alert(self, severity: Severity, message: str) -> None:
        if self._raise_alert is not None:
            self._raise_alert(severity, AlertSource.RISK, message)

    def _now(self) -> int:
        return self._clock.now_ns()

    # -- post-trade -----------------------------------------------------------------------

    def on_pnl(self, ctx: TradingContext, gross_exposure: float | None = None) -> None:
        """Check the P&L limits; call on every P&L change.

        O(1) when the caller passes its running ``gross_exposure``; otherwise the
        gross is summed over positions (only if that monitor is enabled).
        """
        marks = getattr(ctx, "pnl_marks", None)
        if marks is not None and gross_exposure is None:
            # The trading service sums both in one pass (every marked batch lands here).
            net_pnl, gross = marks()
            if self.settings.gross_exposure.enabled:
                gross_exposure = gross
        else:
            net_pnl = ctx.funds().net_pnl
            if gross_exposure is None and self.settings.gross_exposure.enabled:
                gross_exposure = sum(instrument_exposures(ctx).values())
        for _name, state, why in self.monitor.update(net_pnl, gross_exposure, ctx.now_ns()):
            if _RANK[state] > _RANK[self._state]:
                self._set_state(state, why, kind="loss")
            else:
                self._alert(_SEVERITY[state], why)

    # -- screen ---------------------------------------------------------------------------

    def usage(self, ctx: TradingContext) -> tuple[LimitUsage, ...]:
        """Every limit with its current use, for bars on the risk screen."""
        now = ctx.now_ns()
        rows: list[LimitUsage] = []
        for check in self._active:
            rows += check.usage(ctx, now)
        if self.settings.drawdown.enabled:
            limit = self.settings.drawdown.max_value
            rows.append(
                LimitUsage("drawdown", "drawdown from peak", self.monitor.drawdown, limit, "₹")
            )
        return tuple(rows)

    def snapshot(self, ctx: TradingContext) -> RiskSnapshot:
        """State, recent rejections (newest first) and limit usage."""
        return RiskSnapshot(
            state=self._state,
            reason=self._reason,
            since_ns=self._since_ns,
            rejections=tuple(reversed(self.rejections.recent)),
            usage=self.usage(ctx),
            rejected_total=self.rejections.total,
        )
