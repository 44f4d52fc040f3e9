"""Symbol search and option chains for the desk's search screen (local and attached).

Plain text goes to :meth:`InstrumentRegistry.search` (exact symbol, prefix, then
substring of symbol or name over NSE, BSE and NFO). A query that starts with an option
underlying and has more words, the way traders type it (``nifty 26000 ce``, ``banknifty
dec pe``), is read as a contract: underlying, then any of strike, CE/PE, month, ``FUT``.

Chains are indexed by underlying here rather than by the dump's ``name`` alone: Zerodha's
own sample dump leaves ``name`` empty on options, so the underlying is also read from the
tradingsymbol (the letters before the expiry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

import msgspec

from engine.model import Instrument

if TYPE_CHECKING:
    from engine.instruments.registry import InstrumentRegistry

SEARCH_LIMIT = 50
"""Rows a search returns unless asked for fewer."""
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
SPOT_OF = {
    "NIFTY": "NSE:NIFTY 50",
    "BANKNIFTY": "NSE:NIFTY BANK",
    "FINNIFTY": "NSE:NIFTY FIN SERVICE",
    "MIDCPNIFTY": "NSE:NIFTY MID SELECT",
    "SENSEX": "BSE:SENSEX",
    "BANKEX": "BSE:BANKEX",
}
"""Indices whose spot is not ``NSE:<underlying>``."""


class ChainLeg(msgspec.Struct, frozen=True):
    """One call or put of a chain with its last price (previous close until it trades)."""

    instrument: Instrument
    ltp: float | None = None
    change_pct: float = 0.0
    live: bool = False
    """Whether ``ltp`` is a traded price this session (else the previous close, or none)."""


class ChainStrike(msgspec.Struct, frozen=True):
    """One row of a chain: the call and the put of one strike."""

    strike: float
    call: ChainLeg | None = None
    put: ChainLeg | None = None


class OptionChain(msgspec.Struct, frozen=True):
    """The option chain of one underlying and expiry, strikes rising."""

    underlying: str
    expiry: date | None = None
    expiries: tuple[date, ...] = ()
    """Every expiry of the underlying, nearest first."""
    spot: float | None = None
    """The underlying's last price, when the engine has one."""
    strikes: tuple[ChainStrike, ...] = ()
    note: str = ""
    """Why the chain is empty, in one line."""
    underlyings: tuple[str, ...] = ()
    """Every underlying with options (sent when the one asked for has none)."""

    @property
    def atm_strike(self) -> float | None:
        """The strike nearest the spot."""
        if self.spot is None or not self.strikes:
            return None
        return min((row.strike for row in self.strikes), key=lambda s: abs(s - self.spot))  # type: ignore[operator]


class SearchRequest(msgspec.Struct, array_like=True, frozen=True):
    """Ask for instruments matching ``query``."""

    query: str
    limit: int = SEARCH_LIMIT


class ChainRequest(msgspec.Struct, array_like=True, frozen=True):
    """Ask for the chain of ``underlying`` at ``expiry`` (``None``: the nearest)."""

    underlying: str
    expiry: date | None = None


Quote = Callable[[int], tuple[float, float, bool] | None]
"""``token -> (ltp, change %, traded this session)``, or ``None`` when unknown."""


def underlying_of(instrument: Instrument) -> str:
    """The underlying of a derivative (:attr:`Instrument.underlying`)."""
    return instrument.underlying


class InstrumentSearch:
    """Search and chains over every instrument the engine knows, indexed on first use."""

    def __init__(
        self,
        instruments: Callable[[], Iterable[Instrument]],
        quote: Quote,
        registry: InstrumentRegistry | None = None,
    ) -> None:
        """``registry`` reuses an index already built (Kite's dump); else one is built
        from ``instruments`` on the first search."""
        self._instruments = instruments
        self._quote = quote
        self._registry = registry

    @property
    def registry(self) -> InstrumentRegistry:
        """The search index."""
        if self._registry is None:
            # Imported here: the instruments package pulls in the Kite REST client.
            from engine.instruments.registry import InstrumentRegistry

            self._registry = InstrumentRegistry(self._instruments())
        return self._registry

    def use(self, registry: InstrumentRegistry) -> None:
        """Search ``registry`` from now on (a refreshed dump)."""
        self._registry = registry

    def underlyings(self) -> tuple[str, ...]:
        """Every underlying with listed options, alphabetically."""
        return self.registry.underlyings()

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> tuple[Instrument, ...]:
        """Instruments matching ``query``, best first, at most ``limit`` (capped at 200)."""
        limit = max(0, min(limit, 200))
        words = query.strip().upper().split()
        if not words or limit == 0:
            return ()
        underlying, rest = words[0], words[1:]
        if (
            rest
            and (underlying in self.registry.underlyings() or self.registry.futures(underlying))
            and all(_contract_word(w) for w in rest)
        ):
            contracts = self._contracts(underlying, rest, limit)
            if contracts:
                return tuple(contracts)
        # "NIFTY BANK", "NIFTY 50", "tata steel": a name, not a contract.
        return tuple(self.registry.search(" ".join(words), limit=limit))

    def _contracts(self, underlying: str, words: list[str], limit: int) -> list[Instrument]:
        strikes = {float(w) for w in words if _is_number(w)}
        kinds = {
            "CE" if w in ("CE", "CALL") else "PE" for w in words if w in ("CE", "CALL", "PE", "PUT")
        }
        months = {MONTHS.index(w[:3]) + 1 for w in words if w[:3] in MONTHS}
        wants_futures = any(w in ("FUT", "FUTURE", "FUTURES") for w in words)
        registry = self.registry
        found: list[Instrument] = []
        if wants_futures or not (strikes or kinds):
            futures = registry.futures(underlying)
            found += [f for f in futures if not months or (f.expiry and f.expiry.month in months)]
        if wants_futures:
            return found[:limit]
        for expiry in registry.expiries(underlying):
            if months and expiry.month not in months:
                continue
            for strike, call, put in registry.chain(underlying, expiry):
                if strikes and strike not in strikes:
                    continue
                found += [
                    i
                    for i in (call, put)
                    if i is not None and (not kinds or i.instrument_type in kinds)
                ]
                if len(found) >= limit:
                    return found[:limit]
        return found[:limit]

    def chain(self, underlying: str, expiry: date | None = None) -> OptionChain:
        """The chain of ``underlying`` at ``expiry`` (the nearest when ``None`` or unlisted)."""
        name = underlying.strip().upper()
        expiries = tuple(self.registry.expiries(name))
        if not expiries:
            note = f"no options on {name or '(empty)'}"
            return OptionChain(name, note=note, underlyings=self.underlyings())
        chosen = expiry if expiry in expiries else expiries[0]
        rows = tuple(
            ChainStrike(strike, self._leg(call), self._leg(put))
            for strike, call, put in self.registry.chain(name, chosen)
        )
        return OptionChain(name, chosen, expiries, self._spot(name), rows)

    def _leg(self, instrument: Instrument | None) -> ChainLeg | None:
        if instrument is None:
            return None
        quote = self._quote(instrument.instrument_token)
        if quote is None:
            return ChainLeg(instrument)
        ltp, change_pct, live = quote
        return ChainLeg(instrument, ltp, change_pct, live)

    def _spot(self, underlying: str) -> float | None:
        instrument = self.registry.resolve(SPOT_OF.get(underlying, f"NSE:{underlying}"))
        if instrument is None:
            return None
        quote = self._quote(instrument.instrument_token)
        return quote[0] if quote else None


def _contract_word(word: str) -> bool:
    """A word of a contract query: strike, option type, month or FUT."""
    return (
        _is_number(word)
        or word in ("CE", "PE", "CALL", "PUT", "FUT", "FUTURE", "FUTURES")
        or word[:3] in MONTHS
    )


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
