"""The NATS bridge: copies the local bus to JetStream.

Ticks that passed data quality are buffered by a hot-path stage (an append, never a
wait) and every ``tick_flush_ms`` published grouped per instrument with
``publish_async``; acknowledgements are collected later and a publish whose ack does
not come within ``ack_timeout_s`` is abandoned, so pending acks stay bounded. Ticks
lost to an outage are not resent: the consumer counts the gap.

Orders, fills, alerts and audit events must be stored exactly once and in bus order.
Each carries its event id as ``Nats-Msg-Id`` and the previous event's id of the same
stream as ``Nats-Expected-Last-Msg-Id``; they are pipelined and, when an ack fails,
everything from the oldest unacknowledged event is sent again. The server drops the
duplicates, and the expectation makes it refuse an event whose predecessor was lost
(nats-py flushes what it buffered during an outage after reconnecting, so a lost
stretch can sit *before* stored ones): nothing is stored out of order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

import structlog

from engine.bus import MessageBus
from engine.clock import Clock
from engine.component import Component
from engine.distributed.codec import (
    EVENT_ROOTS,
    TickBatch,
    encode_batch,
    encode_event,
    event_subject,
    tick_subject,
)
from engine.distributed.connection import NatsConnection, backoff
from engine.distributed.settings import NatsSettings
from engine.distributed.streams import ensure_streams
from engine.model import Instrument, Tick

log = structlog.get_logger("engine.distributed")

MAX_TICKS_PER_MESSAGE = 2000
EVENT_WINDOW = 512
"""Events published ahead of the oldest unacknowledged one."""

Outgoing = tuple[str, str, bytes, str]  # msg_id, subject, payload, stream root
AlertHook = Callable[[str], None]


class NatsBridge(Component):
    """Publishes local ticks and events to JetStream."""

    name = "nats-bridge"

    def __init__(
        self,
        settings: NatsSettings,
        connection: NatsConnection,
        bus: MessageBus,
        clock: Clock,
        instruments: Mapping[int, Instrument],
        origin: str,
        on_trouble: AlertHook | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.bus = bus
        self.clock = clock
        self.instruments = instruments
        self.origin = origin
        self.on_trouble = on_trouble
        self.ticks_published = 0
        self.ticks_dropped = 0
        """Ticks not published: buffer full or NATS unreachable (consumers see a gap)."""
        self.tick_messages = 0
        self.tick_acks = 0
        self.ack_failures = 0
        self.events_published = 0
        """Events the server acknowledged (duplicates it dropped included)."""
        self.events_duplicate = 0
        self.events_unencodable = 0
        self.event_retries = 0
        self.streams_ready = False
        self._buffer: list[Tick] = []
        self._sent_per_token: dict[int, int] = {}
        self._tick_acks: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._unsent: deque[Outgoing] = deque()
        self._inflight: deque[tuple[Outgoing, asyncio.Future[Any]]] = deque()
        self._events = bus.subscribe(self.name, [f"{root}." for root in EVENT_ROOTS])
        self._troubled = False
        self._last_sent: dict[str, str] = {}
        self._last_acked: dict[str, str] = {}

    # -- hot path -------------------------------------------------------------------

    def on_ticks(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """Hot-path stage: buffer the batch for the next flush and pass it on unchanged."""
        if self.settings.publish_ticks:
            if len(self._buffer) + len(ticks) > self.settings.tick_buffer_max:
                self.ticks_dropped += len(ticks)
            else:
                self._buffer.extend(ticks)
        return ticks

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        self.connection.on_connected(self._setup)
        if self.connection.connected:
            await self._setup()

    async def _setup(self) -> None:
        assert self.connection.js is not None
        await ensure_streams(self.connection.js, self.settings)
        self.streams_ready = True

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._tick_loop())
            group.create_task(self._event_loop())

    async def stop(self) -> None:
        """Flush what is buffered; events not acknowledged by the kernel's bound are lost here
        (the ledger still has them)."""
        with suppress(Exception):
            await self.flush_ticks()
        while self.connection.connected and (self._unsent or self._inflight or self._pending()):
            if not await self._send_events_once():
                break

    @property
    def pending_acks(self) -> int:
        """Publishes waiting for an acknowledgement."""
        return len(self._tick_acks) + len(self._inflight)

    # -- ticks ----------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        interval = self.settings.tick_flush_ms / 1000.0
        while True:
            await self.clock.sleep(interval)
            await self.flush_ticks()

    async def flush_ticks(self) -> None:
        """Publish everything buffered, one message per instrument (split when large)."""
        self._reap_tick_acks()
        buffer, self._buffer = self._buffer, []
        if not buffer:
            return
        js = self.connection.js
        if js is None or not self.connection.connected or not self.streams_ready:
            self._skip(buffer)
            return
        grouped: dict[int, list[Tick]] = {}
        for tick in buffer:
            grouped.setdefault(tick.instrument_token, []).append(tick)
        deadline = self.clock.monotonic() + self.settings.ack_timeout_s
        for token, ticks in grouped.items():
            subject = self._tick_subject(token)
            for start in range(0, len(ticks), MAX_TICKS_PER_MESSAGE):
                chunk = ticks[start : start + MAX_TICKS_PER_MESSAGE]
                first = self._sent_per_token.get(token, 0)
                self._sent_per_token[token] = first + len(chunk)
                try:
                    future = await js.publish_async(
                        subject, encode_batch(TickBatch(self.origin, token, first, chunk))
                    )
                except Exception:
                    self.ticks_dropped += len(chunk)
                    continue
                self._tick_acks.append((deadline, future))
                self.ticks_published += len(chunk)
                self.tick_messages += 1

    def _skip(self, ticks: list[Tick]) -> None:
        for tick in ticks:
            token = tick.instrument_token
            self._sent_per_token[token] = self._sent_per_token.get(token, 0) + 1
        self.ticks_dropped += len(ticks)

    def _tick_subject(self, token: int) -> str:
        instrument = self.instruments.get(token)
        if instrument is None:
            return tick_subject(self.settings.subject_prefix, "UNKNOWN", str(token))
        return tick_subject(
            self.settings.subject_prefix, instrument.exchange, instrument.tradingsymbol
        )

    def _reap_tick_acks(self) -> None:
        now = self.clock.monotonic()
        acks = self._tick_acks
        while acks:
            deadline, future = acks[0]
            if future.done():
                acks.popleft()
                if future.cancelled() or future.exception() is not None:
                    self.ack_failures += 1
                else:
                    self.tick_acks += 1
            elif now >= deadline:
                acks.popleft()
                future.cancel()  # frees its slot in the pending-ack bound
                self.ack_failures += 1
            else:
                break

    # -- events ---------------------------------------------------------------------

    def _pending(self) -> bool:
        return self._events.depth > 0

    def _take_bus_events(self) -> None:
        while (item := self._events.get_nowait()) is not None:
            self._enqueue(*item)

    def _enqueue(self, topic: str, event: Any) -> None:
        encoded = encode_event(topic, event, self.origin)
        if encoded is None:
            self.events_unencodable += 1
            return
        ident, payload = encoded
        subject = event_subject(self.settings.subject_prefix, topic)
        self._unsent.append((ident, subject, payload, topic.split(".", 1)[0]))

    async def _event_loop(self) -> None:
        failures = 0
        while True:
            if not self._unsent and not self._inflight:
                self._enqueue(*await self._events.get())
            if await self._send_events_once():
                failures = 0
                continue
            failures += 1
            s = self.settings
            await asyncio.sleep(backoff(failures, s.reconnect_wait_s, s.reconnect_max_wait_s))

    async def _send_events_once(self) -> bool:
        """Publish up to the window and settle the oldest ack; ``False`` after a failure."""
        self._take_bus_events()
        await self.connection.wait_connected()
        js = self.connection.js
        assert js is not None
        try:
            while self._unsent and len(self._inflight) < EVENT_WINDOW:
                ident, subject, payload, root = self._unsent[0]
                headers = {"Nats-Msg-Id": ident}
                if (previous := self._last_sent.get(root)) is not None:
                    headers["Nats-Expected-Last-Msg-Id"] = previous
                future = await js.publish_async(subject, payload, headers=headers)
                self._last_sent[root] = ident
                self._inflight.append((self._unsent.popleft(), future))
            if not self._inflight:
                return True
            future = self._inflight[0][1]
            ack = await asyncio.wait_for(asyncio.shield(future), self.settings.ack_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._rewind(exc)
            return False
        item, _ = self._inflight.popleft()
        self._last_acked[item[3]] = item[0]
        self.events_published += 1
        if ack.duplicate:
            self.events_duplicate += 1
        if self._troubled:
            self._troubled = False
            log.info("nats events flowing again")
        return True

    def _rewind(self, exc: Exception) -> None:
        """Send everything not yet acknowledged again, oldest first."""
        self.event_retries += 1
        self.ack_failures += 1
        for _, future in self._inflight:
            future.cancel()
        self._unsent.extendleft(reversed([item for item, _ in self._inflight]))
        self._inflight.clear()
        self._last_sent = dict(self._last_acked)
        if not self._troubled:
            self._troubled = True
            message = f"nats: events not acknowledged ({type(exc).__name__}), resending"
            log.warning(message, backlog=len(self._unsent))
            if self.on_trouble is not None:
                self.on_trouble(message)
