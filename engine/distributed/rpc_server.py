"""The daemon's side of ``attach``: answers every request of the desk's engine client.

Handlers run on the engine loop (the NATS client lives there), so they call the kernel
directly, exactly as :class:`~engine.client.LocalEngineClient` does through its thread
hop. Each method has its own subscription: a slow command never delays a snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import date
from typing import Any, Protocol

import msgspec
import structlog
from nats.aio.msg import Msg

from engine.auth.gate import CommandOrigin
from engine.auth.remote import UNSIGNED_ORIGIN, SessionVerifier
from engine.auth.rows import AuditRow
from engine.charts import ChartBars
from engine.component import Component
from engine.distributed import rpc
from engine.distributed.connection import NatsConnection
from engine.distributed.settings import NatsSettings
from engine.instrument_search import ChainRequest, OptionChain, SearchRequest
from engine.model import Instrument
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

    async def execute(
        self, command: object, origin: CommandOrigin | None = None
    ) -> CommandResult: ...

    async def audit_rows(
        self, from_ns: int, to_ns: int, user: str | None = None
    ) -> tuple[AuditRow, ...]: ...

    def health_report(self) -> HealthReport: ...

    def search_instruments(self, query: str, limit: int = ...) -> tuple[Instrument, ...]: ...

    def option_chain(self, underlying: str, expiry: date | None = None) -> OptionChain: ...

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
        kernel_settings = getattr(kernel, "settings", None)
        auth = getattr(kernel_settings, "auth", None)
        self.verifier = (
            SessionVerifier(auth.secret_path(kernel_settings.data_dir)) if auth else None  # type: ignore[union-attr]
        )

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
            "signed_command": self._signed_command,
            "audit": self._audit,
            "health": self._health,
            "search": self._search,
            "chain": self._chain,
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
        result = await self.kernel.execute(command, UNSIGNED_ORIGIN)
        await msg.respond(rpc.encode_reply(result))

    async def _signed_command(self, msg: Msg) -> None:
        """A session's command: verified here, refused (and audited) by the kernel if forged."""
        if self.verifier is None:
            await msg.respond(rpc.encode_reply(CommandResult(False, "signed sessions are off")))
            return
        try:
            envelope, user, origin = self.verifier.check(msg.data)
            command = rpc.decode_command(envelope)
        except (ValueError, msgspec.DecodeError) as exc:
            await msg.respond(rpc.encode_reply(CommandResult(False, str(exc).splitlines()[0])))
            return
        if origin.refusal is None and getattr(command, "user", None) != user:
            refusal = (
                f"refused: command acts for {getattr(command, 'user', '?')}, session is {user}"
            )
            origin = CommandOrigin(origin.session, origin.source, True, None, refusal)
        await msg.respond(rpc.encode_reply(await self.kernel.execute(command, origin)))

    async def _audit(self, msg: Msg) -> None:
        request = msgspec.msgpack.decode(msg.data, type=tuple[int, int, str | None])
        await msg.respond(rpc.encode_reply(await self.kernel.audit_rows(*request)))

    async def _health(self, msg: Msg) -> None:
        await msg.respond(rpc.encode_reply(self.kernel.health_report()))

    async def _search(self, msg: Msg) -> None:
        request = msgspec.msgpack.decode(msg.data, type=SearchRequest)
        found = self.kernel.search_instruments(request.query, request.limit)
        await msg.respond(rpc.encode_reply(found))

    async def _chain(self, msg: Msg) -> None:
        request = msgspec.msgpack.decode(msg.data, type=ChainRequest)
        chain = self.kernel.option_chain(request.underlying, request.expiry)
        await msg.respond(rpc.encode_reply(chain))

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
