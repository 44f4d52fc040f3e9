"""The daemon's side of ``attach``: answers every request of the desk's engine client.

Handlers run on the engine loop (the NATS client lives there), so they call the kernel
directly, exactly as :class:`~engine.client.LocalEngineClient` does through its thread
hop. Each method has its own subscription: a slow command never delays a snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, Protocol

import msgspec
import structlog
from nats.aio.msg import Msg

from engine.charts import ChartBars
from engine.component import Component
from engine.distributed import rpc
from engine.distributed.connection import NatsConnection
from engine.distributed.settings import NatsSettings
from engine.orders.commands import SubmitOrder
from engine.risk import RiskSnapshot
from engine.snapshot import CommandResult, DeskSnapshot, HealthReport
from engine.strategies.views import StrategyView
from engine.trading.views import OrderEstimate

log = structlog.get_logger("engine.distributed")


class Served(Protocol):
    """What the RPC server needs of the kernel."""

    def snapshot(
        self, since: int, trading_since: int | None = None, alerts_since: int | None = None
    ) -> DeskSnapshot: ...

    async def execute(self, command: object) -> CommandResult: ...

    def health_report(self) -> HealthReport: ...

    def instrument_keys(self) -> tuple[str, ...]: ...

    def estimate(self, command: SubmitOrder) -> OrderEstimate: ...

    def risk_snapshot(self) -> RiskSnapshot: ...

    async def bars(self, key: str, timeframe: str) -> ChartBars: ...

    def strategy_views(self) -> tuple[StrategyView, ...]: ...

    def strategy_classes(self) -> tuple[tuple[str, str], ...]: ...


class RpcServer(Component):
    """Serves one kernel on ``<prefix>.rpc.*``."""

    name = "nats-rpc"

    def __init__(self, settings: NatsSettings, connection: NatsConnection, kernel: Served) -> None:
        self.settings = settings
        self.connection = connection
        self.kernel = kernel
        self.requests = 0
        self.errors = 0
        self._subs: list[Any] = []

    async def start(self) -> None:
        self.connection.on_connected(self._subscribe)
        if self.connection.connected:
            await self._subscribe()

    async def _subscribe(self) -> None:
        # nats-py re-sends subscriptions after a reconnect: subscribe only once.
        if self._subs or self.connection.nc is None:
            return
        handlers: dict[str, Callable[[Msg], Awaitable[None]]] = {
            "snapshot": self._snapshot,
            "command": self._command,
            "health": self._health,
            "instruments": self._instruments,
            "estimate": self._estimate,
            "risk": self._risk,
            "bars": self._bars,
            "strategies": self._strategies,
            "strategy_classes": self._strategy_classes,
        }
        for method, handler in handlers.items():
            subject = rpc.rpc_subject(self.settings.subject_prefix, method)
            self._subs.append(await self.connection.nc.subscribe(subject, cb=self._guard(handler)))
        log.info("attach server listening", prefix=self.settings.subject_prefix)

    def _guard(self, handler: Callable[[Msg], Awaitable[None]]) -> Callable[[Msg], Awaitable[None]]:
        async def guarded(msg: Msg) -> None:
            self.requests += 1
            try:
                await handler(msg)
            except Exception as exc:
                self.errors += 1
                log.warning("attach request failed", subject=msg.subject, error=type(exc).__name__)
                with suppress(Exception):
                    await msg.respond(rpc.encode_error(f"{type(exc).__name__}: {exc}"))

        return guarded

    async def _snapshot(self, msg: Msg) -> None:
        r = msgspec.msgpack.decode(msg.data, type=rpc.SnapshotRequest)
        snapshot = self.kernel.snapshot(r.since, r.trading_since, r.alerts_since)
        await msg.respond(rpc.encode_reply(snapshot))

    async def _command(self, msg: Msg) -> None:
        try:
            command = rpc.decode_command(msg.data)
        except (ValueError, msgspec.DecodeError) as exc:
            await msg.respond(rpc.encode_reply(CommandResult(False, str(exc).splitlines()[0])))
            return
        await msg.respond(rpc.encode_reply(await self.kernel.execute(command)))

    async def _health(self, msg: Msg) -> None:
        await msg.respond(rpc.encode_reply(self.kernel.health_report()))

    async def _instruments(self, msg: Msg) -> None:
        await msg.respond(rpc.encode_reply(self.kernel.instrument_keys()))

    async def _estimate(self, msg: Msg) -> None:
        command = msgspec.msgpack.decode(msg.data, type=SubmitOrder)
        await msg.respond(rpc.encode_reply(self.kernel.estimate(command)))

    async def _risk(self, msg: Msg) -> None:
        await msg.respond(rpc.encode_reply(self.kernel.risk_snapshot()))

    async def _bars(self, msg: Msg) -> None:
        request = msgspec.msgpack.decode(msg.data, type=rpc.BarsRequest)
        await msg.respond(rpc.encode_reply(await self.kernel.bars(request.key, request.timeframe)))

    async def _strategies(self, msg: Msg) -> None:
        await msg.respond(rpc.encode_reply(self.kernel.strategy_views()))

    async def _strategy_classes(self, msg: Msg) -> None:
        await msg.respond(rpc.encode_reply(self.kernel.strategy_classes()))

    async def stop(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            with suppress(Exception):
                await sub.unsubscribe()
