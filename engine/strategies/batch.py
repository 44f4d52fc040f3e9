"""Closed bars handed to a strategy as columns: one ``on_bars`` call per timeframe and bucket.

At a minute close one tick batch closes a bar of every instrument. A strategy that
implements :meth:`Strategy.on_bars <engine.strategies.base.Strategy.on_bars>` gets
them as one :class:`BarBatch` (numpy columns) instead of one ``on_bar`` call per bar,
so it can update per-instrument state arrays with a few vector operations.

A batch holds the bars of one timeframe and one bucket (same ``start_ns``) that
closed together, each instrument at most once, in the order they closed.
``index[i]`` is the position of bar ``i``'s instrument in the receiving strategy's
``instruments``: the row of its per-instrument state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter

import numpy as np

from engine.strategies.bars import Bar


class BarColumns:
    """The bars of one bucket that closed together, their columns built on first use.

    Shared by every strategy the bucket is delivered to, so each column is read out
    of the bar records once however many strategies use it.
    """

    __slots__ = ("_cache", "bars", "end_ns", "rows", "start_ns", "timeframe")

    def __init__(self, bars: Sequence[Bar]) -> None:
        first = bars[0]
        self.bars = bars
        self.timeframe = first.timeframe
        self.start_ns = first.start_ns
        self.end_ns = first.end_ns
        self._cache: dict[str, np.ndarray] = {}
        self.rows: dict[InstrumentIndex, tuple[np.ndarray, np.ndarray | None]] = {}
        """:meth:`InstrumentIndex.rows` of these bars, by index (filled by :func:`select`)."""

    def column(self, field: str) -> np.ndarray:
        """One field of every bar as an array (int64 for counts and tokens, float64 for prices)."""
        values = self._cache.get(field)
        if values is None:
            dtype = np.int64 if field in _INT_FIELDS else np.float64
            bars = self.bars
            values = np.fromiter(map(attrgetter(field), bars), dtype, len(bars))
            values.flags.writeable = False  # shared by every strategy of the bucket
            self._cache[field] = values
        return values


_INT_FIELDS = frozenset({"instrument_token", "volume", "ticks"})


class InstrumentIndex:
    """Maps instrument tokens to a strategy's rows (positions in its ``instruments``)."""

    __slots__ = ("_order", "_sorted", "size")

    def __init__(self, tokens: Iterable[int]) -> None:
        first: dict[int, int] = {}
        for position, token in enumerate(tokens):
            first.setdefault(token, position)
        self.size = len(first)
        keys = np.fromiter(first, dtype=np.int64, count=len(first))
        rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
        order = np.argsort(keys, kind="stable")
        self._sorted = keys[order]
        self._order = rows[order]

    def rows(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(rows, selected)``: each known token's row; ``selected`` picks the known tokens
        from ``tokens`` (``None`` when all are known)."""
        keys = self._sorted
        if not len(keys):
            return keys, np.zeros(0, dtype=np.int64)
        at = np.searchsorted(keys, tokens)
        np.minimum(at, len(keys) - 1, out=at)
        known = keys[at] == tokens
        if known.all():
            return self._order[at], None
        selected = np.flatnonzero(known)
        return self._order[at[selected]], selected


class BarBatch:
    """Bars of one timeframe and bucket that closed together, as columns, for one strategy."""

    __slots__ = ("_columns", "_selected", "index")

    def __init__(
        self, columns: BarColumns, index: np.ndarray, selected: np.ndarray | None = None
    ) -> None:
        self._columns = columns
        self._selected = selected
        self.index = index
        """Row of each bar's instrument in the strategy's ``instruments`` (int64)."""

    @classmethod
    def of(cls, bars: Sequence[Bar], instruments: Iterable[int]) -> BarBatch | None:
        """The batch ``bars`` make for a strategy trading ``instruments`` (tokens, in its order).

        ``None`` when none of the bars is of those instruments. The bars must share one
        timeframe and bucket, each instrument at most once.
        """
        if not bars:
            return None
        return select(BarColumns(bars), InstrumentIndex(instruments))

    @property
    def timeframe(self) -> str:
        """``1m``, ``5m`` or ``15m``."""
        return self._columns.timeframe

    @property
    def start_ns(self) -> int:
        """Start of the bucket every bar of the batch covers."""
        return self._columns.start_ns

    @property
    def end_ns(self) -> int:
        """End of that bucket (exclusive)."""
        return self._columns.end_ns

    def _column(self, field: str) -> np.ndarray:
        values = self._columns.column(field)
        return values if self._selected is None else values[self._selected]

    @property
    def tokens(self) -> np.ndarray:
        """Instrument token of each bar."""
        return self._column("instrument_token")

    @property
    def open(self) -> np.ndarray:
        """Open prices."""
        return self._column("open")

    @property
    def high(self) -> np.ndarray:
        """High prices."""
        return self._column("high")

    @property
    def low(self) -> np.ndarray:
        """Low prices."""
        return self._column("low")

    @property
    def close(self) -> np.ndarray:
        """Close prices."""
        return self._column("close")

    @property
    def volume(self) -> np.ndarray:
        """Volume of each bar."""
        return self._column("volume")

    @property
    def ticks(self) -> np.ndarray:
        """Ticks folded into each bar."""
        return self._column("ticks")

    @property
    def spread(self) -> np.ndarray:
        """Best ask minus best bid at each bar's close (0 if unknown)."""
        return self._column("spread")

    @property
    def bars(self) -> tuple[Bar, ...]:
        """The bar records, in closing order."""
        bars = self._columns.bars
        if self._selected is None:
            return tuple(bars)
        return tuple(bars[i] for i in self._selected.tolist())

    def __len__(self) -> int:
        return len(self.index)

    def __iter__(self) -> Iterator[Bar]:
        return iter(self.bars)


def select(columns: BarColumns, index: InstrumentIndex) -> BarBatch | None:
    """The part of ``columns`` a strategy with ``index`` trades, or ``None`` if no bar is its.

    The rows are worked out once per bucket and index: strategies trading the same
    instruments share one index (the dispatcher sees to it), so they share the work.
    """
    found = columns.rows.get(index)
    if found is None:
        found = columns.rows[index] = index.rows(columns.column("instrument_token"))
    rows, selected = found
    if not len(rows):
        return None
    return BarBatch(columns, rows, selected)


def buckets(bars: Iterable[Bar], timeframes: Iterable[str]) -> list[BarColumns]:
    """Group closed bars of ``timeframes`` by timeframe and bucket, in the order to deliver them.

    Buckets go out by their end (the earliest-ending first; equal ends in the order
    their first bar closed), so each instrument's bars of a timeframe still arrive
    oldest first even when one tick batch closes several buckets.
    """
    wanted = set(timeframes)
    groups: dict[tuple[str, int], list[Bar]] = {}
    for bar in bars:
        if bar.timeframe in wanted:
            key = (bar.timeframe, bar.start_ns)
            group = groups.get(key)
            if group is None:
                groups[key] = [bar]
            else:
                group.append(bar)
    ordered = sorted(groups.values(), key=lambda group: group[0].end_ns)
    return [BarColumns(group) for group in ordered]
