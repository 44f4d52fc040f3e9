"""A tick batch that carries its own columns, so the monitor can judge it with numpy.

Reading a dozen fields out of a thousand ``Tick`` objects costs more than judging
them, so the columns must come from whoever built the ticks from arrays in the
first place (the mock market, a columnar store reader). :class:`ColumnarTicks` is a
tuple: nobody can swap a tick after the columns were taken, and a slice or any
rebuilt sequence is a plain tuple or list, which the monitor judges tick by tick.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.model import Tick


@dataclass(frozen=True, slots=True)
class TickColumns:
    """The fields the quality checks read, one array per field, row ``i`` = tick ``i``.

    ``bid_px`` and ``ask_px`` are ``(n, levels)``. ``depth_ok`` vouches that every
    tick's depth tuples are ``levels`` long on both sides (prices and quantities).
    """

    token: np.ndarray
    ltp: np.ndarray
    last_qty: np.ndarray
    volume: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    exchange_ts_ns: np.ndarray
    last_trade_ts_ns: np.ndarray
    received_ns: np.ndarray
    bid_px: np.ndarray
    ask_px: np.ndarray
    depth_ok: bool
    every_field: dict[str, np.ndarray] | None = None
    """Every ``Tick`` field by name, depth fields ``(n, levels)``, when the producer built
    them all from arrays (the mock market): the tick store then encodes the batch from
    these without reading a tick. ``None`` when only the fields above are at hand."""

    @classmethod
    def from_fields(
        cls,
        field: Callable[[str, type], np.ndarray],
        bid_px: np.ndarray,
        ask_px: np.ndarray,
        depth_ok: bool,
    ) -> TickColumns:
        """Columns whose scalars come from ``field(tick_field_name, dtype)``."""
        return cls(
            **{column: field(name, dtype) for column, name, dtype in SCALAR_COLUMNS},
            bid_px=bid_px,
            ask_px=ask_px,
            depth_ok=depth_ok,
        )


SCALAR_COLUMNS: tuple[tuple[str, str, type], ...] = (
    ("token", "instrument_token", np.int64),
    ("ltp", "ltp", np.float64),
    ("last_qty", "last_qty", np.int64),
    ("volume", "volume", np.int64),
    ("open", "open", np.float64),
    ("high", "high", np.float64),
    ("low", "low", np.float64),
    ("close", "close", np.float64),
    ("exchange_ts_ns", "exchange_ts_ns", np.int64),
    ("last_trade_ts_ns", "last_trade_ts_ns", np.int64),
    ("received_ns", "received_ns", np.int64),
)
"""Each scalar column of :class:`TickColumns`: its name, the ``Tick`` field it holds, its dtype."""


class ColumnarTicks(tuple[Tick, ...]):
    """An immutable batch of ticks with :attr:`columns` equal to their fields.

    Build it only where the columns and the ticks come from the same arrays; the
    monitor trusts the columns instead of reading the ticks.
    """

    _columns: TickColumns
    _span: tuple[int, int] | None

    def __new__(cls, ticks: Sequence[Tick], columns: TickColumns) -> ColumnarTicks:
        """Wrap ``ticks`` (already built from ``columns``)."""
        batch = super().__new__(cls, ticks)
        if len(columns.token) != len(batch):
            raise ValueError(f"{len(columns.token)} column rows for {len(batch)} ticks")
        batch._columns = columns
        batch._span = None
        return batch

    @property
    def columns(self) -> TickColumns:
        """The batch's columns (a batch cut by :meth:`rows` slices them on first use)."""
        span = self._span
        if span is not None:
            start, stop = span
            c = self._columns
            every = c.every_field
            self._columns = TickColumns(
                **{name: getattr(c, name)[start:stop] for name in _ARRAYS},
                depth_ok=c.depth_ok,
                every_field=None
                if every is None
                else {name: array[start:stop] for name, array in every.items()},
            )
            self._span = None
        return self._columns

    def block(self) -> tuple[TickColumns, int, int]:
        """The columns this batch was cut from (see :meth:`rows`) and its rows in them,
        without slicing: a consumer may judge the whole block once and index into it."""
        if self._span is None:
            return self._columns, 0, len(self)
        return self._columns, *self._span

    def rows(self, start: int, stop: int) -> ColumnarTicks:
        """Ticks ``start:stop`` with their columns (numpy views, taken only when read: a
        replay instant too small for the columnar screen never pays for slicing them)."""
        start, stop, _ = slice(start, stop).indices(len(self))
        batch = tuple.__new__(ColumnarTicks, tuple.__getitem__(self, slice(start, stop)))
        batch._columns = self.columns
        batch._span = (start, stop)
        return batch

    @classmethod
    def from_ticks(cls, ticks: Sequence[Tick]) -> ColumnarTicks:
        """Take the columns from the ticks themselves (slow; for tests and odd producers)."""
        levels = len(ticks[0].bid_px) if ticks else 0
        depth_ok = all(
            len(t.bid_px) == len(t.bid_qty) == len(t.ask_px) == len(t.ask_qty) == levels
            for t in ticks
        )

        def col(name: str, dtype: type) -> np.ndarray:
            return np.array([getattr(t, name) for t in ticks], dtype=dtype)

        if depth_ok:
            bid = np.array([t.bid_px for t in ticks], dtype=np.float64).reshape(len(ticks), levels)
            ask = np.array([t.ask_px for t in ticks], dtype=np.float64).reshape(len(ticks), levels)
        else:
            bid = ask = np.zeros((len(ticks), 0))
        return cls(ticks, TickColumns.from_fields(col, bid, ask, depth_ok))


_ARRAYS = tuple(name for name in TickColumns.__slots__ if name not in ("depth_ok", "every_field"))
