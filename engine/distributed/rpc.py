"""The attach protocol: request/reply subjects and their msgpack payloads.

Every reply is an :class:`RpcReply`; ``ok`` false carries a one-line ``error``.
Commands travel as a :class:`CommandEnvelope` naming the command's class, so any
registered command (watchlist or order) crosses unchanged.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine import snapshot as desk_commands
from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.strategies import commands as strategy_commands

METHODS: tuple[str, ...] = (
    "snapshot",
    "command",
    "health",
    "estimate",
    "risk",
    "bars",
    "strategies",
    "strategy_classes",
    "signed_command",
    "audit",
    "search",
    "chain",
)
"""RPC methods; each is served on ``<prefix>.rpc.<method>``."""


def _tagged(module: object) -> dict[str, type]:
    """The tagged structs of a commands module, by class name."""
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__struct_config__.tag is not None
    }


COMMAND_TYPES: dict[str, type] = {
    **_tagged(desk_commands),  # watchlist, halt, resume, kill switch, acknowledge alert
    **_tagged(strategy_commands),
    **{kind.__name__: kind for kind in (SubmitOrder, ModifyOrder, CancelOrder, CancelAllOrders)},
}
"""Commands an attached desk may send, by class name."""


def register_command(kind: type) -> None:
    """Let ``kind`` (a msgspec Struct the kernel executes) cross the attach protocol."""
    COMMAND_TYPES[kind.__name__] = kind


def rpc_subject(prefix: str, method: str) -> str:
    """``alphapt.rpc.snapshot``."""
    return f"{prefix}.rpc.{method}"


class SnapshotRequest(msgspec.Struct, array_like=True, frozen=True):
    """Ask for what changed after version ``since`` (trading and alerts after theirs)."""

    since: int
    trading_since: int | None = None
    alerts_since: int | None = None


class BarsRequest(msgspec.Struct, array_like=True, frozen=True):
    """Ask for the stored bars of one instrument."""

    key: str
    timeframe: str


class CommandEnvelope(msgspec.Struct, array_like=True, frozen=True):
    """A command: its class name and its msgpack body."""

    kind: str
    body: msgspec.Raw


class RpcReply(msgspec.Struct, array_like=True, frozen=True):
    """The answer: ``ok`` and the encoded result, or the error in one line."""

    ok: bool
    body: msgspec.Raw = msgspec.Raw(b"")
    error: str = ""


_encoder = msgspec.msgpack.Encoder()
_reply_decoder = msgspec.msgpack.Decoder(RpcReply)
_command_decoder = msgspec.msgpack.Decoder(CommandEnvelope)


def encode(value: Any) -> bytes:
    """msgpack bytes of any msgspec-encodable value."""
    return _encoder.encode(value)


def encode_reply(result: Any) -> bytes:
    """A successful reply carrying ``result``."""
    return _encoder.encode(RpcReply(True, msgspec.Raw(_encoder.encode(result))))


def encode_error(error: str) -> bytes:
    """A failed reply; the message is cut to its first line."""
    return _encoder.encode(RpcReply(False, error=(error.splitlines() or [""])[0][:300]))


def decode_reply(payload: bytes) -> RpcReply:
    """The reply envelope; raises ``msgspec.DecodeError`` on bad input."""
    return _reply_decoder.decode(payload)


def encode_command(command: object) -> bytes | None:
    """A command envelope, or ``None`` if the command's type is not registered."""
    kind = type(command).__name__
    if COMMAND_TYPES.get(kind) is not type(command):
        return None
    return _encoder.encode(CommandEnvelope(kind, msgspec.Raw(_encoder.encode(command))))


def decode_command(payload: bytes) -> object:
    """The command in an envelope; ``ValueError`` for an unknown kind or bad body."""
    envelope = _command_decoder.decode(payload)
    kind = COMMAND_TYPES.get(envelope.kind)
    if kind is None:
        raise ValueError(f"unsupported command: {envelope.kind}")
    return msgspec.msgpack.decode(envelope.body, type=kind)
