"""What a replay plays: the instruments to trade and the stored ticks to read.

Instruments come from the same place the live feed takes them (the mock universe for
``feed.source=mock``, the cached Kite instruments dump for ``kite``), so tokens in the
store map to the same symbols, lot sizes and circuit limits as when they were recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import msgspec

from engine.clock import LiveClock
from engine.model import Instrument, MarketDay, Tick
from engine.settings import Settings
from engine.storage.errors import TickStoreError
from engine.storage.settings import chdb_path, is_chdb


class ReplayInputError(ValueError):
    """A replay cannot run as asked; the message is one line for the trader."""


class Universe(msgspec.Struct, frozen=True):
    """Instruments and market days the live feed of these settings would have had."""

    instruments: tuple[Instrument, ...]
    market_days: tuple[MarketDay, ...]

    def resolve(self, symbols: Sequence[str]) -> list[Instrument]:
        """``EXCHANGE:SYMBOL`` or a bare symbol (NSE first) → instruments, in order given."""
        by_key = {i.key: i for i in self.instruments}
        by_symbol: dict[str, Instrument] = {}
        for instrument in self.instruments:
            known = by_symbol.get(instrument.tradingsymbol)
            if known is None or (instrument.exchange == "NSE" and known.exchange != "NSE"):
                by_symbol[instrument.tradingsymbol] = instrument
        found: list[Instrument] = []
        for raw in symbols:
            symbol = raw.strip().upper()
            instrument = by_key.get(symbol) or by_symbol.get(symbol)
            if instrument is None:
                raise ReplayInputError(f"unknown symbol: {raw.strip() or '(empty)'}")
            if instrument not in found:
                found.append(instrument)
        return found


def universe_of(settings: Settings) -> Universe:
    """The feed's instruments: the mock universe, or the cached Kite instruments dump."""
    if settings.feed.source == "kite":
        from engine.instruments import InstrumentsService

        registry = InstrumentsService(settings.data_dir, LiveClock(), rest=None).load_cached()
        if registry is None:
            raise ReplayInputError(
                "no Kite instruments dump is cached: run `alphapt-tui login` first"
            )
        return Universe(tuple(registry.all()), ())
    from engine.feeds.mock_market import MockMarket
    from engine.feeds.universe import build_universe

    feed = settings.feed
    market = MockMarket(build_universe(feed.universe_size), feed.scenario, feed.seed)
    if feed.source != "mock":
        # A NATS feed carries the mock universe's instruments but no circuit limits.
        return Universe(tuple(market.instruments), ())
    return Universe(tuple(market.instruments), tuple(market.market_days()))


class StoredWindow(msgspec.Struct, frozen=True):
    """The stored ticks a replay will play: how many, first and last time."""

    ticks: int
    first_ns: int
    last_ns: int


def check_store_exists(settings: Settings) -> None:
    """Refuse an embedded store directory that does not exist (opening it would create it)."""
    dsn = settings.storage.resolved_dsn(Path(settings.data_dir))
    if is_chdb(dsn):
        path = chdb_path(dsn)
        if not path.is_dir():
            raise ReplayInputError(f"no tick store at {path}: nothing has been recorded there")


class StoredTicks:
    """Reads one window of the tick store (opened read-only by the caller)."""

    def __init__(self, store: object, tokens: Sequence[int], from_ns: int, to_ns: int) -> None:
        self._store = store
        self._queries = store.queries()  # type: ignore[attr-defined]
        self.tokens = list(tokens)
        self.from_ns = from_ns
        self.to_ns = to_ns

    def window(self) -> StoredWindow:
        """Count the ticks in the window (blocking; call in a thread)."""
        sql = (
            "SELECT count(), min(toUnixTimestamp64Nano(ts)), max(toUnixTimestamp64Nano(ts))"
            " FROM ticks WHERE instrument_token IN {tokens:Array(UInt32)}"
            " AND ts >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')"
            " AND ts < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')"
        )
        params = {"tokens": self.tokens, "from_ns": self.from_ns, "to_ns": self.to_ns}
        client = self._store.client()  # type: ignore[attr-defined]
        try:
            count, first, last = client.query(sql, parameters=params).result_rows[0]
        except Exception as exc:
            text = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
            raise TickStoreError(f"tick store query failed: {text.strip()[:300]}") from None
        finally:
            client.close()
        return StoredWindow(int(count), int(first or 0), int(last or 0))

    def chunks(self, chunk_size: int = 20_000) -> AsyncIterator[Sequence[Tick]]:
        """The window's ticks in time order, ``chunk_size`` at a time."""
        return self._queries.ticks(self.tokens, self.from_ns, self.to_ns, chunk_size)
