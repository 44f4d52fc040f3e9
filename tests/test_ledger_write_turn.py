"""Concurrent writes to an SQLite ledger take turns in the process, not in SQLite's busy handler.

With SQLite's busy timeout at zero, a writer that found another one mid-transaction
would fail with "database is locked"; queued in the ledger, every write goes through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.clock import TestClock
from engine.ledger import Ledger, event_row
from engine.ledger import connect as ledger_connect
from engine.ledger.migrate import upgrade
from engine.orders.events import OrderAccepted
from tests.test_ledger import make_fill, make_order

WRITERS = 24


async def test_concurrent_sqlite_writes_all_commit_without_busy_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger' / 'ledger.db'}"
    await upgrade(url)
    monkeypatch.setattr(ledger_connect, "SQLITE_BUSY_TIMEOUT_S", 0.0)
    ledger = await Ledger.open(url, TestClock())
    try:
        coids = [f"0ABCDEFGH12340000{i:02d}" for i in range(WRITERS)]

        async def write(i: int, coid: str) -> None:
            accepted = OrderAccepted(
                event_id=f"E{i}", ts_ns=1_500 + i, client_order_id=coid, broker_order_id=f"B{i}"
            )
            await ledger.write_batch(
                orders=[make_order(coid)],
                events=[event_row(accepted, 2)],
                fills=[make_fill(f"T{i}", coid)],
            )

        await asyncio.gather(*(write(i, coid) for i, coid in enumerate(coids)))
        assert sorted(o["client_order_id"] for o in await ledger.load_orders()) == coids
        assert len(await ledger.load_events()) == WRITERS
        assert len(await ledger.load_fills()) == WRITERS
    finally:
        await ledger.close()
