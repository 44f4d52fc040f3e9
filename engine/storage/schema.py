"""The ``ticks`` table's columns: one list drives the DDL, the encoder and the reader.

Each :class:`Column` maps a :class:`~engine.model.Tick` field to a ClickHouse column.
Timestamps are stored as ``DateTime64(9, 'UTC')`` (Int64 nanoseconds on the wire, so
they cost nothing to encode) under shorter names: ``exchange_ts_ns`` becomes ``ts``.
"""

from __future__ import annotations

import msgspec

from engine.model import Tick

TS_TYPE = "DateTime64(9, 'UTC')"


class Column(msgspec.Struct, frozen=True):
    """One stored column of a tick."""

    name: str
    """Column name in ClickHouse."""
    ch_type: str
    """ClickHouse type of the column."""
    field: str
    """The :class:`Tick` attribute it stores."""
    dtype: str
    """numpy dtype of one value on the wire (for arrays: of one element)."""
    is_array: bool = False
    is_ts: bool = False

    def select_expr(self) -> str:
        """SQL that reads the column back as the Tick field's value."""
        if self.is_ts:
            return f"toUnixTimestamp64Nano({self.name}) AS {self.field}"
        return self.name if self.name == self.field else f"{self.name} AS {self.field}"


def _scalar(name: str, ch_type: str, dtype: str, field: str | None = None) -> Column:
    return Column(name, ch_type, field or name, dtype)


def _ts(name: str, field: str) -> Column:
    return Column(name, TS_TYPE, field, "<i8", is_ts=True)


def _array(name: str, ch_type: str, dtype: str) -> Column:
    return Column(name, f"Array({ch_type})", name, dtype, is_array=True)


# Signed 64-bit quantities: any int the feed can produce encodes, so one odd tick can
# never fail a whole batch; compression makes the width free on disk.
TICK_COLUMNS: tuple[Column, ...] = (
    _scalar("instrument_token", "UInt32", "<u4"),
    _scalar("ltp", "Float64", "<f8"),
    _scalar("last_qty", "Int64", "<i8"),
    _scalar("avg_price", "Float64", "<f8"),
    _scalar("volume", "Int64", "<i8"),
    _scalar("buy_qty", "Int64", "<i8"),
    _scalar("sell_qty", "Int64", "<i8"),
    _scalar("open", "Float64", "<f8"),
    _scalar("high", "Float64", "<f8"),
    _scalar("low", "Float64", "<f8"),
    _scalar("close", "Float64", "<f8"),
    _ts("ts", "exchange_ts_ns"),
    _ts("last_trade_ts", "last_trade_ts_ns"),
    _array("bid_px", "Float64", "<f8"),
    _array("bid_qty", "Int64", "<i8"),
    _array("bid_orders", "Int64", "<i8"),
    _array("ask_px", "Float64", "<f8"),
    _array("ask_qty", "Int64", "<i8"),
    _array("ask_orders", "Int64", "<i8"),
    _scalar("oi", "Int64", "<i8"),
    _ts("received_ts", "received_ns"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in TICK_COLUMNS)

# Reading back in Tick field order lets a row become ``Tick(*row)``.
if tuple(c.field for c in TICK_COLUMNS) != Tick.__struct_fields__:
    raise RuntimeError("engine.storage.schema.TICK_COLUMNS is out of step with Tick's fields")

TICK_SELECT = ", ".join(c.select_expr() for c in TICK_COLUMNS)
"""Select list that returns ticks in :class:`Tick` field order."""
