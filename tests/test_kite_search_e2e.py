"""End to end on the fake Kite (real HTTP and websocket on 127.0.0.1): a trader searches an
NFO option in the desk, adds it, and watches it tick in the market watch."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alphapt_tui.app import DeskApp
from engine.client import LocalEngineClient
from engine.clock import LiveClock, now_ist
from engine.instruments import InstrumentsService
from engine.kernel import Kernel
from engine.kite.rest import KiteRest
from engine.kite.session import KiteSession
from engine.kite.token_store import save_session
from engine.runner import EngineThread
from engine.settings import Settings, load_settings
from screens.instrument_search import InstrumentSearchScreen
from screens.market_watch import MarketWatchScreen
from tests.kite_fake.server import FakeKite
from tests.test_market_watch import symbols, wait_until

OPTION = "BANKNIFTY18JAN23500CE"


@pytest.fixture
async def kite() -> AsyncIterator[FakeKite]:
    fake = FakeKite(seed_orders=False, tick_interval=0.05, heartbeat_interval=None)
    async with fake:
        yield fake


async def logged_in(data_dir: Path, kite: FakeKite) -> Settings:
    """What ``alphapt-tui login`` leaves behind: a session file and the instruments dump."""
    clock = LiveClock()
    now = now_ist(clock)
    session = KiteSession(kite.access_token, kite.user_id, now, now + timedelta(days=1))
    save_session(data_dir / "kite" / "session.json", session)
    async with KiteRest(kite.root, kite.api_key, lambda: kite.access_token, timeout_s=5) as rest:
        await InstrumentsService(data_dir, clock, rest).ensure()
    return load_settings(
        data_dir=data_dir,
        feed={"source": "kite"},
        metrics={"enabled": False},
        storage={"enabled": False},
        kite={"root": kite.root, "api_key": kite.api_key, "ws_url": f"ws://127.0.0.1:{kite.port}/"},
    )


async def test_search_an_nfo_option_add_it_and_watch_it_tick(tmp_path: Path, kite: FakeKite):
    settings = await logged_in(tmp_path / "data", kite)
    (settings.data_dir / "watchlist.json").write_text(json.dumps({"symbols": ["NSE:INFY"]}))
    kernel = Kernel(settings, LiveClock())
    engine = EngineThread(kernel)
    engine.start()
    app = DeskApp(LocalEngineClient(engine), settings)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, MarketWatchScreen))
            watch: Any = app.screen
            token = kernel.cache.by_key[f"NFO:{OPTION}"].instrument_token
            assert token not in kite.subscriptions()

            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, InstrumentSearchScreen))
            search: Any = app.screen
            await pilot.press(*"banknifty 23500 ce")
            await wait_until(pilot, lambda: search.searched == "BANKNIFTY 23500 CE")
            assert [i.tradingsymbol for i in search.results] == [OPTION]
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is watch)

            # Subscribed on Kite's websocket, and its ticks reach the market watch.
            await wait_until(pilot, lambda: token in kite.subscriptions(), attempts=200)
            await wait_until(pilot, lambda: OPTION in symbols(watch), attempts=200)
            await wait_until(pilot, lambda: token in app.quotes, attempts=200)
            first = app.quotes[token]
            assert first.ltp > 0
            await wait_until(pilot, lambda: app.quotes[token] != first, attempts=200)
            assert app.quotes[token].tradingsymbol == OPTION

            # Removing it releases the subscription on Kite.
            assert symbols(watch) == ["INFY", OPTION]
            await pilot.press("down")
            await wait_until(pilot, lambda: watch.selected_key() == f"NFO:{OPTION}")
            await pilot.press("d")
            await wait_until(pilot, lambda: token not in kite.subscriptions(), attempts=200)
            assert OPTION not in symbols(watch)
    finally:
        engine.stop()
