"""Data quality on the tick path: named checks, policies, scores and alerts.

Wire it between the bus and the cache: ``monitor.filter(batch)`` (or
``monitor.check(tick)`` per tick) withholds quarantined ticks, and a kernel task
runs ``monitor.run_sweeps()`` for the silence checks.
"""

from __future__ import annotations

from engine.quality import names
from engine.quality.monitor import BreachCallback, QualityMonitor
from engine.quality.records import (
    OK,
    Breach,
    CheckSummary,
    InstrumentQuality,
    QualitySnapshot,
    QuarantinedTick,
    Verdict,
)
from engine.quality.settings import Policy, QualitySettings

__all__ = [
    "OK",
    "Breach",
    "BreachCallback",
    "CheckSummary",
    "InstrumentQuality",
    "Policy",
    "QualityMonitor",
    "QualitySettings",
    "QualitySnapshot",
    "QuarantinedTick",
    "Verdict",
    "names",
]
