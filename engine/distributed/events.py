"""Events another process bridged to JetStream (orders, fills, alerts, audit), into the local bus.

The server already drops a repeated ``Nats-Msg-Id`` inside its window; this side
drops a repeat again by the same id, which catches redeliveries and repeats outside
the window. Do not run it for roots this process also bridges out: that would echo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import msgspec
import structlog
from nats.aio.msg import Msg

from engine.bus import MessageBus
from engine.clock import Clock
from engine.component import Component
from engine.distributed.codec import EVENT_ROOTS, decode_event
from engine.distributed.connection import NatsConnection
from engine.distributed.consumer import SeenIds, SupervisedPullConsumer
from engine.distributed.settings import NatsSettings
from engine.distributed.streams import stream_name

log = structlog.get_logger("engine.distributed")


class NatsEventSource(Component):
    """Durable consumers of the event streams, publishing each event once on the local bus."""

    name = "nats-events"

    def __init__(
        self,
        settings: NatsSettings,
        connection: NatsConnection,
        clock: Clock,
        bus: MessageBus,
        roots: Iterable[str] = EVENT_ROOTS,
    ) -> None:
        self.bus = bus
        self.seen = SeenIds()
        self.received = 0
        self.duplicates = 0
        self.bad_messages = 0
        self.consumers = [
            SupervisedPullConsumer(
                connection,
                settings,
                clock,
                stream=stream_name(settings, root),
                durable=f"{settings.consumer_name}-{root}",
                subject=f"{settings.subject_prefix}.{root}.>",
                handler=self._handle,
            )
            for root in roots
        ]

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for consumer in self.consumers:
                group.create_task(consumer.run())

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.close()

    async def _handle(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            try:
                envelope, event = decode_event(msg.data)
            except msgspec.DecodeError:
                self.bad_messages += 1
                log.warning("undecodable event on nats", subject=msg.subject)
                continue
            if not self.seen.add(envelope.msg_id):
                self.duplicates += 1
                continue
            self.received += 1
            self.bus.publish(envelope.topic, event)
