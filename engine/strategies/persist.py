"""Strategies added at runtime, kept in a JSON file in the data directory across restarts.

Only strategies created with ``AddStrategy`` (the strategies screen) are kept here;
configured entries live in the settings. The file is rewritten, atomically, after
every change the user makes to one of them (state, parameters, removal) and when one
fails. An engine shutdown stops strategies without rewriting it, so a restart brings
each back as the user left it: running, stopped or disabled (a failed one, stopped).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import msgspec

FILE_NAME = "strategies-added.json"
SavedState = Literal["running", "stopped", "disabled"]


class SavedStrategy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One runtime-added strategy as saved."""

    name: str
    class_name: str = msgspec.field(name="class")
    instruments: tuple[str, ...]
    params: dict[str, Any] = {}
    state: SavedState = "stopped"


class _Saved(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: Literal[1] = 1
    strategies: tuple[SavedStrategy, ...] = ()


class SavedStrategies:
    """Reads and writes the runtime-added strategies file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[SavedStrategy, ...] | str:
        """The saved strategies (none without a file), or the one-line reason the file is unusable.

        An unusable file is moved aside to ``<name>.corrupt`` so the next save cannot
        overwrite what the user may still want to recover.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return ()
        except OSError as exc:
            return f"cannot read {self.path}: {exc.strerror or exc}"
        try:
            saved = msgspec.json.decode(raw, type=_Saved)
        except msgspec.DecodeError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            try:
                os.replace(self.path, aside)
            except OSError:
                aside = self.path
            return f"{self.path} is not a valid strategies file ({exc}); kept as {aside.name}"
        names = [s.name for s in saved.strategies]
        if len(set(names)) != len(names):
            return f"{self.path} names a strategy twice; nothing restored from it"
        return saved.strategies

    def save(self, strategies: tuple[SavedStrategy, ...]) -> str | None:
        """Write the file atomically; the one-line reason it could not be written, or ``None``."""
        data = msgspec.json.format(msgspec.json.encode(_Saved(strategies=strategies)), indent=2)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data + b"\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            return f"cannot write {self.path}: {exc.strerror or exc}"
        return None
