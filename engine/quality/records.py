"""Immutable records the monitor hands out: verdicts, breaches and health snapshots."""

from __future__ import annotations

from typing import Literal

import msgspec

from engine.model import Tick

Status = Literal["ok", "flagged", "quarantined"]


class Verdict(msgspec.Struct, frozen=True, gc=False):
    """What the monitor decided about one tick.

    Clean ticks all get the shared :data:`OK` instance, so the hot path allocates
    nothing for them; compare with ``verdict.ok`` (or ``is OK``).
    """

    status: Status
    checks: tuple[str, ...] = ()
    """Names of the checks that fired (any policy), in evaluation order."""
    details: tuple[str, ...] = ()
    """One human-readable detail per fired check."""

    @property
    def ok(self) -> bool:
        """The tick is valid (nothing fired, or only ``pass``-policy checks)."""
        return self.status == "ok"

    @property
    def flagged(self) -> bool:
        """The tick passes downstream but is suspect."""
        return self.status == "flagged"

    @property
    def quarantined(self) -> bool:
        """The tick must not reach downstream consumers."""
        return self.status == "quarantined"


OK = Verdict("ok")
"""The verdict of every clean tick."""


class Breach(msgspec.Struct, frozen=True, gc=False):
    """One firing of a check, as returned by a sweep."""

    check: str
    instrument_token: int
    """The instrument, or 0 for feed-wide checks."""
    detail: str
    at_ns: int


class QuarantinedTick(msgspec.Struct, frozen=True, gc=False):
    """A withheld tick and why, kept in a bounded ring for inspection."""

    tick: Tick
    checks: tuple[str, ...]
    details: tuple[str, ...]
    at_ns: int


class CheckSummary(msgspec.Struct, frozen=True, gc=False):
    """Counters of one check for the health screen."""

    name: str
    policy: str
    enabled: bool
    count: int
    last_fired_ns: int
    """0 if it never fired."""
    last_token: int
    last_detail: str


class InstrumentQuality(msgspec.Struct, frozen=True, gc=False):
    """Quality of one instrument's data."""

    instrument_token: int
    status: Literal["unseen", "ok", "flagged", "quarantined", "stale"]
    """``stale`` if silent in the last sweep, else the verdict of its latest tick."""
    ticks: int
    flagged: int
    quarantined: int
    score: float
    """Percentage of its ticks that were valid (100.0 before the first tick)."""
    last_check: str
    """The latest check that fired on it, ``""`` if none."""
    last_tick_ns: int


class QualitySnapshot(msgspec.Struct, frozen=True, gc=False):
    """An immutable summary for the health screen."""

    at_ns: int
    ticks: int
    flagged: int
    quarantined: int
    score: float
    """Percentage of all ticks that were valid."""
    checks: tuple[CheckSummary, ...]
    worst: tuple[InstrumentQuality, ...]
    """Lowest-scoring instruments with at least one bad tick, worst first."""
    stale: tuple[int, ...]
    """Tokens stale as of the last sweep."""
    feed_gap: bool
    """The feed was gapped as of the last sweep."""
    quarantine_kept: int
    alerts_raised: int
    alerts_suppressed: int
    """Alerts withheld by the per-check, per-instrument rate limit."""
    callback_errors: int
