"""The instrument registry: lookups, symbol search and option chains for the UI, ticket and risk.

Built once per dump (100k+ rows) and then read-only. Search is case-insensitive:
exact symbol matches first, then symbol prefixes (bisect over the sorted symbols),
then substrings of the symbol or the name (``str.find`` over one joined text, so the
scan runs in C).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import date

from engine.model import Instrument

SEARCH_EXCHANGES = ("NSE", "BSE", "NFO")
"""Exchanges searched unless the caller names others."""

PREFIX_SORT_MAX = 5000

ChainRow = tuple[float, Instrument | None, Instrument | None]
"""One strike of an option chain: strike, call, put."""


class InstrumentRegistry:
    """Every instrument of one dump, indexed."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._all: list[Instrument] = list(instruments)
        self.by_token: dict[int, Instrument] = {i.instrument_token: i for i in self._all}
        self.by_key: dict[str, Instrument] = {i.key: i for i in self._all}
        self._sorted = sorted(
            range(len(self._all)), key=lambda n: self._all[n].tradingsymbol.upper()
        )
        self._sorted_symbols = [self._all[n].tradingsymbol.upper() for n in self._sorted]
        lines = [f"{i.tradingsymbol}\t{i.name}".upper() for i in self._all]
        self._starts: list[int] = []
        pos = 0
        for line in lines:
            self._starts.append(pos)
            pos += len(line) + 1
        self._text = "\n".join(lines)
        self._chains: dict[tuple[str, date], dict[float, list[Instrument | None]]] = {}
        self._futures: dict[str, list[Instrument]] = {}
        for inst in self._all:
            if inst.expiry is None:
                continue
            if inst.instrument_type in ("CE", "PE"):
                strikes = self._chains.setdefault((inst.underlying, inst.expiry), {})
                pair = strikes.setdefault(inst.strike, [None, None])
                pair[0 if inst.instrument_type == "CE" else 1] = inst
            elif inst.instrument_type == "FUT":
                self._futures.setdefault(inst.underlying, []).append(inst)
        for futures in self._futures.values():
            futures.sort(key=lambda i: i.expiry or date.min)
        self._underlyings = tuple(sorted({name for name, _ in self._chains}))

    def __len__(self) -> int:
        return len(self._all)

    def all(self) -> list[Instrument]:
        """Every instrument, in dump order."""
        return list(self._all)

    def get(self, token: int) -> Instrument | None:
        """The instrument with ``token``."""
        return self.by_token.get(token)

    def resolve(self, key: str) -> Instrument | None:
        """By ``EXCHANGE:SYMBOL`` (case-insensitive symbol)."""
        exchange, _, symbol = key.strip().upper().partition(":")
        return self.by_key.get(f"{exchange}:{symbol}")

    def lot_size(self, token: int) -> int:
        """Units per lot (1 for cash equities); raises KeyError for an unknown token."""
        return self.by_token[token].lot_size

    def tick_size(self, token: int) -> float:
        """Price step; raises KeyError for an unknown token."""
        return self.by_token[token].tick_size

    def search(
        self, query: str, exchanges: Sequence[str] = SEARCH_EXCHANGES, limit: int = 20
    ) -> list[Instrument]:
        """Instruments matching ``query``: exact symbol, then prefix, then substring.

        ``EXCHANGE:TEXT`` searches one exchange. Results are de-duplicated and at most
        ``limit`` long; prefix matches are ordered shortest symbol first.
        """
        text = query.strip().upper()
        if ":" in text:
            exchange, _, text = text.partition(":")
            exchanges = (exchange,)
        if not text or limit <= 0:
            return []
        allowed = set(exchanges)
        found: dict[int, Instrument] = {}

        def take(inst: Instrument) -> bool:
            if inst.exchange in allowed:
                found.setdefault(inst.instrument_token, inst)
            return len(found) >= limit

        for inst in self._range(text, text + "\0"):
            if take(inst):
                return list(found.values())
        prefixed = self._range(text, text + "\uffff")
        if len(prefixed) <= PREFIX_SORT_MAX:  # short symbols first: INFY before INFYBEES
            prefixed.sort(key=lambda i: (len(i.tradingsymbol), i.key))
        for inst in prefixed:
            if take(inst):
                return list(found.values())
        pos = self._text.find(text)
        while pos != -1:
            row = bisect.bisect_right(self._starts, pos) - 1
            if take(self._all[row]):
                break
            pos = self._text.find(
                text, self._starts[row + 1] if row + 1 < len(self._starts) else len(self._text)
            )
        return list(found.values())

    def _range(self, low: str, high: str) -> list[Instrument]:
        lo = bisect.bisect_left(self._sorted_symbols, low)
        hi = bisect.bisect_left(self._sorted_symbols, high)
        return [self._all[self._sorted[n]] for n in range(lo, hi)]

    def underlyings(self) -> tuple[str, ...]:
        """Every underlying with listed options, alphabetically."""
        return self._underlyings

    def futures(self, name: str) -> list[Instrument]:
        """Futures of underlying ``name``, nearest expiry first."""
        return list(self._futures.get(name.strip().upper(), ()))

    def expiries(self, name: str) -> list[date]:
        """Option expiries of underlying ``name`` (e.g. ``NIFTY``), nearest first."""
        key = name.strip().upper()
        return sorted(expiry for underlying, expiry in self._chains if underlying == key)

    def chain(self, name: str, expiry: date) -> list[ChainRow]:
        """The option chain of ``name`` for ``expiry``: (strike, CE, PE) by rising strike."""
        strikes = self._chains.get((name.strip().upper(), expiry), {})
        return [(strike, pair[0], pair[1]) for strike, pair in sorted(strikes.items())]
