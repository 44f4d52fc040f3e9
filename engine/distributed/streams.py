"""The JetStream streams, created or brought up to date idempotently at every connect."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from engine.distributed.codec import EVENT_ROOTS
from engine.distributed.settings import NatsSettings


def stream_name(settings: NatsSettings, root: str) -> str:
    """``ALPHAPT_TICKS``, ``ALPHAPT_ORDERS``, …"""
    return f"{settings.stream_prefix}_{root.upper()}"


def stream_configs(settings: NatsSettings) -> list[StreamConfig]:
    """The ticks stream (limits, short max age) and one durable stream per event root."""
    storage = StorageType.FILE if settings.storage == "file" else StorageType.MEMORY
    prefix = settings.subject_prefix
    ticks = StreamConfig(
        name=stream_name(settings, "ticks"),
        subjects=[f"{prefix}.ticks.>"],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=settings.tick_max_age_s,
        storage=storage,
        duplicate_window=min(settings.dedup_window_s, settings.tick_max_age_s),
    )
    events = [
        StreamConfig(
            name=stream_name(settings, root),
            subjects=[f"{prefix}.{root}.>"],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=settings.event_max_age_s,
            storage=storage,
            duplicate_window=min(settings.dedup_window_s, settings.event_max_age_s),
        )
        for root in EVENT_ROOTS
    ]
    return [ticks, *events]


async def ensure_streams(js: JetStreamContext, settings: NatsSettings) -> list[str]:
    """Create missing streams and update existing ones to the configured limits.

    Safe to call at every (re)connect and from several processes at once.
    """
    names = []
    for config in stream_configs(settings):
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
        names.append(config.name)
    return names
