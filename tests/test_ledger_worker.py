"""The SQLite ledger's worker thread: every operation runs there, one at a time, in order.

Writes take turns in the process, not in SQLite's busy handler: with the busy timeout
at zero, a writer that found another one mid-transaction would fail with "database is
locked"; queued in the worker, every write goes through.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.clock import TestClock
from engine.ledger import Ledger, LedgerError, LedgerUnavailable, event_row
from engine.ledger import connect as ledger_connect
from engine.ledger.migrate import upgrade
from engine.ledger.runner import WORKER_THREAD_PREFIX
from engine.orders.events import OrderAccepted
from tests.test_ledger import make_fill, make_order

WRITERS = 24


@pytest.fixture
async def url(tmp_path: Path) -> str:
    migrated = f"sqlite+aiosqlite:///{tmp_path / 'ledger' / 'ledger.db'}"
    await upgrade(migrated)
    return migrated


@pytest.fixture
async def ledger(url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Ledger]:
    monkeypatch.setattr(ledger_connect, "SQLITE_BUSY_TIMEOUT_S", 0.0)
    opened = await Ledger.open(url, TestClock())
    try:
        yield opened
    finally:
        await opened.close()


def _workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(WORKER_THREAD_PREFIX)}


def _audit(i: int) -> dict[str, object]:
    return {"user": "AB1234", "session": "s", "source": "ui", "action": f"a{i}"}


async def test_concurrent_sqlite_writes_all_commit_without_busy_waiting(ledger: Ledger) -> None:
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


async def test_writes_from_many_tasks_commit_in_the_order_they_were_made(ledger: Ledger) -> None:
    results = await asyncio.gather(*(ledger.write_batch(audit=[_audit(i)]) for i in range(WRITERS)))
    ids = [result.audit_ids[0] for result in results]
    assert ids == sorted(ids) and len(set(ids)) == WRITERS
    rows = await ledger.audit(0, 2**62)
    assert [row["action"] for row in rows] == [f"a{i}" for i in range(WRITERS)]


async def test_every_operation_runs_on_one_worker_thread_that_close_stops(url: str) -> None:
    before = _workers()
    ledger = await Ledger.open(url, TestClock())
    await ledger.write_batch(audit=[_audit(0)])
    await ledger.load_orders()
    started = _workers() - before
    assert len(started) == 1
    [worker] = started

    await ledger.close()
    assert not worker.is_alive()
    await ledger.close()  # a second close is harmless
    with pytest.raises(LedgerError, match="closed"):
        await ledger.write_batch(audit=[_audit(1)])


async def test_close_lets_the_operations_already_handed_in_finish(url: str) -> None:
    ledger = await Ledger.open(url, TestClock())
    writes = [asyncio.ensure_future(ledger.write_batch(audit=[_audit(i)])) for i in range(5)]
    await asyncio.sleep(0)  # each write is handed to the worker
    await ledger.close()
    assert all(len(w.result().audit_ids) == 1 for w in writes)

    again = await Ledger.open(url, TestClock())
    try:
        assert len(await again.audit(0, 2**62)) == 5
    finally:
        await again.close()


async def test_a_database_locked_by_another_process_is_unavailable_and_passes(
    ledger: Ledger, url: str
) -> None:
    path = url.split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LedgerUnavailable, match="database is locked"):
            await ledger.write_batch(audit=[_audit(0)])
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The worker survived the error and the failed batch left nothing behind.
    assert len((await ledger.write_batch(audit=[_audit(1)])).audit_ids) == 1
    assert [row["action"] for row in await ledger.audit(0, 2**62)] == ["a1"]


async def test_a_refused_row_is_a_ledger_error_raised_in_the_caller(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="refused the operation") as raised:
        await ledger.write_batch(audit=[{**_audit(0), "user": None}])
    assert not isinstance(raised.value, LedgerUnavailable)


OPEN_AND_WRITE = """
import asyncio, sys
from pathlib import Path
from engine.clock import TestClock
from engine.ledger import LedgerSettings, open_ledger

async def main():
    ledger = await open_ledger(LedgerSettings(), Path(sys.argv[1]), TestClock())
    await ledger.append_audit(user="u", session="s", source="ui", action="a")
    await ledger.close()

asyncio.run(main())
print("aiosqlite" in sys.modules)
"""


def test_the_sqlite_ledger_needs_no_async_driver(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_WRITE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]  # migrated, opened, written: all on sqlite3


async def test_a_ledger_on_the_loop_runs_every_operation_on_the_callers_thread(url: str) -> None:
    before = _workers()
    seen: set[threading.Thread] = set()
    ledger = await Ledger.open(url, TestClock(), sqlite_synchronous="NORMAL", sqlite_on_loop=True)
    try:
        results = await asyncio.gather(
            *(ledger.write_batch(audit=[_audit(i)]) for i in range(WRITERS))
        )
        seen |= set(await ledger._runner.run(lambda conn: [threading.current_thread()]))
        rows = await ledger.audit(0, 2**62)
    finally:
        await ledger.close()
    assert seen == {threading.current_thread()}
    assert _workers() == before  # no worker thread was started
    ids = [result.audit_ids[0] for result in results]
    assert ids == sorted(ids) and [row["action"] for row in rows] == [
        f"a{i}" for i in range(WRITERS)
    ]
    with pytest.raises(LedgerError, match="closed"):
        await ledger.write_batch(audit=[_audit(0)])

    again = await Ledger.open(url, TestClock())  # what it wrote is committed
    try:
        assert len(await again.audit(0, 2**62)) == WRITERS
    finally:
        await again.close()
