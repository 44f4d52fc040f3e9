"""Encode ticks as one ClickHouse ``Native`` block, columnar, with numpy.

clickhouse-connect's own ``insert`` serializes row by row in Python and rejects numpy
integers for DateTime64; a Native block built from numpy buffers is ~10x faster and is
accepted unchanged by both chDB and a ClickHouse server (``raw_insert(fmt="Native")``).
Wire format: varuint column count, varuint row count, then per column its name, its
type and its data; an ``Array(T)`` is the cumulative UInt64 end offsets then all elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from engine.model import Tick
from engine.storage.schema import TICK_COLUMNS, Column


def _varuint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _varuint(len(raw)) + raw


_HEADERS = {c.name: _string(c.name) + _string(c.ch_type) for c in TICK_COLUMNS}
_GET_ALL = attrgetter(*(c.field for c in TICK_COLUMNS))


def _column_bytes(col: Column, values: Sequence, n: int) -> list[bytes]:
    if not col.is_array:
        return [np.fromiter(values, dtype=col.dtype, count=n).tobytes()]
    lengths = np.fromiter(map(len, values), dtype="<u8", count=n)
    offsets = np.cumsum(lengths, dtype="<u8")
    total = int(offsets[-1]) if n else 0
    flat = np.fromiter(chain.from_iterable(values), dtype=col.dtype, count=total)
    return [offsets.tobytes(), flat.tobytes()]


def encode_ticks(ticks: Sequence[Tick]) -> bytes:
    """One Native block holding ``ticks`` in :data:`~engine.storage.schema.TICK_COLUMNS` order."""
    n = len(ticks)
    columns = list(zip(*map(_GET_ALL, ticks), strict=True)) if n else [()] * len(TICK_COLUMNS)
    parts = [_varuint(len(TICK_COLUMNS)), _varuint(n)]
    for col, values in zip(TICK_COLUMNS, columns, strict=True):
        parts.append(_HEADERS[col.name])
        parts.extend(_column_bytes(col, values, n))
    return b"".join(parts)
