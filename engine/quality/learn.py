"""The learners' quiet path, fused: what a clean tick costs after the screen passed it.

On a tick the screen cleared, only the learning checks (volume jump, price spike)
still run, and on nearly every tick neither fires: they just learn. Calling each
probe and then setting the reference tick costs several Python calls per tick, so
:func:`build_learner` folds :meth:`VolumeJump.probe
<engine.quality.checks.volume.VolumeJump.probe>`, :meth:`PriceSpike.probe
<engine.quality.checks.spike.PriceSpike.probe>` and the monitor's bookkeeping of a
clean tick into one function, with the same float operations in the same order.

It first decides, without changing anything, whether either check could fire; if one
could, it returns ``False`` and the monitor runs the check objects as before, which
alone decide what fired. ``tests/test_quality.py`` holds it equal to the probes.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.model import Tick
from engine.quality.checks.spike import PriceSpike
from engine.quality.checks.volume import VolumeJump
from engine.quality.state import InstrumentState

Learner = Callable[[Tick, InstrumentState], bool]


def build_learner(
    jump: VolumeJump | None, spike: PriceSpike | None, now_ns: Callable[[], int]
) -> Learner:
    """``learn(tick, state)`` for a tick every non-learning check passed: ``True`` when no
    learner fires, after doing all a clean tick changes (the learners' state, tick count,
    reference tick, last seen); ``False``, with nothing changed, when one might fire.

    ``jump`` and ``spike`` are the two learning checks, ``None`` when disabled."""
    jump_on = jump is not None
    spike_on = spike is not None
    multiple = jump.multiple if jump is not None else 0.0
    min_qty = jump.min_qty if jump is not None else 0
    alpha = jump.alpha if jump is not None else 0.0
    warmup = jump.warmup if jump is not None else 0
    refresh = spike._refresh if spike is not None else None

    def learn(tick: Tick, state: InstrumentState) -> bool:
        price = tick.ltp
        # PriceSpike.probe fires on the band before it learns the price (a refresh
        # moves the band for the next tick only).
        if spike_on and not state.spike_lo <= price <= state.spike_hi:
            return False
        prev = state.prev
        if jump_on and prev is not None:
            change = tick.volume - prev.volume
            if change > 0:
                mean = state.dv_ewma
                left = state.dv_n
                if not left:
                    if change > multiple * mean and change > min_qty:
                        return False
                    state.dv_ewma = mean + alpha * (change - mean)
                else:
                    state.dv_ewma = mean + (change - mean) / (warmup - left + 1)
                    state.dv_n = left - 1
        if spike_on and (prev is None or prev.ltp != price):
            state.window.append(price)
            due = state.due - 1
            if due:
                state.due = due
            else:
                refresh(state)  # type: ignore[misc]
        state.ticks += 1
        state.prev = tick
        state.last_seen_ns = tick.received_ns or now_ns()
        return True

    return learn
