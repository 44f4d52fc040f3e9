"""Live execution on Kite against the fake Kite server over real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from engine.alerts import Severity
from engine.clock import LiveClock, now_ist
from engine.kernel import Kernel
from engine.kite.session import KiteSession
from engine.kite.token_store import save_session
from engine.model import MarketDay
from engine.orders import CancelOrder, ModifyOrder, OrderStatus, OrderType
from engine.risk.manager import RiskManager
from engine.risk.settings import MONEY_LIMITS, RiskSettings
from engine.settings import Settings, load_settings
from engine.trading.live import KiteBroker
from engine.trading.live.mapping import STATIC_IP_REASON
from tests.kite_fake import server as fake_server
from tests.trading_helpers import EQ, Desk, order_cmd

FakeKite = fake_server.FakeKite
DAY = MarketDay(EQ.instrument_token, prev_close=1518.4, lower_circuit=1366.6, upper_circuit=1670.2)


def live_settings(data_dir: Path, kite: Any, timeout_s: float = 2.0) -> Settings:
    clock = LiveClock()
    now = now_ist(clock)
    session = KiteSession(kite.access_token, kite.user_id, now, now + timedelta(days=1))
    save_session(data_dir / "kite" / "session.json", session)
    return load_settings(
        mode="live",
        data_dir=data_dir,
        feed={"session": "ist"},
        metrics={"enabled": False},
        storage={"enabled": False},
        kite={"root": kite.root, "api_key": kite.api_key, "request_timeout_s": timeout_s},
    )


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``check`` until truthy (or fail after ``timeout`` seconds)."""
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(0.01)
    return result


async def pump_order_updates(url: str, broker: KiteBroker, ready: asyncio.Event) -> None:
    """Forward Kite's websocket order updates to the broker, as KiteFeed does."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        ready.set()
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                obj = json.loads(msg.data)
                if obj.get("type") == "order":
                    broker.on_order_update(obj["data"])


class LiveDesk(Desk):
    """A trading service in live mode on the fake Kite, with its order updates pumped."""

    kite: Any
    pump: asyncio.Task[None] | None = None

    @property
    def broker(self) -> KiteBroker:
        broker = self.service.broker
        assert isinstance(broker, KiteBroker)
        return broker

    async def start(self, pump: bool = True) -> LiveDesk:
        await self.service.start()
        if pump:
            ready = asyncio.Event()
            self.pump = asyncio.create_task(
                pump_order_updates(self.kite.ws_url(), self.broker, ready)
            )
            await asyncio.wait_for(ready.wait(), 5)
        return self

    async def stop(self) -> None:
        if self.pump is not None:
            self.pump.cancel()
            await asyncio.gather(self.pump, return_exceptions=True)
        if self.service.ready:
            await self.service.stop()


def new_desk(tmp_path: Path, kite: Any, timeout_s: float = 2.0) -> LiveDesk:
    desk = LiveDesk(live_settings(tmp_path / "data", kite, timeout_s), LiveClock())  # type: ignore[arg-type]
    desk.kite = kite
    desk.cache.set_market_days([DAY])
    return desk


@pytest.fixture
async def kite() -> AsyncIterator[Any]:
    fake = FakeKite(seed_orders=False, tick_interval=None, heartbeat_interval=None)
    async with fake:
        yield fake


@pytest.fixture
async def desk(tmp_path: Path, kite: Any) -> AsyncIterator[LiveDesk]:
    d = await new_desk(tmp_path, kite, timeout_s=0.5).start()
    yield d
    await d.stop()


def places(kite: Any) -> list[Any]:
    return [r for r in kite.requests if r.method == "POST" and r.path.startswith("/orders/")]


def limit(quantity: int = 5, price: float = 1500.0) -> Any:
    return order_cmd(quantity=quantity, order_type=OrderType.LIMIT, price=price)


async def test_limit_order_rests_fills_on_update_and_opens_a_position(desk: LiveDesk) -> None:
    result = await desk.service.submit(limit())
    assert result.ok, result.message
    coid = result.client_order_id
    order = await eventually(
        lambda: desk.order(coid).status is OrderStatus.OPEN and desk.order(coid)
    )
    on_kite = desk.kite.orders(tag=coid)
    assert len(on_kite) == 1 and on_kite[0]["order_id"] == order.broker_order_id
    assert "market_protection" not in places(desk.kite)[0].params
    await asyncio.to_thread(desk.kite.fill_order, order.broker_order_id, price=1499.5)
    await eventually(lambda: desk.order(coid).status is OrderStatus.COMPLETE)
    fills = desk.service.fills()
    assert [(f.quantity, f.price, f.client_order_id) for f in fills] == [(5, 1499.5, coid)]
    (position,) = desk.service.positions()
    assert position.net_quantity == 5
    assert coid not in desk.broker.working


async def test_market_order_carries_market_protection_and_completes(desk: LiveDesk) -> None:
    result = await desk.service.submit(order_cmd(quantity=3))
    coid = result.client_order_id
    await eventually(lambda: desk.order(coid).status is OrderStatus.COMPLETE)
    (placed,) = places(desk.kite)
    assert placed.params["market_protection"] == ["-1"]
    assert placed.params["tag"] == [coid]
    assert desk.service.positions()[0].net_quantity == 3


async def test_modify_then_cancel(desk: LiveDesk) -> None:
    coid = (await desk.service.submit(limit())).client_order_id
    await eventually(lambda: desk.order(coid).status is OrderStatus.OPEN)
    modified = await desk.service.modify(
        ModifyOrder(user="AB1234", client_order_id=coid, price=1495.0)
    )
    assert modified.ok, modified.message
    await eventually(
        lambda: desk.order(coid).status is OrderStatus.OPEN and desk.order(coid).price == 1495.0
    )
    assert desk.kite.orders(tag=coid)[0]["price"] == 1495.0
    cancelled = await desk.service.cancel(CancelOrder(user="AB1234", client_order_id=coid))
    assert cancelled.ok
    await eventually(lambda: desk.order(coid).status is OrderStatus.CANCELLED)
    assert desk.kite.orders(tag=coid)[0]["status"] == "CANCELLED"


async def test_5xx_after_placing_reconciles_by_tag_and_never_places_twice(
    desk: LiveDesk,
) -> None:
    desk.kite.fail_next(1, 503, process=True)
    coid = (await desk.service.submit(limit())).client_order_id
    assert desk.order(coid).status is OrderStatus.OPEN_PENDING
    order = await eventually(
        lambda: desk.order(coid).status is OrderStatus.OPEN and desk.order(coid)
    )
    on_kite = desk.kite.orders(tag=coid)
    assert len(on_kite) == 1 and order.broker_order_id == on_kite[0]["order_id"]
    assert len(places(desk.kite)) == 1
    assert any("unclear" in a[2] for a in desk.alerts)


async def test_timeout_stays_in_flight_until_found_by_tag(desk: LiveDesk) -> None:
    desk.kite.delay_next(1, seconds=1.0)  # the client gives up after 0.5 s
    coid = (await desk.service.submit(limit())).client_order_id
    await eventually(lambda: any("unclear" in a[2] for a in desk.alerts))
    assert desk.order(coid).status is OrderStatus.OPEN_PENDING
    await eventually(lambda: desk.order(coid).status is OrderStatus.OPEN)
    await desk.broker.idle()
    assert len(desk.kite.orders(tag=coid)) == 1
    assert len(places(desk.kite)) == 1


async def test_rate_limited_place_is_retried(desk: LiveDesk) -> None:
    desk.kite.fail_next(2, 429)
    coid = (await desk.service.submit(limit())).client_order_id
    await eventually(lambda: desk.order(coid).status is OrderStatus.OPEN)
    assert len(places(desk.kite)) == 3
    assert len(desk.kite.orders(tag=coid)) == 1


async def test_expired_token_rejects_and_alerts(desk: LiveDesk) -> None:
    await asyncio.to_thread(desk.kite.expire_token, drop_websockets=False)
    coid = (await desk.service.submit(limit())).client_order_id
    order = await eventually(
        lambda: desk.order(coid).status is OrderStatus.REJECTED and desk.order(coid)
    )
    assert "alphapt-tui login" in order.status_message
    assert any(s is Severity.CRITICAL and "login" in m for s, _, m in desk.alerts)
    assert desk.kite.orders(tag=coid) == []


async def test_static_ip_refusal_says_why_in_one_line(desk: LiveDesk) -> None:
    desk.kite.fail_next(
        1, 403, error_type="PermissionException", message="IP address not whitelisted"
    )
    coid = (await desk.service.submit(limit())).client_order_id
    order = await eventually(
        lambda: desk.order(coid).status is OrderStatus.REJECTED and desk.order(coid)
    )
    assert order.status_message == STATIC_IP_REASON and "\n" not in STATIC_IP_REASON


async def test_broker_rejection_from_order_update(desk: LiveDesk) -> None:
    coid = (await desk.service.submit(limit())).client_order_id
    order = await eventually(
        lambda: desk.order(coid).status is OrderStatus.OPEN and desk.order(coid)
    )
    await asyncio.to_thread(desk.kite.reject_order, order.broker_order_id, "RMS:Margin Exceeds")
    await eventually(lambda: desk.order(coid).status is OrderStatus.REJECTED)
    assert desk.order(coid).status_message == "RMS:Margin Exceeds"


def kernel_reconcile(desk: LiveDesk) -> RiskManager:
    """Run Kernel.reconcile over this desk's trading service and a fresh risk manager."""
    risk = RiskManager(RiskSettings(), desk.clock)
    Kernel.reconcile(SimpleNamespace(trading=desk.service, risk=risk))  # type: ignore[arg-type]
    return risk


async def test_startup_adopts_an_order_only_kite_knows_by_tag(tmp_path: Path, kite: Any) -> None:
    first = await new_desk(tmp_path, kite).start(pump=False)
    sent: list[Any] = []
    first.broker.submit = sent.append  # type: ignore[method-assign]  # SIGKILL before sending
    coid = (await first.service.submit(limit())).client_order_id
    assert first.order(coid).status is OrderStatus.PUT_ORDER_REQ_RECEIVED and sent
    await first.stop()
    # The place did reach Kite (with our tag) before the crash; then the order filled.
    order_id = await placed_directly(kite, coid)
    await asyncio.to_thread(kite.fill_order, order_id, price=1501.0)

    second = await new_desk(tmp_path, kite).start(pump=False)
    try:
        adopted = second.order(coid)
        assert adopted.status is OrderStatus.COMPLETE
        assert adopted.broker_order_id == order_id
        assert [f.price for f in second.service.fills()] == [1501.0]
        assert second.service.positions()[0].net_quantity == 5
        assert len(kite.orders(tag=coid)) == 1 and len(places(kite)) == 1
        assert second.broker.reconcile_problem is None
        assert kernel_reconcile(second).state.value == "ACTIVE"
    finally:
        await second.stop()


async def placed_directly(kite: Any, tag: str) -> str:
    form = {
        "exchange": "NSE",
        "tradingsymbol": "RELIANCE",
        "transaction_type": "BUY",
        "order_type": "LIMIT",
        "quantity": "5",
        "price": "1500",
        "product": "CNC",
        "tag": tag,
    }
    headers = {"Authorization": f"token {kite.api_key}:{kite.access_token}"}
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{kite.root}/orders/regular", data=form, headers=headers) as r,
    ):
        return (await r.json())["data"]["order_id"]


async def test_startup_rejects_a_recorded_order_kite_never_got(tmp_path: Path, kite: Any) -> None:
    first = await new_desk(tmp_path, kite).start(pump=False)
    first.broker.submit = lambda order: None  # type: ignore[method-assign]
    coid = (await first.service.submit(limit())).client_order_id
    await first.stop()
    second = await new_desk(tmp_path, kite).start(pump=False)
    try:
        assert second.order(coid).status is OrderStatus.REJECTED
        assert places(kite) == []
    finally:
        await second.stop()


async def test_failed_positions_query_fails_reconciliation_and_stays_halted(
    tmp_path: Path, kite: Any
) -> None:
    desk = new_desk(tmp_path, kite)
    broker = desk.broker
    real_call = broker.call

    async def call(method: str, path: str, form: Any = None) -> Any:
        if path == "/portfolio/positions":
            await asyncio.to_thread(kite.fail_next, 1, 500)
        return await real_call(method, path, form)

    broker.call = call  # type: ignore[method-assign]
    await desk.start(pump=False)
    try:
        assert broker.reconcile_problem is not None
        assert "positions" in broker.reconcile_problem
        assert any("reconciliation failed" in m for _, _, m in desk.alerts)
        assert kernel_reconcile(desk).state.value == "HALTED"
    finally:
        await desk.stop()


async def test_position_kite_has_but_the_ledger_lacks_fails_reconciliation(
    tmp_path: Path,
) -> None:
    fake = FakeKite(seed_orders=True, tick_interval=None, heartbeat_interval=None)
    async with fake:
        desk = await new_desk(tmp_path, fake).start(pump=False)
        try:
            assert (desk.broker.reconcile_problem or "").startswith("positions differ")
            assert kernel_reconcile(desk).state.value == "HALTED"
        finally:
            await desk.stop()


# -- the --live command line ---------------------------------------------------------------

LIMITS = {
    "ALPHAPT_RISK__ORDER_VALUE__MAX_VALUE": "100000",
    "ALPHAPT_RISK__POSITION_LIMIT__MAX_VALUE": "200000",
    "ALPHAPT_RISK__GROSS_EXPOSURE__MAX_VALUE": "500000",
    "ALPHAPT_RISK__DAILY_LOSS__SOFT_LIMIT": "5000",
    "ALPHAPT_RISK__DAILY_LOSS__HARD_LIMIT": "10000",
    "ALPHAPT_RISK__DRAWDOWN__MAX_VALUE": "20000",
}


@pytest.fixture
def desk_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Settings]:
    """Record the settings the desk would start with instead of starting it."""
    import alphapt_tui.desk

    started: list[Settings] = []
    monkeypatch.setenv("ALPHAPT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(alphapt_tui.desk, "run_desk", lambda s: started.append(s) or 0)
    return started


def run_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    import io

    from alphapt_tui.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_live_refuses_without_every_money_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], desk_runs: list[Any]
) -> None:
    monkeypatch.setenv("ALPHAPT_RISK__ORDER_VALUE__MAX_VALUE", "100000")
    assert run_cli(monkeypatch, ["--live"], "LIVE\n") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(MONEY_LIMITS) - 1 and all(
        "live mode refused: risk." in line for line in err
    )
    assert not any("order_value" in line for line in err)
    assert desk_runs == []


@pytest.mark.parametrize("typed", ["", "live\n", "yes\n", "LIVE NOW\n"])
def test_live_needs_live_typed_exactly(
    monkeypatch: pytest.MonkeyPatch, desk_runs: list[Any], typed: str
) -> None:
    for key, value in LIMITS.items():
        monkeypatch.setenv(key, value)
    assert run_cli(monkeypatch, ["--live"], typed) == 2
    assert desk_runs == []


def test_live_typed_confirmation_starts_the_desk_in_live_mode(
    monkeypatch: pytest.MonkeyPatch, desk_runs: list[Settings]
) -> None:
    for key, value in LIMITS.items():
        monkeypatch.setenv(key, value)
    assert run_cli(monkeypatch, ["--live"], "LIVE\n") == 0
    assert [s.mode for s in desk_runs] == ["live"]


def test_live_mode_in_settings_without_the_flag_is_refused(
    monkeypatch: pytest.MonkeyPatch, desk_runs: list[Any]
) -> None:
    monkeypatch.setenv("ALPHAPT_MODE", "live")
    assert run_cli(monkeypatch, []) == 2
    assert run_cli(monkeypatch, ["--live", "migrate"]) == 2
    assert desk_runs == []


async def test_fill_update_before_the_trade_book_is_retried(desk: LiveDesk) -> None:
    coid = (await desk.service.submit(limit())).client_order_id
    order = await eventually(
        lambda: desk.order(coid).status is OrderStatus.OPEN and desk.order(coid)
    )
    assert desk.pump is not None
    desk.pump.cancel()  # from here on only the broker's own refreshes see Kite's changes
    await asyncio.gather(desk.pump, return_exceptions=True)
    # Kite says COMPLETE but its trade book has nothing yet (it lags the order update).
    update = {**desk.kite.orders(tag=coid)[0], "status": "COMPLETE", "filled_quantity": 5}
    desk.broker.on_order_update(update)
    await eventually(lambda: desk.broker._trade_retries)
    assert desk.order(coid).status is OrderStatus.OPEN
    await asyncio.to_thread(desk.kite.fill_order, order.broker_order_id, price=1500.0)
    await eventually(lambda: desk.order(coid).status is OrderStatus.COMPLETE)
    assert len(desk.service.fills()) == 1
