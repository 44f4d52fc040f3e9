"""A test-only engine process: a Kernel on the live clock, driven by JSON lines on stdin.

Settings come from the environment (``ALPHAPT_*``) exactly as for ``alphapt-tui
--no-ui``. With ``HOLD_FEED=1`` the mock feed does not run until ``resume``, so
a restarted engine can be inspected before any new tick arrives.

Requests (one JSON object per line) and replies (one per request, on stdout):
``submit`` (SubmitOrder fields) / ``cancel`` → the CommandResult; ``state`` →
orders, fills, positions and funds after a flush; ``ltp``; ``tick`` (publish one
synthetic tick); ``resume``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import msgspec

from engine.clock import LiveClock
from engine.kernel import Kernel
from engine.model import Tick
from engine.orders import CancelOrder, SubmitOrder
from engine.settings import load_settings


def reply(payload: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(payload)) + "\n")
    sys.stdout.flush()


async def serve(kernel: Kernel, resume: asyncio.Event) -> None:
    await kernel.started.wait()
    reply({"ready": True})
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return
        request = json.loads(line)
        op = request.pop("op")
        trading = kernel.trading
        if op == "submit":
            reply(await kernel.execute(msgspec.convert(request, SubmitOrder)))
        elif op == "cancel":
            reply(await kernel.execute(msgspec.convert(request, CancelOrder)))
        elif op == "state":
            await trading.flush()
            reply(
                {
                    "orders": trading.orders(),
                    "fills": trading.fills(),
                    "positions": trading.positions(),
                    "funds": trading.funds(),
                    "pending": trading.journal.unwritten,
                }
            )
        elif op == "ltp":
            instrument = kernel.cache.resolve(request["symbol"])
            assert instrument is not None
            reply({"ltp": trading.ltp(instrument.instrument_token)})
        elif op == "tick":
            instrument = kernel.cache.resolve(request["symbol"])
            assert instrument is not None
            now = kernel.clock.now_ns()
            ltp = request["ltp"]
            kernel.bus.publish_ticks(
                [
                    Tick(
                        instrument.instrument_token, ltp, 1, ltp, 1, 0, 0, ltp, ltp, ltp,
                        kernel.cache.days[instrument.instrument_token].prev_close, now, now,
                        received_ns=now,
                    )
                ]
            )  # fmt: skip
            reply({"ok": True})
        elif op == "resume":
            resume.set()
            reply({"ok": True})


async def main() -> None:
    kernel = Kernel(load_settings(), LiveClock())
    resume = asyncio.Event()
    if os.environ.get("HOLD_FEED") == "1":
        run = kernel.feed.run

        async def held() -> None:
            await resume.wait()
            await run()

        kernel.feed.run = held  # type: ignore[method-assign]
    else:
        resume.set()
    shutdown = asyncio.Event()
    server = asyncio.create_task(serve(kernel, resume))
    server.add_done_callback(lambda _: shutdown.set())
    await kernel.run(shutdown)


if __name__ == "__main__":
    asyncio.run(main())
