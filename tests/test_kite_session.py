"""A live desk process against the fake Kite, killed with SIGKILL at the worst moment.

The engine runs in a child process (``tests/trading_helpers/engine_proc.py``, a Kernel
configured like ``alphapt-tui --no-ui --live``) with the Kite feed and the Kite broker,
talking to the fake Kite in this process over real sockets. Kite ticks reach the
market cache; then an order is placed, Kite carries it out but its answer is held,
and the desk is SIGKILLed before it can write Kite's answer to its ledger. Kite fills
the order while the desk is down. The restarted desk adopts the order by its tag —
COMPLETE, one fill, the position — places nothing twice, and trades again; a fill
while the ticker websocket is down is recovered by polling the order book.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.clock import LiveClock, now_ist
from engine.instruments import InstrumentsService
from engine.kite.rest import KiteRest
from engine.kite.session import KiteSession
from engine.kite.token_store import save_session
from tests.kite_fake.server import FakeKite
from tests.test_kite_live import LIMITS
from tests.test_trading_crash import EngineProcess

SYMBOL = "ADANIPORTS"  # in the default watchlist (the dump's first 52 instruments)


def places(kite: FakeKite) -> list[Any]:
    return [r for r in kite.requests if r.method == "POST" and r.path.startswith("/orders/")]


def wait_for(ask: Any, done: Any, what: str) -> Any:
    for _ in range(400):
        answer = ask()
        if done(answer):
            return answer
        subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError(f"timed out waiting for {what}")


async def prepare_data_dir(data_dir: Path, kite: FakeKite) -> None:
    """What `alphapt-tui login` leaves: a stored session and today's instruments dump."""
    clock = LiveClock()
    now = now_ist(clock)
    session = KiteSession(kite.access_token, kite.user_id, now, now + timedelta(days=1))
    save_session(data_dir / "kite" / "session.json", session)
    async with KiteRest(kite.root, kite.api_key, lambda: kite.access_token) as rest:
        await InstrumentsService(data_dir, clock, rest).ensure()


def live_engine(tmp_path: Path, kite: FakeKite) -> EngineProcess:
    return EngineProcess(
        tmp_path,
        ALPHAPT_MODE="live",
        ALPHAPT_FEED__SOURCE="kite",
        ALPHAPT_KITE__API_KEY=kite.api_key,
        ALPHAPT_KITE__ROOT=kite.root,
        ALPHAPT_KITE__WS_URL=f"ws://127.0.0.1:{kite.port}/",
        ALPHAPT_KITE__RECONNECT_INITIAL_S="0.05",
        ALPHAPT_KITE__ORDER_POLL_INTERVAL_S="0.2",
        **LIMITS,
    )


def order_status(engine: EngineProcess, coid: str) -> Any:
    def ask() -> str:
        return next(
            o["status"] for o in engine.ask("state")["orders"] if o["client_order_id"] == coid
        )

    return ask


def order(token: int, quantity: int, order_type: str, **kw: Any) -> dict[str, Any]:
    return {
        "user": "AB1234",
        "exchange": "NSE",
        "tradingsymbol": SYMBOL,
        "instrument_token": token,
        "side": "BUY",
        "order_type": order_type,
        "product": "CNC",
        "quantity": quantity,
        "market_protection": -1.0 if order_type == "MARKET" else 0.0,
        **kw,
    }


@pytest.mark.slow
async def test_sigkill_between_kites_answer_and_the_ledger_then_restart_adopts_by_tag(
    tmp_path: Path,
) -> None:
    async with FakeKite(seed_orders=False, tick_interval=0.05, heartbeat_interval=0.2) as kite:
        await prepare_data_dir(tmp_path / "data", kite)
        token = kite.market.lookup("NSE", SYMBOL).token
        engine = live_engine(tmp_path, kite)
        try:
            ltp = wait_for(
                lambda: engine.ask("ltp", symbol=SYMBOL)["ltp"], bool, "Kite ticks in the cache"
            )
            price = round(round(ltp / 0.05) * 0.05, 2)
            kite.hold_next_place()
            placed = engine.ask("submit", **order(token, 5, "LIMIT", price=price))
            assert placed["ok"], placed
            coid = placed["client_order_id"]
            assert kite.place_held.wait(20), "the place never reached Kite"
        finally:
            engine.kill9()
        (on_kite,) = kite.orders(tag=coid)
        kite.fill_order(on_kite["order_id"], price=price)  # while the desk is down

        again = live_engine(tmp_path, kite)
        try:
            state = again.ask("state")
            (adopted,) = [o for o in state["orders"] if o["client_order_id"] == coid]
            assert adopted["status"] == "COMPLETE"
            assert adopted["broker_order_id"] == on_kite["order_id"]
            assert [(f["quantity"], f["price"]) for f in state["fills"]] == [(5, price)]
            assert [p["net_quantity"] for p in state["positions"]] == [5]
            assert len(places(kite)) == 1 and len(kite.orders(tag=coid)) == 1
            # Reconciliation passed (trading ACTIVE): a new order goes to Kite and fills.
            wait_for(lambda: again.ask("ltp", symbol=SYMBOL)["ltp"], bool, "ticks after restart")
            market = again.ask("submit", **order(token, 2, "MARKET"))
            assert market["ok"], market
            wait_for(
                lambda: again.ask("state"),
                lambda s: [p["net_quantity"] for p in s["positions"]] == [7],
                "the second order to fill",
            )
            assert len(places(kite)) == 2
            # The ticker (and its order updates) goes down; a fill meanwhile is polled.
            resting = again.ask("submit", **order(token, 1, "LIMIT", price=price))
            assert resting["ok"], resting
            status = order_status(again, resting["client_order_id"])
            wait_for(status, lambda st: st == "OPEN", "the resting order to open")
            kite.refuse_websockets(1_000_000)
            kite.drop_websockets()
            (rest_on_kite,) = kite.orders(tag=resting["client_order_id"])
            kite.fill_order(rest_on_kite["order_id"], price=price)
            wait_for(status, lambda st: st == "COMPLETE", "the fill to be polled")
            kite.allow_websockets()
        finally:
            again.kill9()
