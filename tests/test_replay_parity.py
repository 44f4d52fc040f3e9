"""A session recorded live on the mock feed, replayed: same orders, fills and P&L; CLI errors.

chDB serves one data directory per process, so the recording, each replay and each CLI
run are subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MINUTES = 15
SYMBOLS = "RELIANCE,INFY,TCS"
PARAMS = {"fast": 2, "slow": 5, "quantity": 10}
SPEC = "sma_crossover:" + ",".join(f"{k}={v}" for k, v in PARAMS.items())
ACCOUNT = """
def account(trading):
    return {
        "orders": sorted([o.tradingsymbol, o.side.value, o.order_type.value, o.quantity,
                          o.price, o.status.value, o.filled_quantity, o.average_price,
                          o.created_ns] for o in trading.orders()),
        "fills": sorted([f.tradingsymbol, f.side.value, f.quantity, f.price, f.ts_ns]
                        for f in trading.fills()),
        "positions": sorted([p.tradingsymbol, p.net_quantity, round(p.realized_pnl, 6),
                             round(p.unrealized_pnl, 6), round(p.charges, 6)]
                            for p in trading.positions()),
    }
"""
RECORD = ACCOUNT + textwrap.dedent(
    """
    import asyncio, json, sys
    from datetime import datetime
    from engine.clock import IST, TestClock
    from engine.kernel import Kernel
    from engine.settings import load_settings

    minutes, out, params = float(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    entry = {"name": "sma", "class": "sma_crossover", "params": params,
             "instruments": ["RELIANCE", "INFY", "TCS"]}
    settings = load_settings(storage={"retention_days": None}, strategies={"entries": [entry]})

    async def main():
        clock = TestClock(datetime(2026, 11, 25, 10, 0, tzinfo=IST))
        kernel = Kernel(settings, clock)
        shutdown = asyncio.Event()
        engine = asyncio.create_task(kernel.run(shutdown))
        await kernel.started.wait()
        for _ in range(int(minutes * 60 * 20)):
            sent = kernel.feed.ticks_sent
            clock.advance(0.05)
            for _ in range(1000):  # until the feed's timer has woken and published
                await asyncio.sleep(0)
                if kernel.feed.ticks_sent != sent:
                    break
            await kernel.strategies.settle()  # orders reach the broker before the next tick
            await asyncio.sleep(0)
        result = account(kernel.trading)
        shutdown.set()
        await engine  # stops storage: every tick flushed
        with open(out, "w") as f:
            json.dump(result, f)

    asyncio.run(main())
    """
)
REPLAY = ACCOUNT + textwrap.dedent(
    """
    import asyncio, json, sys
    from engine.replay import ReplayRequest, ReplaySession
    from engine.settings import load_settings
    from engine.strategies.settings import StrategyEntry
    from alphapt_tui.replay import parse_when

    out, params = sys.argv[1], json.loads(sys.argv[2])
    entry = StrategyEntry.model_validate({"name": "sma", "class": "sma_crossover",
        "params": params, "instruments": ["RELIANCE", "INFY", "TCS"]})
    request = ReplayRequest(parse_when("2026-11-25", end=False), parse_when("2026-11-25", end=True),
                            ("RELIANCE", "INFY", "TCS"), entry)
    session = ReplaySession(load_settings(), request)
    session.open()
    try:
        asyncio.run(session.run())
        result = account(session.kernel.trading)
        s = session.summary()
        result["summary"] = [s.fills, s.gross_pnl, s.charges, s.net_pnl, s.ticks, s.finished]
    finally:
        session.close()
    with open(out, "w") as f:
        json.dump(result, f)
    """
)


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHAPT_")}
    env.update(
        ALPHAPT_DATA_DIR=str(data_dir),
        ALPHAPT_METRICS__ENABLED="false",
        ALPHAPT_FEED__UNIVERSE_SIZE="5",
        ALPHAPT_FEED__TICKS_PER_SECOND="100",
        ALPHAPT_FEED__SCENARIO="volatile",
        ALPHAPT_LOG__LEVEL="warning",
    )
    return env


def python(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return python(data_dir, "-m", "alphapt_tui", "replay", *args)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A data directory holding MINUTES of live mock-feed ticks, and the live account."""
    root = tmp_path_factory.mktemp("recorded")
    out = root / "live.json"
    done = python(root / "data", "-c", RECORD, str(MINUTES), str(out), json.dumps(PARAMS))
    assert done.returncode == 0, done.stderr[-2000:]
    return root / "data", json.loads(out.read_text())


@pytest.mark.slow
def test_replay_gives_the_live_orders_fills_and_pnl(recorded, tmp_path: Path) -> None:
    data_dir, live = recorded
    assert len(live["fills"]) >= 4, "the recording should trade"
    out = tmp_path / "replay.json"
    done = python(data_dir, "-c", REPLAY, str(out), json.dumps(PARAMS))
    assert done.returncode == 0, done.stderr[-2000:]
    replayed = json.loads(out.read_text())
    assert replayed["orders"] == live["orders"]
    assert replayed["fills"] == live["fills"]
    assert replayed["positions"] == live["positions"]
    fills, gross, charges, net, ticks, finished = replayed["summary"]
    assert finished and ticks > 0 and fills == len(live["fills"])
    pnl = sum(p[2] + p[3] for p in live["positions"])
    assert gross == pytest.approx(pnl) and charges == pytest.approx(
        sum(p[4] for p in live["positions"])
    )
    assert net == pytest.approx(pnl - charges)


@pytest.mark.slow
def test_cli_replays_prints_progress_and_saves_the_report(recorded, tmp_path: Path) -> None:
    data_dir, live = recorded
    out = tmp_path / "report"
    done = cli(
        data_dir,
        "--from",
        "2026-11-25T09:15",
        "--to",
        "2026-11-25",
        "--symbols",
        SYMBOLS,
        "--strategy",
        SPEC,
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "replay done" in done.stdout and "win rate" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["fills"] == len(live["fills"]) and report["finished"]
    assert report["net_pnl"] == pytest.approx(report["gross_pnl"] - report["charges"])
    assert len(report["equity"]) >= MINUTES and "Sharpe" in report["conventions"]
    assert (out / "summary.txt").read_text().startswith("replay sma_crossover")
    assert (out / "equity.png").exists() or (out / "equity.svg").exists()


BAD_INPUT = [
    (["--symbols", "RELIANCE,NOPE"], "unknown symbol: NOPE"),
    (["--strategy", "no_such_strategy"], "unknown strategy 'no_such_strategy'"),
    (["--strategy", "sma_crossover:fast=9,slow=3"], "fast (9) must be less than slow (3)"),
    (["--strategy", "sma_crossover:colour=red"], "bad strategy parameter"),
    (["--from", "2026-11-20", "--to", "2026-11-21"], "no stored ticks for RELIANCE"),
    (["--speed", "warp"], "speed must be max or a multiple"),
    (["--from", "yesterday"], "bad --from time"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("change", "message"), BAD_INPUT, ids=[m for _, m in BAD_INPUT])
def test_cli_bad_input_is_one_line_nonzero_and_writes_nothing(
    recorded, tmp_path: Path, change: list[str], message: str
) -> None:
    data_dir, _ = recorded
    args = {"--from": "2026-11-25", "--to": "2026-11-25", "--symbols": SYMBOLS, "--strategy": SPEC}
    args.update(zip(change[::2], change[1::2], strict=True))
    out = tmp_path / "never"
    done = cli(data_dir, *[x for pair in args.items() for x in pair], "--out", str(out))
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not out.exists() and not (data_dir / "replays").exists()


@pytest.mark.slow
def test_cli_refuses_a_store_a_desk_holds(recorded, tmp_path: Path) -> None:
    data_dir, _ = recorded
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir)],
        cwd=REPO,
        env=env_for(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        out = tmp_path / "never"
        done = cli(
            data_dir,
            "--from",
            "2026-11-25",
            "--to",
            "2026-11-25",
            "--symbols",
            SYMBOLS,
            "--strategy",
            SPEC,
            "--out",
            str(out),
        )
    finally:
        holder.communicate("", timeout=30)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "already open in another process" in done.stderr
    assert not out.exists()


HOLD = textwrap.dedent(
    """
    import sys
    from engine.storage import StorageSettings, TickStore
    store = TickStore.open(StorageSettings(retention_days=None), sys.argv[1], read_only=True)
    print("holding", flush=True)
    sys.stdin.read()
    store.close()
    """
)


@pytest.mark.slow
def test_cli_corrupt_or_missing_store_is_one_line(tmp_path: Path) -> None:
    missing = cli(
        tmp_path / "empty",
        "--from",
        "2026-11-25",
        "--to",
        "2026-11-25",
        "--symbols",
        SYMBOLS,
        "--strategy",
        SPEC,
    )
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    assert "no tick store at" in missing.stderr
    assert not (tmp_path / "empty").exists()

    data_dir = tmp_path / "corrupt"
    made = python(data_dir, "-c", CREATE, str(data_dir))
    assert made.returncode == 0, made.stderr
    for sql in (data_dir / "ticks" / "store").rglob("*.sql"):
        sql.write_text("garbage(((")
    done = cli(
        data_dir,
        "--from",
        "2026-11-25",
        "--to",
        "2026-11-25",
        "--symbols",
        SYMBOLS,
        "--strategy",
        SPEC,
    )
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "tick store" in done.stderr
    assert not (data_dir / "replays").exists()


CREATE = textwrap.dedent(
    """
    import sys
    from engine.storage import StorageSettings, TickStore
    TickStore.open(StorageSettings(retention_days=None), sys.argv[1]).close()
    """
)


DESK = textwrap.dedent(
    """
    import asyncio, sys
    from alphapt_tui.app import DeskApp
    from alphapt_tui.cli import main

    def headless(self):
        async def drive():
            async with self.run_test(size=(160, 50)) as pilot:
                feed = self.client.engine.kernel.feed
                for _ in range(1200):
                    await pilot.pause(0.05)
                    if feed.finished.is_set():
                        break
                snapshot = await self.client.snapshot(0)
                print("FEED", snapshot.status.feed_state, len(snapshot.fills or ()))
        asyncio.run(drive())

    DeskApp.run = headless
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_cli_ui_shows_the_replay_in_the_desk(recorded, tmp_path: Path) -> None:
    data_dir, live = recorded
    out = tmp_path / "report"
    done = python(
        data_dir,
        "-c",
        DESK,
        "replay",
        "--from",
        "2026-11-25",
        "--to",
        "2026-11-25",
        "--symbols",
        SYMBOLS,
        "--strategy",
        SPEC,
        "--ui",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"FEED replay finished {len(live['fills'])}" in done.stdout
    assert json.loads((out / "report.json").read_text())["fills"] == len(live["fills"])
