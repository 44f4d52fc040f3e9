"""The trading journal counts a row as unwritten until the ledger has committed it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.trading.journal import Journal


class _SlowLedger:
    """Holds each write until the test lets it finish or fail (unit-test stand-in)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.fail = False
        self.batches: list[dict[str, Any]] = []

    async def write_batch(self, **rows: Any) -> None:
        await self.release.wait()
        if self.fail:
            raise ConnectionError("database went away")
        self.batches.append(rows)


async def test_rows_in_a_write_in_flight_are_still_unwritten() -> None:
    journal, ledger = Journal(), _SlowLedger()
    journal.position((1, "CNC", "manual"), {"net_quantity": 5})
    flushing = asyncio.create_task(journal.flush(ledger))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    # Handed to the ledger but not committed: a kill now would lose it.
    assert journal.pending == 0 and journal.unwritten == 1
    ledger.release.set()
    await flushing
    assert journal.unwritten == 0 and len(ledger.batches) == 1


async def test_a_failed_write_puts_its_rows_back_as_unwritten() -> None:
    journal, ledger = Journal(), _SlowLedger()
    journal.position((1, "CNC", "manual"), {"net_quantity": 5})
    ledger.fail = True
    ledger.release.set()
    with pytest.raises(ConnectionError):
        await journal.flush(ledger)  # type: ignore[arg-type]
    assert journal.pending == journal.unwritten == 1
