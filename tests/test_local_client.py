"""The in-process engine client: answers, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest

from engine.client import LocalEngineClient


class _PendingEngine:
    """Hands out futures the test resolves itself (stands in for the engine thread)."""

    def __init__(self) -> None:
        self.futures: list[concurrent.futures.Future] = []
        self.kernel = self  # strategy_views is looked up on it, never called here

    def strategy_views(self) -> tuple:
        raise AssertionError("the engine thread would run this, not the test")

    def call(self, function) -> concurrent.futures.Future:  # type: ignore[no-untyped-def]
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.futures.append(future)
        return future


async def test_cancellation_that_lands_as_the_answer_arrives_still_cancels() -> None:
    # The UI's refresh timer is cancelled at exit; if the engine's answer arrives in the
    # same loop turn the cancellation must win, or the timer keeps running and exit hangs.
    engine = _PendingEngine()
    client = LocalEngineClient(engine, timeout=5.0)  # type: ignore[arg-type]
    task = asyncio.create_task(client.strategies())
    await asyncio.sleep(0)
    engine.futures[0].set_result(())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_answer_is_returned() -> None:
    engine = _PendingEngine()
    client = LocalEngineClient(engine, timeout=5.0)  # type: ignore[arg-type]
    task = asyncio.create_task(client.strategies())
    await asyncio.sleep(0)
    engine.futures[0].set_result(("a",))
    assert await task == ("a",)


async def test_no_answer_times_out() -> None:
    engine = _PendingEngine()
    client = LocalEngineClient(engine, timeout=0.01)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        await client.strategies()
