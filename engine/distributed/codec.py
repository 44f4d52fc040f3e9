"""What travels over NATS: tick batches, event envelopes, subjects and message ids.

Ticks go as :class:`TickBatch` (msgpack, one instrument per message, many ticks
each). Events go as :class:`EventEnvelope` whose ``kind`` names the body's type in
:data:`EVENT_TYPES`; the envelope's ``msg_id`` is both the ``Nats-Msg-Id`` the server
deduplicates on and the key consumers deduplicate on again.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine.alerts import AlertRaised
from engine.model import Tick
from engine.orders import events as order_events
from engine.orders.model import Fill

EVENT_ROOTS: tuple[str, ...] = ("orders", "fills", "alerts", "audit")
"""Bus topic roots the bridge carries, each to its own durable stream."""


class TickBatch(msgspec.Struct, array_like=True, gc=False):
    """Consecutive ticks of one instrument from one publisher.

    ``first`` counts this instrument's ticks the publisher sent before this batch,
    so a consumer knows exactly how many ticks a gap lost.
    """

    origin: str
    token: int
    first: int
    ticks: list[Tick]


class AuditRecorded(msgspec.Struct, frozen=True, kw_only=True):
    """Something a person or the engine did that the audit trail keeps (``audit.<actor>``)."""

    event_id: str
    ts_ns: int
    actor: str
    action: str
    detail: str = ""


class EventEnvelope(msgspec.Struct, array_like=True, frozen=True):
    """One bus event on the wire: its topic, type name, dedup id and encoded body."""

    topic: str
    kind: str
    msg_id: str
    body: msgspec.Raw


def _event_types() -> dict[str, type]:
    found: dict[str, type] = {
        name: value
        for name, value in vars(order_events).items()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and hasattr(value, "__struct_fields__")
        and "event_id" in value.__struct_fields__
        and not name.startswith("_")
    }
    found.update(Fill=Fill, AlertRaised=AlertRaised, AuditRecorded=AuditRecorded)
    return found


EVENT_TYPES: dict[str, type] = _event_types()
"""Event types the bridge can carry, by class name."""

_FORBIDDEN = str.maketrans({".": "_", "*": "_", ">": "_", " ": "_", "\t": "_"})


def subject_token(text: str) -> str:
    """``text`` made safe as one NATS subject token (dots, wildcards and blanks become ``_``)."""
    return text.translate(_FORBIDDEN) or "_"


def tick_subject(prefix: str, exchange: str, symbol: str) -> str:
    """``alphapt.ticks.NSE.RELIANCE``."""
    return f"{prefix}.ticks.{subject_token(exchange)}.{subject_token(symbol)}"


def event_subject(prefix: str, topic: str) -> str:
    """``alphapt.orders.manual`` for bus topic ``orders.manual`` (a bare root gets ``.default``)."""
    parts = [subject_token(part) for part in topic.split(".")]
    if len(parts) == 1:
        parts.append("default")
    return ".".join([prefix, *parts])


def topic_of(prefix: str, subject: str) -> str:
    """The bus topic of an event subject: the inverse of :func:`event_subject`."""
    return subject[len(prefix) + 1 :]


def msg_id(event: Any, origin: str) -> str | None:
    """The dedup id of ``event``, or ``None`` for a type the bridge does not carry.

    Order events and audit records carry globally unique ids; a fill is named by its
    exchange trade; alert ids restart with each process, so they are qualified by origin.
    """
    kind = type(event).__name__
    if EVENT_TYPES.get(kind) is not type(event):
        return None
    if isinstance(event, Fill):
        return f"fill:{event.trade_id}"
    if isinstance(event, AlertRaised):
        return f"alert:{origin}:{event.alert_id}"
    return f"{kind}:{event.event_id}"


_encoder = msgspec.msgpack.Encoder()
_envelope_decoder = msgspec.msgpack.Decoder(EventEnvelope)
_batch_decoder = msgspec.msgpack.Decoder(TickBatch)
_body_decoders = {
    kind: msgspec.msgpack.Decoder(kind_type) for kind, kind_type in EVENT_TYPES.items()
}


def encode_event(topic: str, event: Any, origin: str) -> tuple[str, bytes] | None:
    """``(msg_id, payload)`` for ``event``, or ``None`` if its type is not carried."""
    ident = msg_id(event, origin)
    if ident is None:
        return None
    body = msgspec.Raw(_encoder.encode(event))
    return ident, _encoder.encode(EventEnvelope(topic, type(event).__name__, ident, body))


def decode_event(payload: bytes) -> tuple[EventEnvelope, Any]:
    """The envelope and the decoded event; raises ``msgspec.DecodeError`` on bad input."""
    envelope = _envelope_decoder.decode(payload)
    decoder = _body_decoders.get(envelope.kind)
    if decoder is None:
        raise msgspec.DecodeError(f"unknown event kind {envelope.kind!r}")
    return envelope, decoder.decode(envelope.body)


def encode_batch(batch: TickBatch) -> bytes:
    """One tick batch as msgpack."""
    return _encoder.encode(batch)


def decode_batch(payload: bytes) -> TickBatch:
    """A tick batch; raises ``msgspec.DecodeError`` on bad input."""
    return _batch_decoder.decode(payload)
