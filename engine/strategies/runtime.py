"""Adding, removing and finding strategy classes and instances while the engine runs.

Strategies added here are saved to the data directory (see :mod:`engine.strategies.persist`)
and rebuilt by the next engine that loads from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError

from engine.cache import MarketCache
from engine.strategies.base import Strategy, StrategyParams, StrategyState
from engine.strategies.loader import Catalog, describe_params_error, load_catalog
from engine.strategies.persist import SavedStrategies, SavedStrategy
from engine.strategies.settings import (
    NAME_RULE,
    RESERVED_NAMES,
    StrategiesSettings,
    StrategyEntry,
)
from engine.strategies.slot import StrategySlot

log = structlog.get_logger("engine.strategies")

_NAME = re.compile(NAME_RULE)


class StrategyRuntime:
    """Runtime creation and removal of strategies; mixed into :class:`StrategyManager`."""

    settings: StrategiesSettings
    directory: Path
    catalog: Catalog
    _slots: dict[str, StrategySlot]
    _cache: MarketCache
    _builtins: dict[str, type[Strategy]] | None
    _saved: SavedStrategies
    _added: set[str]
    _unrestored: dict[str, SavedStrategy]
    _hold: set[str]
    _restoring: bool

    if TYPE_CHECKING:  # provided by StrategyManager and StrategyControl

        def load(self) -> None: ...
        def _build(self, entry: StrategyEntry, catalog: Catalog) -> str | None: ...
        def start_strategy(self, name: str) -> str | None: ...
        def rebuild(self) -> None: ...
        def _load_error(self, message: str) -> None: ...
        def _persist_problem(self, message: str) -> None: ...

    def add_strategy(
        self,
        name: str,
        class_name: str,
        instruments: Sequence[str],
        params: dict[str, Any],
        start: bool = False,
    ) -> str | None:
        """Create a paper strategy exactly as a configured entry would be built.

        Returns the one-line reason it cannot be added (name, class, instrument or
        parameter named), or ``None``. With ``start`` it is started at once.
        """
        self.load()
        problem = self._check_name(name)
        if problem:
            return problem
        cls = self.catalog.classes.get(class_name)
        if cls is None:
            known = ", ".join(sorted(self.catalog.classes)) or "none"
            return f"unknown strategy class {class_name!r} (available: {known})"
        keys = self._resolve(instruments)
        if isinstance(keys, str):
            return keys
        try:
            entry = StrategyEntry.model_validate(
                {"name": name, "class": class_name, "instruments": keys, "params": dict(params)}
            )
        except ValidationError as exc:
            return f"strategy {name}: {describe_params_error(exc).removeprefix('params.')}"
        problem = self._build(entry, self.catalog)
        if problem:
            return f"strategy {name}: {problem}"
        self.rebuild()
        self._added.add(name)
        self._unrestored.pop(name, None)
        log.info("strategy added", strategy=name, cls=class_name, instruments=keys)
        error = self.start_strategy(name) if start else None
        self._save_added()
        if error:
            return f"strategy {name} was added but did not start: {error}"
        return None

    def _check_name(self, name: str) -> str | None:
        if not _NAME.fullmatch(name):
            return (
                f"invalid strategy name {name!r}: 1-32 lowercase letters, digits, _ or -, "
                "starting with a letter"
            )
        if name in RESERVED_NAMES:
            return f"strategy name {name!r} is reserved by the desk"
        if name in self._slots:
            return f"a strategy named {name!r} already exists"
        return None

    def _resolve(self, symbols: Sequence[str]) -> list[str] | str:
        keys: list[str] = []
        for raw in symbols:
            symbol = raw.strip()
            if not symbol:
                continue
            instrument = self._cache.resolve(symbol)
            if instrument is None:
                return f"unknown instrument {symbol!r} (use SYMBOL or EXCHANGE:SYMBOL)"
            if instrument.key not in keys:
                keys.append(instrument.key)
        if not keys:
            return "a strategy needs at least one instrument"
        return keys

    def remove_strategy(self, name: str) -> str | None:
        """Forget a strategy that is not running and has no open orders."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is StrategyState.RUNNING:
            return f"strategy {name} is running; stop it first"
        open_orders = len(slot.book.open_orders())
        if open_orders:
            return f"strategy {name} has {open_orders} open order(s); cancel them first"
        slot.cancel_timers()
        del self._slots[name]
        self.rebuild()
        if name in self._added:
            self._added.discard(name)
            self._save_added()
        log.info("strategy removed", strategy=name)
        return None

    # -- saved across restarts -------------------------------------------------------

    def _restore_added(self) -> None:
        """Rebuild the strategies added at runtime before the last shutdown (part of ``load``)."""
        saved = self._saved.load()
        if isinstance(saved, str):
            self._load_error(f"strategies added at runtime were not restored: {saved}")
            return
        self._restoring = True
        try:
            for entry in saved:
                if entry.name in self._slots:
                    self._load_error(
                        f"strategy {entry.name} is configured in settings; "
                        "the one added at runtime under that name is dropped"
                    )
                    continue
                problem = self.add_strategy(
                    entry.name, entry.class_name, entry.instruments, entry.params
                )
                if problem:
                    # Kept in the file: a strategy file put back makes it loadable again.
                    self._unrestored[entry.name] = entry
                    self._load_error(f"strategy added at runtime not restored: {problem}")
                elif entry.state == "disabled":
                    self._slots[entry.name].state = StrategyState.DISABLED
                elif entry.state == "stopped":
                    self._hold.add(entry.name)
        finally:
            self._restoring = False

    def _changed(self, name: str) -> None:
        """The user changed strategy ``name`` (state or parameters): save it if it was added here."""
        if name in self._added:
            self._save_added()

    def _save_added(self) -> None:
        if self._restoring:
            return
        entries = [_saved_entry(slot) for name, slot in self._slots.items() if name in self._added]
        entries += [e for name, e in self._unrestored.items() if name not in self._slots]
        problem = self._saved.save(tuple(entries))
        if problem:
            self._persist_problem(f"strategies added at runtime are not saved: {problem}")

    def reload_user_strategies(self) -> list[str]:
        """Rescan the strategies directory (and entry points); one line per problem found.

        New classes can be used at once. Running strategies keep the class they were
        built from; a changed file applies to strategies added after the reload.
        """
        self.load()
        builtins = self._builtins or {}
        catalog = load_catalog(builtins, self.directory, self.settings.entry_points)
        self.catalog = catalog
        for error in catalog.errors:
            log.warning("strategy reload problem", detail=error)
        return list(catalog.errors)

    def available_classes(self) -> tuple[tuple[str, str], ...]:
        """Every usable class as ``(name, one-line description)``, by name."""
        self.load()
        return tuple(
            (key, describe_class(cls)) for key, cls in sorted(self.catalog.classes.items())
        )


def _saved_entry(slot: StrategySlot) -> SavedStrategy:
    if slot.running:
        state = "running"
    elif slot.state is StrategyState.DISABLED:
        state = "disabled"
    else:
        state = "stopped"  # a failed strategy comes back stopped
    return SavedStrategy(
        name=slot.name,
        class_name=slot.entry.class_,
        instruments=slot.entry.instruments,
        params=slot.params.model_dump(mode="json"),
        state=state,
    )


def describe_class(cls: type[Strategy], most: int = 5) -> str:
    """The docstring's first sentence, then the class's own parameters with their defaults."""
    paragraph = (cls.__doc__ or "").strip().split("\n\n")[0]
    summary = " ".join(paragraph.replace("``", "").split()).split(". ")[0].rstrip(".")
    summary = summary or cls.__name__
    own = [
        field if info.is_required() else f"{field}={_default(info.default)}"
        for field, info in cls.Params.model_fields.items()
        if field not in StrategyParams.model_fields
    ]
    if len(own) > most:
        own = [*own[:most], "…"]
    return f"{summary} [{', '.join(own)}]" if own else summary


def _default(value: object) -> str:
    return str(getattr(value, "value", value))
