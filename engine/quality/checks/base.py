"""The shape every check has: named, with a policy, counting its firings."""

from __future__ import annotations

from typing import ClassVar, Protocol

from engine.model import Tick
from engine.quality.state import InstrumentState

POLICY_RANK = {"pass": 0, "flag": 1, "quarantine": 2}
"""Severity order of policies: the worst fired policy decides a tick's verdict."""


class RuleConfig(Protocol):
    """What every check's settings provide."""

    enabled: bool
    policy: str


class Rule:
    """A named check with a policy and counters (per tick or periodic)."""

    __slots__ = ("count", "enabled", "last_detail", "last_fired_ns", "last_token", "policy")

    name: ClassVar[str]

    def __init__(self, config: RuleConfig) -> None:
        self.enabled = config.enabled
        self.policy: str = config.policy
        self.count = 0
        self.last_fired_ns = 0
        self.last_token = 0
        self.last_detail = ""

    def record(self, token: int, detail: str, now_ns: int) -> None:
        """Count one firing."""
        self.count += 1
        self.last_fired_ns = now_ns
        self.last_token = token
        self.last_detail = detail


class Check(Rule):
    """A per-tick rule over one tick and its instrument's state.

    ``probe`` returns ``None`` when the tick is fine and a short detail when the
    check fires. It must allocate nothing on the quiet path: build the detail
    string only when firing.
    """

    __slots__ = ()

    fatal: ClassVar[bool] = False
    """A firing makes the tick unusable: later checks are skipped, no state is learnt."""
    keeps_reference: ClassVar[bool] = False
    """A flagged tick that fired this check does not become the reference tick."""
    learns: ClassVar[bool] = False
    """``probe`` updates state, so it runs on every tick (never covered by the screen)."""

    def prepare(self, state: InstrumentState) -> None:
        """Set up this check's fields of a (new, or new-day) instrument state."""

    def probe(self, tick: Tick, state: InstrumentState) -> str | None:
        """``None`` if the tick passes, otherwise why it fails."""
        raise NotImplementedError
