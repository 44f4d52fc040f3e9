"""Settings of the NATS and Redis sections (``nats.*`` and ``redis.*``).

Both are off by default (``url = None``): the desk runs in one process with no
outside services. This module imports nothing of the engine, so
``engine.settings`` can import it without a cycle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _check_token(value: str, what: str) -> str:
    if not value or not set(value) <= _TOKEN_CHARS:
        raise ValueError(f"{what} must be letters, digits, '_' or '-' (got {value!r})")
    return value


class NatsSettings(BaseModel):
    """NATS JetStream: event distribution between processes and ``attach``."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    """Server URL (``nats://127.0.0.1:4222``); ``None`` turns distributed mode off."""
    subject_prefix: str = "alphapt"
    """First token of every subject: ``<prefix>.ticks.NSE.RELIANCE``, ``<prefix>.rpc.snapshot``."""
    stream_prefix: str = "ALPHAPT"
    """Stream names are ``<prefix>_TICKS``, ``_ORDERS``, ``_FILLS``, ``_ALERTS``, ``_AUDIT``."""
    storage: Literal["file", "memory"] = "file"
    """JetStream storage of the streams; ``file`` survives a server restart."""
    tick_max_age_s: float = Field(default=3600.0, gt=0)
    """Ticks older than this are discarded by the ticks stream (limits retention)."""
    event_max_age_s: float = Field(default=7 * 86400.0, gt=0)
    """Orders, fills, alerts and audit events are kept this long."""
    dedup_window_s: float = Field(default=120.0, gt=0)
    """Window in which a repeated ``Nats-Msg-Id`` is stored only once."""
    publish_ticks: bool = True
    """Copy the ticks that pass data quality to the ticks stream."""
    tick_flush_ms: int = Field(default=50, ge=1, le=5000)
    """Ticks are grouped per instrument and published this often."""
    tick_buffer_max: int = Field(default=200_000, ge=1000)
    """Ticks waiting for the next flush above which new ticks are dropped (and counted)."""
    max_pending_acks: int = Field(default=4000, ge=1)
    """Publishes whose acknowledgement is outstanding before publishing waits."""
    ack_timeout_s: float = Field(default=5.0, gt=0)
    """A publish not acknowledged within this is failed (events are then sent again)."""
    reconnect_wait_s: float = Field(default=0.25, gt=0)
    """First wait before reconnecting; doubles on each failed attempt."""
    reconnect_max_wait_s: float = Field(default=5.0, gt=0)
    """Longest wait between reconnect attempts (reconnects never stop)."""
    connect_timeout_s: float = Field(default=2.0, gt=0)
    """Bound on one connection attempt."""
    consumer_name: str = "alphapt"
    """Prefix of durable consumer names, so two consuming processes can keep separate positions."""
    consumer_stall_s: float = Field(default=5.0, gt=0)
    """A pull consumer with messages pending but none received for this long is re-created."""
    fetch_batch: int = Field(default=512, ge=1, le=10_000)
    """Messages asked for per pull."""
    serve_rpc: bool = True
    """Answer ``attach`` requests (snapshot, command, health, instruments, estimate)."""
    rpc_timeout_s: float = Field(default=2.0, gt=0)
    """How long an attached desk waits for the daemon's answer."""

    @field_validator("subject_prefix", "stream_prefix", "consumer_name")
    @classmethod
    def _one_token(cls, value: str) -> str:
        return _check_token(value, "a subject, stream or consumer name part")


class RedisSettings(BaseModel):
    """Redis: latest tick per instrument, the instrument registry and positions."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    """Server URL (``redis://127.0.0.1:6379/0``); ``None`` keeps hot state in process only."""
    key_prefix: str = "alphapt"
    """Every key starts ``<prefix>:`` (``alphapt:tick:NSE:RELIANCE``)."""
    flush_ms: int = Field(default=250, ge=10, le=60_000)
    """Changed instruments and positions are written this often, never per tick."""
    tick_ttl_s: int = Field(default=86_400, ge=1)
    """Lifetime of a last-tick key; a dead engine's prices expire."""
    positions_ttl_s: int = Field(default=86_400, ge=1)
    """Lifetime of the positions snapshot."""
    instruments_ttl_s: int = Field(default=7 * 86_400, ge=1)
    """Lifetime of the instrument registry."""
    reconnect_wait_s: float = Field(default=0.25, gt=0)
    """First wait before reconnecting; doubles on each failure."""
    reconnect_max_wait_s: float = Field(default=5.0, gt=0)
    """Longest wait between reconnect attempts."""
    op_timeout_s: float = Field(default=2.0, gt=0)
    """Bound on one pipeline round trip."""

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return _check_token(value, "redis.key_prefix")
