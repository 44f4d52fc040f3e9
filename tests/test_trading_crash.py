"""Kill -9 in the middle of a session: the ledger gives back exactly what was there.

An engine process (``tests/trading_helpers/engine_proc.py``, a Kernel configured
like ``alphapt-tui --no-ui``) takes orders, is SIGKILLed, and a new process on
the same data directory must show the same orders, fills, positions and P&L;
its open LIMIT order keeps working and fills.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_daemon import daemon_env, get, start_daemon

HELPER = Path(__file__).parent / "trading_helpers" / "engine_proc.py"
ROOT = Path(__file__).resolve().parents[1]


class EngineProcess:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        environment = daemon_env(
            tmp_path,
            ALPHAPT_METRICS__ENABLED="false",
            ALPHAPT_STORAGE__ENABLED="false",
            ALPHAPT_LOG__LEVEL="warning",
            PYTHONPATH=str(ROOT),
            **env,
        )
        self.process = subprocess.Popen(
            [sys.executable, str(HELPER)],
            env=environment,
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.read() == {"ready": True}

    def read(self) -> Any:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise AssertionError("engine process exited")

    def ask(self, op: str, **fields: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self.read()

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def order(side: str, qty: int, order_type: str = "MARKET", **kw: Any) -> dict[str, Any]:
    return {
        "user": "AB1234",
        "exchange": "NSE",
        "tradingsymbol": "RELIANCE",
        "instrument_token": 738561,
        "side": side,
        "order_type": order_type,
        "product": "CNC",
        "quantity": qty,
        "market_protection": -1.0 if order_type == "MARKET" else 0.0,
        **kw,
    }


def without_marks(state: dict[str, Any]) -> dict[str, Any]:
    """The state minus what depends on the latest LTP (not stored, comes with the next tick)."""
    marks = {"ltp", "unrealized_pnl", "day_pnl"}
    positions = [{k: v for k, v in p.items() if k not in marks} for p in state["positions"]]
    funds = {k: v for k, v in state["funds"].items() if k not in {"unrealized_pnl", "available"}}
    return {**state, "positions": positions, "funds": funds}


def poll(engine: EngineProcess, done: Any, what: str) -> dict[str, Any]:
    for _ in range(200):
        state = engine.ask("state")
        if done(state):
            return state
        subprocess.run(["sleep", "0.05"], check=True)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_kill_9_mid_session_and_restart_gives_the_same_book(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, ALPHAPT_FEED__TICKS_PER_SECOND="2000")
    try:
        ltp = None
        for _ in range(200):
            ltp = engine.ask("ltp", symbol="RELIANCE")["ltp"]
            if ltp:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert ltp
        assert engine.ask("submit", **order("BUY", 10))["ok"]
        assert engine.ask("submit", **order("SELL", 3))["ok"]
        limit_price = round(ltp * 0.98 / 0.05) * 0.05
        resting = engine.ask("submit", **order("BUY", 5, "LIMIT", price=round(limit_price, 2)))
        assert resting["ok"], resting
        cancelled = engine.ask("submit", **order("BUY", 2, "LIMIT", price=round(limit_price, 2)))
        assert engine.ask("cancel", user="AB1234", client_order_id=cancelled["client_order_id"])[
            "ok"
        ]
        # "pending" counts rows not yet committed, in a write in flight too: wait for none.
        before = poll(
            engine,
            lambda s: sum(f["quantity"] for f in s["fills"]) == 13 and s["pending"] == 0,
            "the market orders to fill and reach the ledger",
        )
    finally:
        engine.kill9()

    again = EngineProcess(tmp_path, HOLD_FEED="1")
    try:
        after = again.ask("state")
        assert without_marks(after) == without_marks(before)
        statuses = {o["client_order_id"]: o["status"] for o in after["orders"]}
        assert statuses[resting["client_order_id"]] == "OPEN"
        assert statuses[cancelled["client_order_id"]] == "CANCELLED"
        assert again.ask("tick", symbol="RELIANCE", ltp=round(limit_price - 0.05, 2))["ok"]
        filled = poll(
            again,
            lambda s: any(
                o["client_order_id"] == resting["client_order_id"] and o["status"] == "COMPLETE"
                for o in s["orders"]
            ),
            "the resumed LIMIT order to fill",
        )
        assert filled["positions"][0]["net_quantity"] == 12
    finally:
        again.kill9()


@pytest.mark.slow
def test_the_daemon_runs_execution_and_comes_back_after_kill_9(tmp_path: Path) -> None:
    for _ in range(2):
        process, port = start_daemon(tmp_path, ALPHAPT_STORAGE__ENABLED="false")
        try:
            for _ in range(100):
                _status, body = get(port, "/metrics")
                if 'alphapt_component_up{component="execution"} 1.0' in body:
                    break
                subprocess.run(["sleep", "0.1"], check=True)
            else:
                raise AssertionError("execution never came up")
            assert (tmp_path / "data" / "ledger" / "ledger.db").exists()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
