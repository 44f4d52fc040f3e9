"""``NatsEngineClient``: the desk's :class:`~engine.client.EngineClient` over NATS request/reply.

It connects on first use, reconnects forever in the background, and never queues a
request while disconnected: a request then fails at once with
:class:`EngineUnreachable`, as does a timeout or an undecodable answer, and the desk's
header says "engine unreachable".
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import date
from typing import TypeVar

import msgspec
import nats.errors
from nats.aio.client import Client

from engine.auth.remote import SessionSigner
from engine.auth.rows import AuditRow
from engine.charts import ChartBars
from engine.distributed import rpc
from engine.instrument_search import SEARCH_LIMIT, ChainRequest, OptionChain, SearchRequest
from engine.model import Instrument
from engine.orders.commands import SubmitOrder
from engine.risk import RiskSnapshot
from engine.snapshot import CommandResult, DeskSnapshot, HealthReport
from engine.strategies.views import StrategyView
from engine.trading.views import OrderEstimate

T = TypeVar("T")


class EngineUnreachable(ConnectionError):
    """The daemon did not answer: NATS down, no daemon listening, or a timeout."""


class NatsEngineClient:
    """Drives a daemon over NATS; one instance per attached desk."""

    def __init__(
        self,
        url: str,
        subject_prefix: str = "alphapt",
        timeout: float = 2.0,
        connect_timeout: float = 2.0,
        reconnect_wait_s: float = 0.5,
        session: SessionSigner | None = None,
    ) -> None:
        self.url = url
        self.subject_prefix = subject_prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.reconnect_wait_s = reconnect_wait_s
        self.session = session if session is not None else SessionSigner.from_env()
        """Inside an SSH session: stamps its user on commands and signs them."""
        self._nc: Client | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def connected(self) -> bool:
        """Whether the NATS connection is up."""
        return self._nc is not None and self._nc.is_connected

    async def connect(self) -> None:
        """Connect now (requests also connect on first use); raises EngineUnreachable."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._nc is not None:
                return
            nc = Client()
            try:
                await asyncio.wait_for(
                    nc.connect(
                        servers=[self.url],
                        name="alphapt-attach",
                        allow_reconnect=True,
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=self.reconnect_wait_s,
                        connect_timeout=self.connect_timeout,
                        error_cb=_ignore,
                    ),
                    self.connect_timeout,
                )
            except Exception as exc:
                with suppress(Exception):
                    await nc.close()
                raise EngineUnreachable(f"cannot connect to NATS ({type(exc).__name__})") from None
            self._nc = nc

    async def close(self) -> None:
        """Close the connection."""
        nc, self._nc = self._nc, None
        if nc is not None:
            with suppress(Exception):
                await nc.close()

    async def _call(self, method: str, payload: bytes, result: type[T]) -> T:
        if self._nc is None:
            await self.connect()
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise EngineUnreachable("NATS disconnected")
        subject = rpc.rpc_subject(self.subject_prefix, method)
        try:
            msg = await nc.request(subject, payload, timeout=self.timeout)
        except nats.errors.NoRespondersError:
            raise EngineUnreachable("no engine is serving attach requests") from None
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise EngineUnreachable(f"{method}: {type(exc).__name__}") from None
        try:
            reply = rpc.decode_reply(msg.data)
            if not reply.ok:
                raise EngineUnreachable(f"{method} failed in the engine: {reply.error}")
            return msgspec.msgpack.decode(reply.body, type=result)
        except msgspec.DecodeError as exc:
            raise EngineUnreachable(f"{method}: undecodable answer ({exc})") from None

    async def snapshot(
        self, since: int, trading_since: int | None = None, alerts_since: int | None = None
    ) -> DeskSnapshot:
        """Everything that changed after version ``since`` (trading and alerts after theirs)."""
        request = rpc.SnapshotRequest(since, trading_since, alerts_since)
        return await self._call("snapshot", rpc.encode(request), DeskSnapshot)

    async def send(self, command: object) -> CommandResult:
        """Carry out a command in the daemon and return its result."""
        if self.session is not None:
            command = self.session.stamp(command)
        payload = rpc.encode_command(command)
        if payload is None:
            return CommandResult(False, f"unsupported command: {type(command).__name__}")
        if self.session is not None:
            return await self._call("signed_command", self.session.sign(payload), CommandResult)
        return await self._call("command", payload, CommandResult)

    @property
    def role(self) -> str:
        """The role this desk acts with: the SSH session's, else admin (the engine decides)."""
        return self.session.role if self.session is not None else "admin"

    async def audit(
        self, from_ns: int, to_ns: int, user: str | None = None
    ) -> tuple[AuditRow, ...]:
        """Audit entries with ``from_ns <= ts_ns < to_ns``, oldest first."""
        payload = rpc.encode((from_ns, to_ns, user))
        return await self._call("audit", payload, tuple[AuditRow, ...])

    async def health(self) -> HealthReport:
        """Components, queues, storage and data quality of the daemon."""
        return await self._call("health", b"", HealthReport)

    async def risk(self) -> RiskSnapshot:
        """Trading state, limits with their usage, recent rejections."""
        return await self._call("risk", b"", RiskSnapshot)

    async def bars(self, key: str, timeframe: str) -> ChartBars:
        """Stored bars of one instrument for a chart."""
        return await self._call("bars", rpc.encode(rpc.BarsRequest(key, timeframe)), ChartBars)

    async def strategies(self) -> tuple[StrategyView, ...]:
        """Every strategy with its state, positions, P&L, signals and latency."""
        return await self._call("strategies", b"", tuple[StrategyView, ...])

    async def strategy_classes(self) -> tuple[tuple[str, str], ...]:
        """Every strategy class that can be added, as ``(name, one-line description)``."""
        return await self._call("strategy_classes", b"", tuple[tuple[str, str], ...])

    async def search_instruments(
        self, query: str, limit: int = SEARCH_LIMIT
    ) -> tuple[Instrument, ...]:
        """Instruments of the daemon matching ``query``, best first."""
        payload = rpc.encode(SearchRequest(query, limit))
        return await self._call("search", payload, tuple[Instrument, ...])

    async def option_chain(self, underlying: str, expiry: date | None = None) -> OptionChain:
        """The daemon's option chain of ``underlying`` at ``expiry`` (nearest when ``None``)."""
        payload = rpc.encode(ChainRequest(underlying, expiry))
        return await self._call("chain", payload, OptionChain)

    async def estimate(self, command: SubmitOrder) -> OrderEstimate:
        """Value, charges, margin and problems of an order being typed."""
        return await self._call("estimate", rpc.encode(command), OrderEstimate)

    def report_frame(self, apply_seconds: float) -> None:
        """Frames of an attached desk are not reported: the daemon's metrics describe its own UI."""


async def _ignore(_exc: Exception) -> None:
    """nats-py logs connection errors by default; the desk header says enough."""
