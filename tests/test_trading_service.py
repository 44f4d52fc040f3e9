"""The trading service end to end on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.alerts import Severity
from engine.ledger import LedgerUnavailable, SchemaBehind
from engine.ledger.migrate import upgrade
from engine.orders import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderStatus,
    OrderType,
    Product,
    Side,
)
from tests.services import temporary_database
from tests.test_ledger import db_url  # noqa: F401  (fixture: SQLite file or fresh PostgreSQL)
from tests.trading_helpers import EQ, Desk, order_cmd, trading_settings

BOOK = {"asks": [(100.0, 50), (100.05, 50)], "bids": [(99.95, 50)]}


@pytest.fixture
async def ledger_url(db_url: str) -> str:  # noqa: F811
    await upgrade(db_url)
    return db_url


async def open_desk(tmp_path: Path, url: str, desk: Desk | None = None) -> Desk:
    new = Desk(trading_settings(tmp_path / "data", url), desk.clock if desk else None)
    await new.service.start()
    return new


@pytest.fixture
async def desk(tmp_path: Path, ledger_url: str) -> AsyncIterator[Desk]:
    d = await open_desk(tmp_path, ledger_url)
    d.tick(EQ.token, 100.0, **BOOK)
    yield d
    if d.service.ready:
        await d.service.stop()


async def test_restart_gives_the_same_orders_fills_positions_and_pnl(
    desk: Desk, tmp_path: Path, ledger_url: str
) -> None:
    s = desk.service
    assert (await s.submit(order_cmd(quantity=10))).ok
    assert (await s.submit(order_cmd(Side.SELL, 4, product=Product.CNC))).ok
    resting = await s.submit(order_cmd(quantity=5, order_type=OrderType.LIMIT, price=98.0))
    cancelled = await s.submit(order_cmd(quantity=5, order_type=OrderType.LIMIT, price=97.0))
    assert (
        await s.cancel(CancelOrder(user="AB1234", client_order_id=cancelled.client_order_id))
    ).ok
    desk.tick(EQ.token, 101.0, **BOOK)
    before = desk.state()
    await s.stop()

    again = await open_desk(tmp_path, ledger_url, desk)
    again.tick(EQ.token, 101.0, **BOOK)
    assert again.state() == before
    assert again.service.positions()[0].realized_pnl == pytest.approx(4 * (99.95 - 100.0))
    again.tick(EQ.token, 97.95, asks=[(98.5, 10)])
    assert again.order(resting.client_order_id).status is OrderStatus.COMPLETE
    await again.service.stop()


async def test_events_reach_the_bus_and_the_ledger_in_batches(desk: Desk) -> None:
    orders = desk.bus.subscribe("test-orders", ["orders.manual"])
    fills = desk.bus.subscribe("test-fills", ["fills.manual"])
    result = await desk.service.submit(order_cmd(quantity=10))
    kinds = []
    while (item := orders.get_nowait()) is not None:
        kinds.append(type(item[1]).__name__)
    assert kinds == [
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderFilled",
    ]
    assert fills.depth == 1
    ledger = desk.service.ledger
    assert ledger is not None
    assert len(await ledger.load_events()) == 1, "only the first event is written before sending"
    await desk.service.housekeeping()
    assert len(await ledger.load_events()) == 4
    assert [f["trade_id"] for f in await ledger.load_fills()] == [f"{result.client_order_id}.1"]
    stored = (await ledger.load_positions())[0]
    assert (stored["net_quantity"], stored["average_price"]) == (10, 100.0)


async def test_risk_rejection_is_recorded_as_a_rejected_order(desk: Desk) -> None:
    desk.service.pre_trade = lambda cmd, ctx: "max order value exceeded"
    result = await desk.service.submit(order_cmd(quantity=10))
    assert not result.ok and "max order value exceeded" in result.message
    order = desk.order(result.client_order_id)
    assert order.status is OrderStatus.REJECTED
    assert desk.service.ledger is not None
    rows = await desk.service.ledger.load_orders()
    assert [(r["status"], r["status_message"]) for r in rows] == [
        ("REJECTED", "max order value exceeded")
    ]
    assert len(await desk.service.ledger.load_events()) == 2


async def test_a_failing_risk_check_rejects(desk: Desk) -> None:
    def broken(cmd: object, ctx: object) -> str | None:
        raise RuntimeError("boom")

    desk.service.pre_trade = broken
    result = await desk.service.submit(order_cmd(quantity=1))
    assert not result.ok and "risk check failed" in result.message


async def test_the_risk_check_sees_the_trading_context(desk: Desk) -> None:
    await desk.service.submit(order_cmd(quantity=10))
    seen = {}

    def check(cmd: object, ctx) -> str | None:  # type: ignore[no-untyped-def]
        seen.update(
            net=ctx.net_position(EQ.token),
            ltp=ctx.ltp(EQ.token),
            open=len(ctx.open_orders()),
            capital=ctx.funds().starting_capital,
            known=ctx.instrument(EQ.token) is not None,
        )
        return None

    desk.service.pre_trade = check
    assert (await desk.service.submit(order_cmd(quantity=1))).ok
    assert seen == {"net": 10, "ltp": 100.0, "open": 0, "capital": 1_000_000.0, "known": True}


async def test_modify_and_cancel(desk: Desk) -> None:
    s = desk.service
    placed = await s.submit(order_cmd(quantity=5, order_type=OrderType.LIMIT, price=98.0))
    coid = placed.client_order_id
    assert coid is not None and coid in placed.message
    modified = await s.modify(ModifyOrder(user="AB1234", client_order_id=coid, price=100.05))
    assert modified.ok, modified.message
    assert desk.order(coid).status is OrderStatus.COMPLETE
    refused = await s.modify(ModifyOrder(user="AB1234", client_order_id=coid, price=99.0))
    assert not refused.ok and "COMPLETE" in refused.message
    off_grid = await s.submit(order_cmd(quantity=5, order_type=OrderType.LIMIT, price=97.0))
    bad = await s.modify(
        ModifyOrder(user="AB1234", client_order_id=off_grid.client_order_id, price=97.01)
    )
    assert not bad.ok and "tick size" in bad.message
    await s.submit(order_cmd(quantity=5, order_type=OrderType.LIMIT, price=96.0))
    result = await s.cancel_all(CancelAllOrders(user="AB1234"))
    assert result.ok and "2 order" in result.message
    assert [o.status for o in s.orders()][-2:] == [OrderStatus.CANCELLED] * 2


async def test_ledger_down_refuses_orders_alerts_and_loses_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = desk.service
    ledger = s.ledger
    assert ledger is not None
    resting = await s.submit(order_cmd(quantity=5, order_type=OrderType.LIMIT, price=99.0))

    async def down(*_a: object, **_k: object) -> None:
        raise LedgerUnavailable("ledger database is unavailable: connection refused")

    real_write, real_ping = ledger.write_batch, ledger.ping
    monkeypatch.setattr(ledger, "write_batch", down)
    monkeypatch.setattr(ledger, "ping", down)
    refused = await s.submit(order_cmd(quantity=1))
    assert not refused.ok and "ledger unavailable" in refused.message
    assert any(sev is Severity.CRITICAL for sev, _, _ in desk.alerts)
    assert not (await s.submit(order_cmd(quantity=1))).ok
    desk.tick(EQ.token, 98.95, asks=[(99.5, 10)])  # the accepted order keeps working
    assert desk.order(resting.client_order_id).status is OrderStatus.COMPLETE
    await s.housekeeping()
    assert s.journal.pending > 0
    monkeypatch.setattr(ledger, "write_batch", real_write)
    monkeypatch.setattr(ledger, "ping", real_ping)
    desk.clock.advance(s.paper.ledger_retry_s)
    await s.housekeeping()
    assert s.ledger_up and s.journal.pending == 0
    assert desk.alerts[-1][0] is Severity.INFO
    stored = {r["client_order_id"]: r["status"] for r in await real_write.__self__.load_orders()}
    assert stored == {resting.client_order_id: "COMPLETE"}
    assert len(await ledger.load_fills()) == 1
    assert (await s.submit(order_cmd(quantity=1))).ok


async def test_estimate_lists_every_problem(desk: Desk) -> None:
    good = desk.service.estimate(order_cmd(quantity=10))
    assert good.ok and good.value == pytest.approx(1000.0) and good.charges > 0
    assert good.margin_required == pytest.approx(1000.0)
    bad = desk.service.estimate(
        order_cmd(quantity=0, order_type=OrderType.LIMIT, price=100.01, product=Product.NRML)
    )
    assert len(bad.problems) == 3
    broke = desk.service.estimate(order_cmd(quantity=20_000))
    assert any("insufficient funds" in p for p in broke.problems)
    mis = desk.service.estimate(order_cmd(quantity=20_000, product=Product.MIS))
    assert mis.ok and mis.margin_required == pytest.approx(400_000.0)


async def test_a_server_ledger_that_is_behind_is_refused_in_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    # Only a server ledger: the embedded SQLite one migrates itself.
    async with temporary_database(postgres_url) as url:
        desk = Desk(trading_settings(tmp_path / "data", url))
        with pytest.raises(SchemaBehind) as raised:
            await desk.service.start()
    assert "alphapt-tui migrate" in str(raised.value) and "\n" not in str(raised.value)


async def test_exposures_and_charges_from_positions_match_the_position_views(desk: Desk) -> None:
    # The P&L monitors read exposures straight from the positions and charges from a
    # running total; both must equal what the views and a fresh sum give.
    from engine.risk.checks.exposure import instrument_exposures, position_marks

    s = desk.service
    assert (await s.submit(order_cmd(quantity=10))).ok
    assert (await s.submit(order_cmd(Side.SELL, 4, product=Product.MIS))).ok
    desk.tick(EQ.token, 101.0, **BOOK)
    nets: dict[int, int] = {}
    ltps: dict[int, float] = {}
    for view in s.positions():
        nets[view.instrument_token] = nets.get(view.instrument_token, 0) + view.net_quantity
        ltps[view.instrument_token] = view.ltp
    assert instrument_exposures(s) == {t: abs(n) * ltps[t] for t, n in nets.items()}
    assert position_marks(s) == [(v.instrument_token, v.net_quantity, v.ltp) for v in s.positions()]
    # ...and the monitors' one-pass sums equal the account's and the exposures' own.
    assert len(s.portfolio.positions) == 2
    assert s.pnl_marks() == (s.funds().net_pnl, sum(instrument_exposures(s).values()))
    desk.tick(EQ.token, 98.35, **BOOK)
    net_pnl, gross = s.pnl_marks()
    assert net_pnl == s.funds().net_pnl < 0
    assert gross == abs(10 - 4) * 98.35
    position = next(iter(s.portfolio.positions.values()))
    before = position.charges
    assert before == sum(position._order_charges.values()) > 0
    assert (await s.submit(order_cmd(quantity=3))).ok
    assert position.charges == sum(position._order_charges.values()) > before
