"""Front-end commands that control strategies (carried out by ``Kernel.execute``)."""

from __future__ import annotations

from typing import Any

import msgspec


class AddStrategy(msgspec.Struct, frozen=True, tag=True):
    """Create a strategy instance at runtime (it starts stopped unless ``start`` is set)."""

    name: str
    class_name: str
    instruments: tuple[str, ...]
    params: dict[str, Any] = {}
    start: bool = False
    user: str = "local"


class StartStrategy(msgspec.Struct, frozen=True, tag=True):
    """Start a stopped strategy."""

    name: str
    user: str = "local"


class StopStrategy(msgspec.Struct, frozen=True, tag=True):
    """Stop a running strategy (its open orders are cancelled per settings)."""

    name: str
    user: str = "local"


class EnableStrategy(msgspec.Struct, frozen=True, tag=True):
    """Allow a disabled strategy to be started."""

    name: str
    user: str = "local"


class DisableStrategy(msgspec.Struct, frozen=True, tag=True):
    """Stop a strategy and keep it from starting."""

    name: str
    user: str = "local"


class UpdateStrategyParams(msgspec.Struct, frozen=True, tag=True):
    """Change parameters; validated by the strategy's own model before they apply."""

    name: str
    params: dict[str, Any]
    user: str = "local"


class RemoveStrategy(msgspec.Struct, frozen=True, tag=True):
    """Forget a strategy that is not running and has no open orders."""

    name: str
    user: str = "local"


class ReloadStrategies(msgspec.Struct, frozen=True, tag=True):
    """Rescan the strategies directory so newly dropped files can be used."""

    user: str = "local"


STRATEGY_COMMANDS = (
    AddStrategy,
    StartStrategy,
    StopStrategy,
    EnableStrategy,
    DisableStrategy,
    UpdateStrategyParams,
    RemoveStrategy,
    ReloadStrategies,
)
