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
alone decide what fired. ``tests/test_quality_vector.py`` holds it equal to the probes.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.model import Tick
from engine.quality.checks.spike import PriceSpike
from engine.quality.checks.volume import VolumeJump
from engine.quality.state import InstrumentState

Learner = Callable[[Tick, InstrumentState], bool]


def build_learner(
    jump: VolumeJump | None,
    spike: PriceSpike | None,
    now_ns: Callable[[], int],
    sequence: tuple[int, int] | None = None,
) -> Learner:
    """``learn(tick, state)`` for a tick every non-learning check passed: ``True`` when no
    learner fires, after doing all a clean tick changes (the learners' state, tick count,
    reference tick, last seen); ``False``, with nothing changed, when one might fire.

    ``jump`` and ``spike`` are the two learning checks, ``None`` when disabled. With
    ``sequence`` (ts_out_of_order's and last_qty_exceeds_volume's tolerances) it also
    runs the sequence half of the screen first, for a tick only the stateless checks
    were screened for (a replay instant's row of a screened block)."""
    sequenced = sequence is not None
    back_ns, qty_tol = (0, 0) if sequence is None else sequence
    jump_on = jump is not None
    spike_on = spike is not None
    multiple = jump.multiple if jump is not None else 0.0
    min_qty = jump.min_qty if jump is not None else 0
    alpha = jump.alpha if jump is not None else 0.0
    warmup = jump.warmup if jump is not None else 0
    refresh = spike._refresh if spike is not None else None

    def learn(tick: Tick, state: InstrumentState) -> bool:
        price = tick.ltp
        prev = state.prev
        if sequenced and prev is not None:
            # ``build_sequence_screen``'s test inlined: this runs once per replayed tick.
            ts = tick.exchange_ts_ns
            if ts < prev.exchange_ts_ns - back_ns:
                return False
            change = tick.volume - prev.volume
            if change > 0:
                if tick.last_qty > change + qty_tol:
                    return False
            elif (
                change < 0
                or (tick.last_trade_ts_ns > prev.last_trade_ts_ns and tick.last_qty > qty_tol)
                or (
                    ts == prev.exchange_ts_ns and price == prev.ltp and tick.bid_qty == prev.bid_qty
                )
            ):
                return False
        # PriceSpike.probe fires on the band before it learns the price (a refresh
        # moves the band for the next tick only).
        if spike_on and not state.spike_lo <= price <= state.spike_hi:
            return False
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
