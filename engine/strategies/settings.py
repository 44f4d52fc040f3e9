"""Settings of the strategy manager: which strategies run, on what, with which parameters.

Each entry names a strategy class (a built-in key such as ``sma_crossover``, a class
from a file in the strategies directory, or an ``alphapt.strategies`` entry point)
and configures one running instance of it::

    [[strategies.entries]]
    name = "sma_nifty"
    class = "sma_crossover"
    instruments = ["NSE:RELIANCE", "NSE:INFY"]
    params = { fast = 10, slow = 30, quantity = 5 }
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CONFIG = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)
NAME_RULE = r"[a-z][a-z0-9_-]{0,31}"
"""Strategy ids: short enough for topics and views, safe in NATS subjects and the ledger."""
_NAME = re.compile(NAME_RULE)
RESERVED_NAMES = frozenset({"manual", "kill-switch"})
"""``strategy_id`` values the desk itself uses (manual orders, kill-switch flattening)."""


class StrategyLimits(BaseModel):
    """Per-strategy limits handed to the risk manager; ``None`` means the account limit applies."""

    model_config = _CONFIG

    max_position_qty: int | None = Field(default=None, gt=0)
    """Largest absolute net quantity per instrument this strategy may hold."""
    max_order_qty: int | None = Field(default=None, gt=0)
    """Largest quantity of one order."""
    max_order_value: float | None = Field(default=None, gt=0)
    """Largest value of one order in rupees."""
    max_orders_per_minute: int | None = Field(default=None, gt=0)
    """Order submissions allowed per minute."""
    max_daily_loss: float | None = Field(default=None, gt=0)
    """Loss in rupees (realized plus unrealized) at which risk stops this strategy."""


class StrategyEntry(BaseModel):
    """One configured strategy instance."""

    model_config = ConfigDict(
        use_attribute_docstrings=True, extra="forbid", frozen=True, populate_by_name=True
    )

    name: str
    """Strategy id: 1-32 lowercase letters, digits, ``_`` or ``-``; used in topics and orders."""
    class_: str = Field(alias="class")
    """Strategy class: a built-in key, a class name from a strategy file, or an entry point name."""
    instruments: tuple[str, ...] = ()
    """Instruments it trades, as ``EXCHANGE:SYMBOL`` or a bare symbol."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Parameters, validated against the class's ``Params`` model."""
    enabled: bool = True
    """Start it with the engine; a disabled strategy is loaded but idle."""
    mode: Literal["paper", "live"] = "paper"
    """Where its orders go; a strategy whose mode the engine cannot serve is not loaded."""
    on_failure: Literal["cancel", "keep"] = "cancel"
    """When a callback raises: ``cancel`` its open orders, or ``keep`` them resting."""
    limits: StrategyLimits = StrategyLimits()
    """Per-strategy risk limits (applied by the risk manager)."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                "must be 1-32 lowercase letters, digits, _ or -, starting with a letter"
            )
        if value in RESERVED_NAMES:
            raise ValueError(f"{value!r} is reserved by the desk")
        return value


class StrategiesSettings(BaseModel):
    """The strategy framework."""

    model_config = _CONFIG

    enabled: bool = True
    """Run the strategy manager at all."""
    directory: Path | None = None
    """Folder of user strategy files (``*.py``); default ``<data_dir>/strategies``."""
    entry_points: bool = True
    """Also load classes from the ``alphapt.strategies`` entry-point group."""
    tick_budget_ms: float = Field(default=5.0, gt=0)
    """A market-data callback slower than this raises a warning alert (rate-limited)."""
    budget_alert_interval_s: float = Field(default=60.0, gt=0)
    """At most one slow-callback alert per strategy in this many seconds."""
    bar_flush_interval_s: float = Field(default=1.0, gt=0, le=60)
    """How often bars of quiet instruments are closed by the timer."""
    bar_flush_grace_s: float = Field(default=2.0, ge=0, le=60)
    """How long after a bar's end the timer waits for late ticks before closing it."""
    cancel_on_stop: bool = True
    """Cancel a strategy's open orders when it is stopped or disabled (positions are kept)."""
    train_budget_s: float = Field(default=30.0, gt=0)
    """Time budget of one worker-thread job (model training); past it the result is dropped."""
    entries: tuple[StrategyEntry, ...] = ()
    """The configured strategies."""

    @model_validator(mode="after")
    def _unique_names(self) -> StrategiesSettings:
        seen: set[str] = set()
        for entry in self.entries:
            if entry.name in seen:
                raise ValueError(f"strategy name {entry.name!r} is used twice")
            seen.add(entry.name)
        return self
