"""The instruments component refreshes the dump once a day after 08:30 IST (injected clock).

Against the fake Kite over real sockets: a desk left running overnight downloads the
new dump the next morning (progress in its health detail), a failed refresh keeps the
old dump and alerts, and the kernel's cache learns the contracts listed that day.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.alerts import Severity
from engine.clock import IST, TestClock
from engine.health import HealthState
from engine.instruments import InstrumentsService
from engine.instruments.component import InstrumentsComponent, build_instruments
from engine.kernel import EngineStartError, Kernel
from engine.kite.rest import KiteRest
from engine.kite.session import KiteSession
from engine.kite.token_store import save_session
from engine.settings import Settings, load_settings
from tests.kite_fake.server import FakeKite

EVENING = datetime(2026, 11, 25, 20, 0, tzinfo=IST)
NEW_OPTION = {
    "instrument_token": "13000002",
    "exchange_token": "50782",
    "tradingsymbol": "NIFTY26DEC26000CE",
    "name": "NIFTY",
    "last_price": "0",
    "expiry": "2026-12-29",
    "strike": "26000",
    "tick_size": "0.05",
    "lot_size": "75",
    "instrument_type": "CE",
    "segment": "NFO-OPT",
    "exchange": "NFO",
}


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(0.005)
    return result


def desk_settings(data_dir: Path, kite: FakeKite, clock: TestClock, **kite_extra: Any) -> Settings:
    now = datetime.fromtimestamp(clock.now_ns() / 1e9, IST)
    session = KiteSession(kite.access_token, kite.user_id, now, now + timedelta(days=5))
    save_session(data_dir / "kite" / "session.json", session)
    return load_settings(
        data_dir=data_dir,
        feed={"source": "kite", "session": "ist"},
        metrics={"enabled": False},
        storage={"enabled": False},
        kite={"root": kite.root, "api_key": kite.api_key, "ws_url": kite.ws_url(), **kite_extra},
    )


def downloads(kite: FakeKite) -> int:
    return sum(1 for r in kite.requests if r.path == "/instruments")


@pytest.fixture
async def kite() -> AsyncIterator[FakeKite]:
    async with FakeKite(seed_orders=False, tick_interval=None, heartbeat_interval=None) as fake:
        yield fake


async def cache_dump(data_dir: Path, kite: FakeKite, when: datetime) -> None:
    """What `alphapt-tui login` leaves behind: the dump downloaded at ``when``."""
    async with KiteRest(kite.root, kite.api_key, lambda: kite.access_token) as rest:
        await InstrumentsService(data_dir, TestClock(when), rest).ensure()


class Running:
    """A started component whose loop runs, with its health reports and alerts."""

    def __init__(self, component: InstrumentsComponent, clock: TestClock) -> None:
        self.component = component
        self.clock = clock
        self.reports: list[tuple[HealthState, str]] = []
        self.alerts: list[tuple[Any, ...]] = []
        component.report = lambda state, detail: self.reports.append((state, detail))
        component._raise_alert = lambda *alert: self.alerts.append(alert)

    async def advance_to(self, when: datetime) -> None:
        """Move the clock and wait until the loop has looked at it (and done what it must)."""
        turns = self.component.wakeups
        self.clock.set_ns(int(when.timestamp() * 1e9))
        await eventually(lambda: self.component.wakeups > turns)

    @property
    def state(self) -> tuple[HealthState, str]:
        return self.reports[-1]


@pytest.fixture
async def running(tmp_path: Path, kite: FakeKite) -> AsyncIterator[Running]:
    await cache_dump(tmp_path, kite, EVENING - timedelta(hours=11))  # 09:00 today
    clock = TestClock(EVENING)
    component = build_instruments(
        desk_settings(tmp_path, kite, clock, instruments_retry_s=600), clock, print
    )
    harness = Running(component, clock)
    await component.start()
    task = asyncio.create_task(component.run())
    await eventually(lambda: component.wakeups == 1)
    try:
        yield harness
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await component.stop()


async def test_a_desk_left_running_overnight_refreshes_next_morning(
    running: Running, kite: FakeKite
) -> None:
    component = running.component
    assert running.state == (HealthState.RUNNING, "108 instruments, dump of 25 Nov 09:00 IST")
    seen: list[Any] = []
    component.on_refresh = seen.append
    await asyncio.to_thread(kite.list_instrument, NEW_OPTION)  # listed for tomorrow
    await running.advance_to(EVENING.replace(day=26, hour=8, minute=29))
    assert downloads(kite) == 1 and seen == []
    await running.advance_to(EVENING.replace(day=26, hour=8, minute=30, second=1))
    await eventually(lambda: seen)
    assert downloads(kite) == 2
    assert component.registry.resolve("NFO:NIFTY26DEC26000CE") is not None
    assert seen == [component.registry]
    progress = [d for s, d in running.reports if d.startswith("downloading instruments")]
    assert progress and progress[-1] == "downloading instruments: 100%, 109 rows"
    assert running.state == (HealthState.RUNNING, "109 instruments, dump of 26 Nov 08:30 IST")
    # Once a day: the rest of the day (and the night) the loop downloads nothing.
    await running.advance_to(EVENING.replace(day=26, hour=23))
    await running.advance_to(EVENING.replace(day=27, hour=8, minute=29))
    assert downloads(kite) == 2
    assert (tmp_csv := component.service.disk.read()) is not None
    assert b"NIFTY26DEC26000CE" in tmp_csv[0]


async def test_a_failed_refresh_keeps_the_old_dump_alerts_once_and_retries(
    running: Running, kite: FakeKite
) -> None:
    component = running.component
    before = component.service.disk.csv_path.read_bytes()
    old = component.registry
    await asyncio.to_thread(kite.fail_next, 2, 503)
    await running.advance_to(EVENING.replace(day=26, hour=9))
    await eventually(lambda: component.failures == 1)
    state, detail = running.state
    assert state is HealthState.DEGRADED
    assert detail.startswith("refresh failed: instruments download failed: Kite NetworkException")
    assert detail.endswith("keeping 108 instruments, dump of 25 Nov 09:00 IST")
    assert component.registry is old
    assert component.service.disk.csv_path.read_bytes() == before
    await running.advance_to(EVENING.replace(day=26, hour=9, minute=10))  # retry_s later
    await eventually(lambda: component.failures == 2)
    assert len(running.alerts) == 1  # one alert per run of failures
    (severity, _, message) = running.alerts[0]
    assert severity is Severity.WARNING and "keeping 108 instruments" in message
    assert "\n" not in message
    await running.advance_to(EVENING.replace(day=26, hour=9, minute=20))
    await eventually(lambda: component.failures == 0)
    assert component.refreshes == 1 and component.registry is not old
    assert running.alerts[-1][0] is Severity.INFO
    assert running.state == (HealthState.RUNNING, "108 instruments, dump of 26 Nov 09:20 IST")


async def test_the_kernel_runs_it_between_storage_and_execution(
    tmp_path: Path, kite: FakeKite
) -> None:
    await cache_dump(tmp_path, kite, EVENING - timedelta(days=1))  # yesterday's dump: stale
    clock = TestClock(EVENING)
    kernel = Kernel(desk_settings(tmp_path, kite, clock), clock)
    assert kernel.instruments is not None
    names = [c.name for c in kernel.components]
    assert names.index("instruments") < names.index("execution") < names.index("feed")
    assert kernel.cache.resolve("NFO:NIFTY26DEC26000CE") is None
    await asyncio.to_thread(kite.list_instrument, NEW_OPTION)
    await kernel.instruments.start()
    try:
        task = asyncio.create_task(kernel.instruments.run())
        await eventually(lambda: kernel.instruments.refreshes == 1)
        task.cancel()
    finally:
        await kernel.instruments.stop()
    assert kernel.cache.resolve("NFO:NIFTY26DEC26000CE") is not None
    health = kernel.health.get("instruments")
    assert health is not None and health.detail.startswith("109 instruments, dump of 25 Nov")


def test_no_cached_dump_refuses_to_start_in_one_line(tmp_path: Path, kite: FakeKite) -> None:
    clock = TestClock(EVENING)
    with pytest.raises(EngineStartError) as err:
        Kernel(desk_settings(tmp_path, kite, clock), clock)
    assert "no Kite instruments dump is cached" in str(err.value)
    assert "alphapt-tui login" in str(err.value) and "\n" not in str(err.value)
