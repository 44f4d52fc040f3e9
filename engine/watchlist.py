"""The trader's watchlist: which instruments the market watch shows, persisted in the data dir."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from engine.feeds.universe import INDICES, NIFTY_50
from engine.model import Instrument

DEFAULT_SIZE = 52


def default_watchlist(instruments: Sequence[Instrument]) -> list[str]:
    """A first-run watchlist: the NIFTY 50 and its two indices where the feed has them.

    A Kite instruments dump starts with whatever Zerodha sorts first (``-BE`` and ``-BL``
    series, old contracts); a trader expects the index and its heavyweights. Cash
    equities of NSE (plain series first) fill the list when the dump lacks some of those.
    """
    by_key = {i.key: i for i in instruments}
    wanted = [f"NSE:{symbol}" for symbol, *_ in (*NIFTY_50, *INDICES)]
    chosen = [key for key in wanted if key in by_key]
    if len(chosen) < DEFAULT_SIZE:
        taken = set(chosen)
        cash = [
            i
            for i in instruments
            if i.exchange == "NSE" and i.instrument_type == "EQ" and i.key not in taken
        ]
        # Plain equities before the -BE/-BL/-N8 series (trade-for-trade, bonds, ...).
        cash.sort(key=lambda i: "-" in i.tradingsymbol)
        chosen += [i.key for i in cash[: DEFAULT_SIZE - len(chosen)]]
    return chosen[:DEFAULT_SIZE]


class WatchlistError(Exception):
    """A watchlist change that cannot be made (one-line message)."""


class Watchlist:
    """An ordered list of instrument keys (``NSE:RELIANCE``) saved as JSON."""

    def __init__(self, path: Path, default: Iterable[str]) -> None:
        self.path = path
        self.version = 1
        self._keys: list[str] = self._load() or list(default)

    def _load(self) -> list[str] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # A damaged file must not stop the desk; the default list is shown instead.
            return None
        if isinstance(data, dict) and isinstance(data.get("symbols"), list):
            return [str(key) for key in data["symbols"]]
        return None

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"symbols": self._keys}, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    @property
    def keys(self) -> tuple[str, ...]:
        """Instrument keys in display order."""
        return tuple(self._keys)

    def add(self, key: str) -> None:
        """Append ``key``; adding one already present is refused."""
        if key in self._keys:
            raise WatchlistError(f"{key} is already in the watchlist")
        self._keys.append(key)
        self.version += 1
        self._save()

    def remove(self, key: str) -> None:
        """Remove ``key``; removing one not present is refused."""
        if key not in self._keys:
            raise WatchlistError(f"{key} is not in the watchlist")
        self._keys.remove(key)
        self.version += 1
        self._save()
