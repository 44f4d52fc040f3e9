"""The trader's watchlist: which instruments the market watch shows, persisted in the data dir."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path


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
