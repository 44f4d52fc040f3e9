"""Turning engine records (msgspec structs or mappings) into ledger rows.

Rows are plain dicts keyed by column name. Enum members are stored as their
values (Kite's spellings); JSON payloads are encoded with msgspec, so an event
struct is stored as the same JSON the engine would send anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

import msgspec
from sqlalchemy import Table

from engine.ledger.errors import LedgerError
from engine.ledger.schema import audit_log, fills, order_events, orders, positions

Record = Mapping[str, Any] | msgspec.Struct
"""What the ledger's write methods accept: a mapping of column values or a msgspec struct."""

_JSON = msgspec.json.Encoder()


def encode_json(value: Any) -> str:
    """JSON text for ``value``; a ``str`` is taken to be JSON already, bytes are decoded."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode()
    return _JSON.encode(value).decode()


def as_mapping(record: Record) -> dict[str, Any]:
    """The fields of ``record`` as a new dict."""
    if isinstance(record, msgspec.Struct):
        return msgspec.structs.asdict(record)
    if isinstance(record, Mapping):
        return dict(record)
    raise TypeError(f"expected a mapping or a msgspec.Struct, got {type(record).__name__}")


def table_row(table: Table, record: Record, **extra: Any) -> dict[str, Any]:
    """A complete row of ``table``: every column present, enums as values.

    Unknown keys and missing required columns raise :class:`LedgerError`; a
    nullable column that is absent is stored as NULL.
    """
    data = as_mapping(record)
    data.update(extra)
    unknown = data.keys() - table.c.keys()
    if unknown:
        raise LedgerError(f"{table.name}: unknown column(s) {', '.join(sorted(unknown))}")
    row: dict[str, Any] = {}
    missing: list[str] = []
    for column in table.c:
        if column.name in data:
            value = data[column.name]
            row[column.name] = value.value if isinstance(value, Enum) else value
        elif column.nullable:
            row[column.name] = None
        elif column.autoincrement is not True:
            missing.append(column.name)
    if missing:
        raise LedgerError(f"{table.name}: missing column(s) {', '.join(missing)}")
    return row


def order_row(order: Record) -> dict[str, Any]:
    """An ``orders`` row from an ``Order`` (or a mapping with its fields)."""
    return table_row(orders, order)


def event_row(event: Record, seq: int | None = None, kind: str | None = None) -> dict[str, Any]:
    """An ``order_events`` row.

    From an event struct (``event_id``, ``client_order_id``, ``ts_ns`` fields):
    ``kind`` defaults to the struct's class name, ``payload`` is the struct as
    JSON and ``seq`` must be given (the order's ``version`` after the event). From
    a mapping: its ``payload`` may be any JSON-encodable value.
    """
    if isinstance(event, msgspec.Struct):
        if seq is None:
            raise LedgerError("order_events: seq is required for an event struct")
        return table_row(
            order_events,
            {
                "event_id": event.event_id,  # type: ignore[attr-defined]
                "client_order_id": event.client_order_id,  # type: ignore[attr-defined]
                "ts_ns": event.ts_ns,  # type: ignore[attr-defined]
                "seq": seq,
                "kind": kind or type(event).__name__,
                "payload": encode_json(event),
            },
        )
    data = as_mapping(event)
    if seq is not None:
        data["seq"] = seq
    if kind is not None:
        data["kind"] = kind
    if "payload" in data:
        data["payload"] = encode_json(data["payload"])
    return table_row(order_events, data)


def fill_row(fill: Record) -> dict[str, Any]:
    """A ``fills`` row from a ``Fill`` (or a mapping with its fields)."""
    return table_row(fills, fill)


def position_row(position: Record, now_ns: int) -> dict[str, Any]:
    """A ``positions`` row; ``updated_ns`` defaults to ``now_ns``."""
    data = as_mapping(position)
    data.setdefault("updated_ns", now_ns)
    return table_row(positions, data)


def audit_row(entry: Record, now_ns: int) -> dict[str, Any]:
    """An ``audit_log`` row; ``ts_ns`` defaults to ``now_ns``, ``detail`` is encoded as JSON."""
    data = as_mapping(entry)
    data.setdefault("ts_ns", now_ns)
    data.setdefault("result", "ok")
    data["detail"] = encode_json(data.get("detail", {}))
    if "id" in data:
        raise LedgerError("audit_log: id is assigned by the database")
    return table_row(audit_log, data)
