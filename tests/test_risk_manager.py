"""The risk manager: state machine, events, alerts, rejection log, usage, settings, monitors."""

from __future__ import annotations

import pytest

from engine.alerts import AlertSource, Severity
from engine.orders.commands import CancelAllOrders, CancelOrder
from engine.orders.model import Side
from engine.risk import (
    STATE_TOPIC,
    RiskError,
    RiskSettings,
    RiskStateChanged,
    TradingState,
    validate_for_live,
)
from engine.trading.context import PreTradeCheck
from tests.test_risk_support import INFY, RELIANCE, Desk, submit


def drain(desk: Desk) -> list[RiskStateChanged]:
    events = []
    while (item := desk.events.get_nowait()) is not None:
        topic, event = item
        assert topic == STATE_TOPIC
        events.append(event)
    return events


def test_starts_halted_until_reconciled() -> None:
    desk = Desk(active=False)
    assert desk.risk.state is TradingState.HALTED
    assert desk.risk.reason == "awaiting reconciliation"
    assert desk.check(submit()) is not None
    assert desk.risk.reconciled() is True
    assert desk.risk.state is TradingState.ACTIVE
    assert desk.check(submit()) is None


def test_state_change_is_published_with_reason_and_time_and_alerted() -> None:
    desk = Desk(active=False)
    desk.risk.reconciled("positions match the broker")
    desk.clock.advance(3)
    desk.risk.halt("broker down", user="AB1234")
    first, second = drain(desk)
    assert (first.previous, first.state, first.reason) == (
        TradingState.HALTED,
        TradingState.ACTIVE,
        "positions match the broker",
    )
    assert second.state is TradingState.HALTED and second.user == "AB1234"
    assert second.ts_ns == desk.clock.now_ns() == desk.risk.since_ns
    assert desk.alerts[-1] == (
        Severity.CRITICAL,
        AlertSource.RISK,
        "trading HALTED: broker down (by AB1234)",
    )
    assert desk.alerts[0][0] is Severity.INFO
    assert list(desk.risk.history) == [first, second]


def test_reconciled_never_lifts_a_kill_or_loss_halt() -> None:
    desk = Desk(active=False)
    desk.risk.halt("operator", user="AB1234")
    assert desk.risk.reconciled() is False
    assert desk.risk.state is TradingState.HALTED


def test_reconciliation_failure_keeps_halted() -> None:
    desk = Desk(active=False)
    desk.risk.reconciliation_failed("3 orders unknown to the broker")
    assert desk.risk.state is TradingState.HALTED
    assert "reconciliation failed" in desk.risk.reason
    with pytest.raises(RiskError, match="reconciliation has not passed"):
        desk.risk.resume("AB1234")


def test_resume_is_explicit() -> None:
    desk = Desk()
    desk.risk.halt("lunch")
    desk.risk.resume("AB1234")
    assert desk.risk.state is TradingState.ACTIVE
    assert desk.risk.reason == "resumed by AB1234"


def test_cancels_always_pass() -> None:
    desk = Desk(active=False)
    assert desk.check(CancelOrder(user="AB1234", client_order_id="X1")) is None
    assert desk.check(CancelAllOrders(user="AB1234")) is None


def test_anything_else_is_rejected() -> None:
    desk = Desk()
    assert desk.check("BUY 10 RELIANCE") == "rejected by command: not an order command"


def test_check_is_a_pre_trade_check() -> None:
    desk = Desk()
    hook: PreTradeCheck = desk.risk.check
    assert hook(submit(), desk.ctx) is None


def test_rejections_are_kept_counted_and_alerted_once_per_interval() -> None:
    desk = Desk(RiskSettings(rejections_kept=3, alert_interval_s=60))
    for n in range(5):
        desk.check(submit(price=1700.0 + n))
    assert desk.risk.rejections.total == 5
    assert desk.rejections("price_band") == 5
    recent = list(desk.risk.rejections.recent)
    assert len(recent) == 3
    assert recent[-1].check == "price_band"
    assert recent[-1].order == "BUY 10 NSE:RELIANCE LIMIT 1,704.00 (manual)"
    assert recent[-1].ts_ns == desk.clock.now_ns()
    warnings = [a for a in desk.alerts if a[0] is Severity.WARNING]
    assert len(warnings) == 1
    desk.advance(60)
    desk.check(submit(price=1800.0))
    warnings = [a for a in desk.alerts if a[0] is Severity.WARNING]
    assert len(warnings) == 2 and warnings[1][2].endswith("(+4 more since the last alert)")


def test_a_crashing_check_rejects_and_alerts_critical() -> None:
    desk = Desk()

    class Broken(type(desk.ctx)):  # type: ignore[misc]
        def funds(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("ledger gone")

    broken = Broken(desk.clock)
    broken.__dict__.update(desk.ctx.__dict__)
    reason = desk.risk.check(submit(), broken)
    assert reason == "rejected by daily_loss: check failed (RuntimeError)"
    assert desk.alerts[-1][0] is Severity.CRITICAL


def test_usage_lists_every_limit() -> None:
    desk = Desk()
    desk.ctx.nets[INFY.token] = 100
    desk.ctx.realized = -5_000.0
    desk.check(submit())
    usage = {(u.check, u.label): u for u in desk.risk.usage(desk.ctx)}
    assert usage[("throttle", "orders / second")].used == 1
    assert usage[("throttle", "orders / second")].limit == 8
    assert usage[("daily_loss", "day loss (soft)")].used == 5_000
    assert usage[("gross_exposure", "gross exposure")].used == pytest.approx(151_285.0)
    assert usage[("position_limit", "largest position")].used == pytest.approx(151_285.0)
    assert ("open_orders", "open orders") in usage
    assert ("drawdown", "drawdown from peak") in usage
    assert usage[("daily_loss", "day loss (hard)")].fraction == pytest.approx(0.1)


def test_snapshot_is_newest_first() -> None:
    desk = Desk()
    desk.check(submit(price=1700.0))
    desk.check(submit(price=1300.0))
    snap = desk.risk.snapshot(desk.ctx)
    assert snap.state is TradingState.ACTIVE
    assert "1,300.00" in snap.rejections[0].order
    assert snap.rejected_total == 2


# -- post-trade monitors --------------------------------------------------------------------


def test_soft_loss_reduces_hard_loss_halts() -> None:
    desk = Desk()
    desk.ctx.unrealized = -10_000.0
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.ACTIVE
    desk.ctx.unrealized = -26_000.0
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.REDUCING
    assert "soft limit" in desk.risk.reason
    desk.ctx.unrealized = -51_000.0
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.HALTED
    assert desk.risk.reason == "day loss 51,000.00 reached the hard limit 50,000.00"
    # Recovering never lifts the halt by itself.
    desk.ctx.unrealized = 0.0
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.HALTED


def test_drawdown_from_the_day_peak_halts() -> None:
    desk = Desk()
    desk.ctx.realized = 30_000.0
    desk.risk.on_pnl(desk.ctx)
    desk.ctx.realized = -9_000.0
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.ACTIVE
    desk.ctx.realized = -10_000.0
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.HALTED
    assert desk.risk.reason.startswith("drawdown 40,000.00 from the day's peak 30,000.00")


def test_gross_exposure_breach_reduces_and_alerts_once() -> None:
    desk = Desk(RiskSettings.model_validate({"gross_exposure": {"max_value": 100_000}}))
    desk.ctx.nets[RELIANCE.token] = 100
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.REDUCING
    count = len(desk.alerts)
    desk.risk.on_pnl(desk.ctx, gross_exposure=150_000.0)
    assert len(desk.alerts) == count


def test_breach_while_halted_is_still_alerted() -> None:
    desk = Desk()
    desk.risk.halt("operator")
    desk.ctx.realized = -60_000.0
    desk.risk.on_pnl(desk.ctx)
    assert (
        Severity.CRITICAL,
        AlertSource.RISK,
        "day loss 60,000.00 reached the hard limit 50,000.00",
    ) in desk.alerts
    assert desk.risk.reason == "operator"


def test_resume_after_soft_loss_goes_back_to_reducing() -> None:
    desk = Desk()
    desk.ctx.realized = -30_000.0
    desk.risk.on_pnl(desk.ctx)
    desk.risk.resume("AB1234")
    desk.risk.on_pnl(desk.ctx)
    assert desk.risk.state is TradingState.REDUCING
    assert desk.check(submit(side=Side.BUY)) is not None


# -- settings -------------------------------------------------------------------------------


def test_live_needs_every_money_limit() -> None:
    missing = validate_for_live(RiskSettings())
    assert (
        missing[0] == "risk.order_value.max_value [ALPHAPT_RISK__ORDER_VALUE__MAX_VALUE] is not set"
    )
    assert len(missing) == 6
    explicit = RiskSettings.model_validate(
        {
            "order_value": {"max_value": 100_000},
            "position_limit": {"max_value": 200_000},
            "gross_exposure": {"max_value": 500_000},
            "daily_loss": {"soft_limit": 5_000, "hard_limit": 10_000},
            "drawdown": {"max_value": 8_000},
        }
    )
    assert validate_for_live(explicit) == []
    disabled = explicit.model_copy(
        update={"drawdown": explicit.drawdown.model_copy(update={"enabled": False})}
    )
    assert validate_for_live(disabled) == [
        "risk.drawdown.max_value: the drawdown check is disabled"
    ]


def test_settings_forbid_unknown_keys_and_bad_limits() -> None:
    with pytest.raises(ValueError, match="extra"):
        RiskSettings.model_validate({"price_band": {"percent": 3}})
    with pytest.raises(ValueError, match="soft_limit must not exceed hard_limit"):
        RiskSettings.model_validate({"daily_loss": {"soft_limit": 9, "hard_limit": 5}})
    with pytest.raises(ValueError):
        RiskSettings.model_validate({"throttle": {"per_second": 11}})


def test_every_settings_field_has_a_docstring() -> None:
    from pydantic import BaseModel

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation)

    walk(RiskSettings)
