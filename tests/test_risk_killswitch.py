"""The kill switch: HALT first, cancel everything, optionally flatten, stay HALTED."""

from __future__ import annotations

import msgspec
import pytest

from engine.alerts import Severity
from engine.orders.model import OrderStatus, OrderType, Side
from engine.risk import KILL_SWITCH_STRATEGY, RiskError, TradingState
from tests.test_risk_support import INFY, NIFTY_CE, RELIANCE, Desk, submit


class FakeExecution:
    """Cancels and flattens on the fake context, sending flatten orders through risk."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.states_seen: list[TradingState] = []
        self.verdicts: list[str | None] = []

    async def cancel_all(self) -> int:
        ctx = self.desk.ctx
        self.states_seen.append(self.desk.risk.state)
        for order in ctx.open_orders():
            ctx.orders[order.client_order_id] = msgspec.structs.replace(
                order, status=OrderStatus.CANCELLED
            )
        return len(ctx.orders)

    async def flatten_all(self) -> None:
        ctx = self.desk.ctx
        for token, net in list(ctx.nets.items()):
            if not net:
                continue
            instrument = ctx.instruments[token]
            side = Side.SELL if net > 0 else Side.BUY
            remaining = abs(net)
            while remaining:
                cmd = submit(
                    instrument, side=side, quantity=remaining, order_type=OrderType.MARKET,
                    strategy_id=KILL_SWITCH_STRATEGY,
                )  # fmt: skip
                quantity = min(remaining, self.desk.risk.freeze_limit(cmd, ctx))
                cmd = msgspec.structs.replace(cmd, quantity=quantity)
                verdict = self.desk.check(cmd)
                self.verdicts.append(verdict)
                if verdict is not None:
                    return
                ctx.nets[token] += side.sign * quantity  # filled at once
                remaining -= quantity


def loaded_desk() -> Desk:
    desk = Desk()
    desk.ctx.nets[RELIANCE.token] = 120
    desk.ctx.nets[NIFTY_CE.token] = -3_600
    desk.ctx.rest(submit(price=1500.0))
    desk.ctx.rest(submit(INFY, side=Side.SELL, price=1520.0))
    return desk


async def test_kill_cancels_everything_and_stays_halted() -> None:
    desk = loaded_desk()
    execution = FakeExecution(desk)
    report = await desk.risk.kill(
        "runaway strategy", False, execution.cancel_all, execution.flatten_all
    )
    assert report.ok and report.cancelled and not report.flattened
    assert execution.states_seen == [TradingState.HALTED]  # halted before any cancel went out
    assert desk.ctx.open_orders() == []
    assert desk.risk.state is TradingState.HALTED
    assert desk.risk.reason == "kill switch: runaway strategy"
    assert desk.ctx.nets[RELIANCE.token] == 120
    assert desk.alerts[-1][0] is Severity.CRITICAL


async def test_kill_with_flatten_closes_every_position_through_risk() -> None:
    desk = loaded_desk()
    execution = FakeExecution(desk)
    report = await desk.risk.kill("flatten now", True, execution.cancel_all, execution.flatten_all)
    assert report.ok and report.flattened
    assert all(net == 0 for net in desk.ctx.nets.values())
    # 3,600 NIFTY options are sliced by the 1,800 freeze quantity.
    assert execution.verdicts == [None, None, None]
    assert desk.risk.state is TradingState.HALTED
    assert desk.ctx.open_orders() == []


async def test_reconciliation_does_not_undo_a_kill() -> None:
    desk = loaded_desk()
    execution = FakeExecution(desk)
    await desk.risk.kill("test", False, execution.cancel_all, execution.flatten_all)
    assert desk.risk.reconciled() is False
    assert desk.risk.state is TradingState.HALTED
    desk.risk.resume("AB1234")
    assert desk.risk.state is TradingState.ACTIVE


async def test_kill_switch_orders_outside_a_kill_are_rejected() -> None:
    desk = loaded_desk()
    desk.risk.halt("operator")
    cmd = submit(
        side=Side.SELL, quantity=120, order_type=OrderType.MARKET, strategy_id=KILL_SWITCH_STRATEGY
    )
    assert desk.check(cmd) == (
        "rejected by trading_state: kill-switch orders are accepted only while the kill switch flattens"
    )


async def test_only_reducing_market_orders_pass_during_flatten() -> None:
    desk = loaded_desk()
    verdicts: dict[str, str | None] = {}

    async def flatten_all() -> None:
        def mark(**kw: object) -> object:
            return submit(strategy_id=KILL_SWITCH_STRATEGY, **kw)  # type: ignore[arg-type]

        verdicts["grow"] = desk.check(mark(side=Side.BUY, quantity=10, order_type=OrderType.MARKET))
        verdicts["limit"] = desk.check(mark(side=Side.SELL, quantity=10, price=1519.0))
        verdicts["strategy"] = desk.check(submit(side=Side.SELL, quantity=10, price=1518.0))
        with_no_protection = mark(side=Side.SELL, quantity=10, order_type=OrderType.MARKET)
        with_no_protection = msgspec.structs.replace(with_no_protection, market_protection=0.0)
        verdicts["protection"] = desk.check(with_no_protection)
        with_protection = msgspec.structs.replace(with_no_protection, market_protection=-1.0)
        verdicts["ok"] = desk.check(with_protection)
        with pytest.raises(RiskError, match="still flattening"):
            desk.risk.resume("AB1234")

    async def cancel_all() -> None:
        return None

    await desk.risk.kill("check flatten rules", True, cancel_all, flatten_all)
    assert (
        verdicts["grow"]
        == "rejected by trading_state: kill-switch flatten order would not reduce the position"
    )
    assert (
        verdicts["limit"]
        == "rejected by trading_state: kill-switch flatten orders must be new MARKET orders"
    )
    assert verdicts["strategy"] is not None and "HALTED" in verdicts["strategy"]
    assert verdicts["protection"] is not None and verdicts["protection"].startswith(
        "rejected by market_protection"
    )
    assert verdicts["ok"] is None


async def test_failing_cancel_is_reported_and_flatten_still_runs() -> None:
    desk = loaded_desk()
    execution = FakeExecution(desk)

    async def broken_cancel() -> None:
        raise ConnectionError("broker unreachable")

    report = await desk.risk.kill("broker trouble", True, broken_cancel, execution.flatten_all)
    assert not report.ok
    assert report.errors == ("kill switch cancel all failed: ConnectionError: broker unreachable",)
    assert report.flattened
    assert desk.risk.state is TradingState.HALTED
    assert any("cancel all failed" in a[2] and a[0] is Severity.CRITICAL for a in desk.alerts)
