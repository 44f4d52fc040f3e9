"""Exchange freeze quantities per underlying, from a small CSV table."""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

from engine.model import Instrument


class FreezeTable:
    """Freeze quantity by (exchange, underlying name); ``None`` where the exchange sets none."""

    def __init__(self, rows: dict[tuple[str, str], int]) -> None:
        self._rows = dict(rows)

    def freeze(self, instrument: Instrument) -> int | None:
        """The freeze quantity that applies to ``instrument``, if any."""
        return self._rows.get((instrument.exchange, instrument.name))

    def __len__(self) -> int:
        return len(self._rows)

    @classmethod
    def from_csv(cls, text: str) -> FreezeTable:
        """Parse ``exchange,name,freeze_quantity`` rows (``#`` lines are comments)."""
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        rows: dict[tuple[str, str], int] = {}
        for n, rec in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), start=2):
            try:
                key = (rec["exchange"].strip().upper(), rec["name"].strip().upper())
                quantity = int(rec["freeze_quantity"])
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValueError(f"freeze quantity row {n}: {exc!r}") from exc
            if quantity <= 0:
                raise ValueError(f"freeze quantity row {n}: quantity must be positive")
            if key in rows:
                raise ValueError(f"freeze quantity row {n}: {key[0]}:{key[1]} listed twice")
            rows[key] = quantity
        return cls(rows)

    @classmethod
    def load(cls, path: str | Path | None = None) -> FreezeTable:
        """The table at ``path``, or the one shipped in ``engine/data``."""
        if path is not None:
            return cls.from_csv(Path(path).read_text(encoding="utf-8"))
        data = resources.files("engine.data").joinpath("freeze_quantities.csv")
        return cls.from_csv(data.read_text(encoding="utf-8"))
