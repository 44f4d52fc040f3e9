"""Shared fixtures: isolated settings, a deterministic engine, the desk app over it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from engine.clock import IST, TestClock
from engine.kernel import Kernel
from engine.settings import Settings, load_settings

pytest_plugins = ["tests.services"]

FROZEN_START = datetime(2026, 11, 25, 10, 30, tzinfo=IST)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's ALPHAPT_* variables or .env file."""
    for key in list(os.environ):
        if key.startswith("ALPHAPT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a private data directory, no metrics port and no tick store.

    chDB serves one data directory per process, so in-process tests leave the tick
    store off; the tick-store tests open it themselves.
    """
    return load_settings(
        data_dir=tmp_path / "data", metrics={"enabled": False}, storage={"enabled": False}
    )


def warm_kernel(settings: Settings, seconds: int = 12) -> Kernel:
    """A kernel on a frozen clock whose feed has produced ``seconds`` of ticks.

    The clock never moves again, so the feed and housekeeping stay asleep and
    every screen drawn from this kernel is the same on every run.
    """
    clock = TestClock(FROZEN_START)
    kernel = Kernel(settings, clock)
    universe = len(kernel.feed.market.tokens)
    for _ in range(seconds):
        clock.advance(1.0)
        kernel.feed.emit(universe)
        kernel.cache.sample_history()
        kernel.update_rates()
    return kernel


@pytest.fixture
def frozen_kernel(settings: Settings) -> Kernel:
    """A warmed, deterministic kernel (seed 42, calm market, frozen clock)."""
    return warm_kernel(settings)


@pytest.fixture
def desk_app(frozen_kernel: Kernel) -> Iterator[object]:
    """The desk app driving ``frozen_kernel`` in its own engine thread."""
    from alphapt_tui.app import DeskApp
    from engine.client import LocalEngineClient
    from engine.runner import EngineThread

    engine = EngineThread(frozen_kernel)
    engine.start()
    try:
        yield DeskApp(LocalEngineClient(engine), frozen_kernel.settings)
    finally:
        engine.stop()


@pytest.fixture
def snap_compare(snap_compare):  # type: ignore[no-untyped-def]
    """pytest-textual-snapshot's ``snap_compare`` with text cursors held still.

    An input's cursor blinks on a 0.5 s timer, so a picture taken on a loaded machine
    could catch it either way; the picture shows it on, always.
    """
    from textual.widgets import Input

    def compare(app, *args, run_before=None, **kwargs):  # type: ignore[no-untyped-def]
        async def steady(pilot) -> None:  # type: ignore[no-untyped-def]
            if run_before is not None:
                await run_before(pilot)
            for screen in pilot.app.screen_stack:
                for field in screen.query(Input):
                    field.cursor_blink = False
            await pilot.pause()

        return snap_compare(app, *args, run_before=steady, **kwargs)

    return compare
