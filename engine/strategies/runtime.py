"""Adding, removing and finding strategy classes and instances while the engine runs."""

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

    if TYPE_CHECKING:  # provided by StrategyManager and StrategyControl

        def load(self) -> None: ...
        def _build(self, entry: StrategyEntry, catalog: Catalog) -> str | None: ...
        def start_strategy(self, name: str) -> str | None: ...
        def rebuild(self) -> None: ...

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
        log.info("strategy added", strategy=name, cls=class_name, instruments=keys)
        if start:
            error = self.start_strategy(name)
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
        log.info("strategy removed", strategy=name)
        return None

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
