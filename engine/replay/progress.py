"""How far a replay has got, for the command line and the desk header."""

from __future__ import annotations

import msgspec

from engine.clock import ns_to_ist


class ReplayProgress(msgspec.Struct, frozen=True):
    """Ticks replayed out of the total, and where simulated time stands."""

    done: int
    total: int
    sim_ns: int
    """The replay clock now (epoch nanoseconds)."""
    first_ns: int
    last_ns: int
    finished: bool
    wall_s: float
    """Real seconds since the replay started."""

    @property
    def fraction(self) -> float:
        """Share of the ticks replayed, 0..1."""
        return self.done / self.total if self.total else 1.0

    @property
    def ticks_per_second(self) -> float:
        """Replay throughput so far (real time)."""
        return self.done / self.wall_s if self.wall_s > 0 else 0.0

    def line(self) -> str:
        """One line: percent, ticks, simulated IST time, throughput."""
        when = ns_to_ist(self.sim_ns).strftime("%Y-%m-%d %H:%M:%S") if self.sim_ns else "-"
        state = "done" if self.finished else f"{self.fraction * 100:5.1f}%"
        return (
            f"replay {state}  {self.done:,}/{self.total:,} ticks  sim {when} IST  "
            f"{self.ticks_per_second:,.0f} ticks/s"
        )
