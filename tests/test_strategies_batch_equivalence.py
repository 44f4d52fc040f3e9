"""Each batch (``on_bars``) built-in sends exactly the orders of its per-bar reference.

The reference classes (``tests/strategies_reference.py``) are the built-ins as they
were, one ``on_bar`` call per bar. Both run on the same scripted session of many
instruments: random walks ticking at random moments, some instruments going quiet
so one batch closes bars of several buckets, two trading days, orders filled at
the LTP so positions (and ``expected_position``) move as they would live.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from engine.clock import IST, NS_PER_SECOND
from engine.model import Tick
from engine.strategies import dispatch as dispatch_module
from engine.strategies.builtin import BUILTINS
from engine.strategies.testing import Harness, make_tick
from tests.strategies_reference import REFERENCE

SYMBOLS = tuple(f"S{i:02d}" for i in range(16))
TOKENS = [101 + i for i in range(len(SYMBOLS))]
DAYS = (datetime(2026, 11, 25, 9, 13, tzinfo=IST), datetime(2026, 11, 26, 9, 13, tzinfo=IST))
ORB = {"range_start": "09:15", "range_end": "09:21", "exit_at": "09:50", "max_trades_per_day": 2}


def session(seed: int) -> list[list[Tick]]:
    """Batches 7 s apart over 42 minutes of each day; each instrument ticks with chance 0.7.

    Some instruments go quiet for a while (a batch then closes bars of several buckets)
    and some batches hold two ticks of one instrument a minute apart (two of its bars).
    """
    rng = random.Random(seed)
    price = {t: rng.uniform(90, 110) for t in TOKENS}
    volume = dict.fromkeys(TOKENS, 1000)
    out = []
    for day in DAYS:
        base = int(day.timestamp() * NS_PER_SECOND)
        for step in range(42 * 60 // 7):
            ts = base + step * 7 * NS_PER_SECOND
            batch = []
            quiet = set(rng.sample(TOKENS, 3)) if step % 40 < 12 else set()
            for token in rng.sample(TOKENS, len(TOKENS)):
                if token in quiet or rng.random() > 0.7:
                    continue
                p = price[token] = round(max(1.0, price[token] * (1 + rng.gauss(0, 0.004))), 2)
                volume[token] += rng.randint(1, 300)
                batch.append(make_tick(token, p, ts, volume[token], bid=p - 0.05, ask=p + 0.05))
                if step % 9 == 0 and rng.random() < 0.3:
                    # A burst: the same instrument again a minute later, so this one batch
                    # closes two of its bars (its next ticks are late and dropped).
                    p = round(p * (1 + rng.gauss(0, 0.004)), 2)
                    volume[token] += 10
                    later = ts + 61 * NS_PER_SECOND
                    batch.append(
                        make_tick(token, p, later, volume[token], bid=p - 0.05, ask=p + 0.05)
                    )
            out.append(batch)
    return out


def entries() -> list[dict]:
    everything = list(SYMBOLS)
    some = list(reversed(SYMBOLS[3:12]))  # a subset, in another order than the tokens
    return [
        {"name": "sma", "class": "sma_crossover", "instruments": everything,
         "params": {"fast": 3, "slow": 7}},
        {"name": "sma2", "class": "sma_crossover", "instruments": some,
         "params": {"fast": 2, "slow": 5, "quantity": 3, "allow_short": False}},
        {"name": "ema", "class": "ema_crossover", "instruments": everything,
         "params": {"fast": 2, "slow": 6}},
        {"name": "ema5", "class": "ema_crossover", "instruments": some,
         "params": {"fast": 2, "slow": 3, "timeframe": "5m"}},
        {"name": "rsi", "class": "rsi_reversion", "instruments": everything,
         "params": {"period": 4}},
        {"name": "rsi2", "class": "rsi_reversion", "instruments": some,
         "params": {"period": 3, "allow_short": False, "quantity": 2}},
        {"name": "bb", "class": "bollinger_breakout", "instruments": everything,
         "params": {"period": 6, "k": 1.0}},
        {"name": "bb5", "class": "bollinger_breakout", "instruments": some,
         "params": {"period": 3, "k": 0.5, "timeframe": "5m"}},
        {"name": "orb", "class": "opening_range", "instruments": everything, "params": ORB},
        {"name": "orb2", "class": "opening_range", "instruments": some,
         "params": {**ORB, "max_trades_per_day": 1, "allow_short": False}},
    ]  # fmt: skip


async def run(classes: dict, data_dir: Path, batches: list[list[Tick]], every: int) -> Harness:
    h = Harness(entries(), data_dir, symbols=SYMBOLS, builtins=classes, start=DAYS[0])
    await h.manager.start()
    for number, batch in enumerate(batches):
        h.bus.publish_ticks(batch)
        if number % every == 0:
            await h.settle()
    await h.settle()
    return h


def by_instrument(h: Harness) -> dict[tuple[str, int], list[tuple]]:
    """Each strategy's orders per instrument, in submission order."""
    out: dict[tuple[str, int], list[tuple]] = {}
    for cmd in h.gateway.submits:
        key = (cmd.strategy_id, cmd.instrument_token)
        out.setdefault(key, []).append(
            (cmd.side, cmd.quantity, cmd.order_type, cmd.price, cmd.product)
        )
    return out


@pytest.mark.parametrize(("seed", "every", "chunk_s"), [(1, 1, None), (2, 1, 0.0), (3, 4, None)])
async def test_batch_builtins_send_the_orders_of_the_per_bar_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, every: int, chunk_s: float | None
) -> None:
    if chunk_s is not None:
        # Every delivery its own loop turn: acknowledgements and fills land between them.
        monkeypatch.setattr(dispatch_module, "BAR_CHUNK_S", chunk_s)
    batches = session(seed)
    reference = await run(REFERENCE, tmp_path / "ref", batches, every)
    batched = await run(BUILTINS, tmp_path / "batch", batches, every)
    for name in ("sma_crossover", "rsi_reversion", "bollinger_breakout", "opening_range"):
        assert "on_bars" in vars(BUILTINS[name]) and "on_bar" not in vars(BUILTINS[name])
    expected = by_instrument(reference)
    got = by_instrument(batched)
    for e in entries():
        mine = {k: v for k, v in expected.items() if k[0] == e["name"]}
        assert sum(map(len, mine.values())) >= 4, f"{e['name']} barely trades: a weak check"
    assert got == expected
    assert len(batched.gateway.submits) == len(reference.gateway.submits)
    # Failures raise critical alerts; a budget warning (a GC pause on a busy machine) is no error.
    assert all(a[0].value != "critical" for a in batched.alerts + reference.alerts)
    held = 0
    for view, ref in zip(batched.manager.views(), reference.manager.views(), strict=True):
        assert view.state == ref.state == "running"
        # Listed in first-fill order, which may differ across instruments: compare by instrument.
        key = lambda p: p.instrument_token  # noqa: E731
        assert sorted(view.positions, key=key) == sorted(ref.positions, key=key)
        strategy = batched.manager.strategy(view.name)
        assert strategy is not None
        one_by_one = [strategy.expected_position(t) for t in TOKENS]
        rows = np.array([TOKENS.index(i.instrument_token) for i in strategy.instruments])
        in_order = [one_by_one[row] for row in rows.tolist()]
        assert strategy.expected_positions(np.arange(len(rows))).tolist() == in_order
        held += sum(map(abs, one_by_one))
    assert held  # some positions are open at the end: the comparison above is not all zeros


async def test_a_bucket_is_one_call_per_strategy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []
    deliver = dispatch_module.TickDispatcher._dispatch_bars

    def counting(self: dispatch_module.TickDispatcher, limit_s: float | None) -> None:
        calls.extend((target[0].name, len(columns.bars)) for target, columns in self._batches)
        deliver(self, limit_s)

    monkeypatch.setattr(dispatch_module.TickDispatcher, "_dispatch_bars", counting)
    h = Harness(entries()[:2], tmp_path, symbols=SYMBOLS, start=DAYS[0])
    await h.manager.start()
    start = int(DAYS[0].timestamp() * NS_PER_SECOND)
    for minute in range(2):
        h.bus.publish_ticks([make_tick(t, 100.0, start + minute * 60 * NS_PER_SECOND, 10)
                             for t in TOKENS])  # fmt: skip
        await h.settle()
    # The second batch closes 16 bars: one call for "sma" (all 16), one for "sma2".
    assert calls == [("sma", 16), ("sma2", 16)]
