"""Loading user strategy files and entry points: good ones run, bad ones are one clear line."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from engine.strategies import Strategy, StrategyState
from engine.strategies.testing import Harness

GOOD = '''
from __future__ import annotations

from pydantic import Field

from engine.model import Tick
from engine.strategies import Strategy, StrategyParams


class Dip(Strategy):
    """Buys when the price drops below a level."""

    key = "dip"

    class Params(StrategyParams):
        below: float = Field(gt=0)
        """Buy under this price."""

    def on_tick(self, tick: Tick) -> None:
        if tick.ltp < self.params.below and not self.open_orders(tick.instrument_token):
            self.buy(tick.instrument_token)
'''

BROKEN = "from engine.strategies import Strategy\n\nclass Broken(Strategy)\n    pass\n"
RAISES = "raise ImportError('needs talib')\n"


def write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)


async def test_user_files_load_and_bad_ones_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "strategies"
    write(folder, "dip.py", GOOD)
    write(folder, "broken.py", BROKEN)
    write(folder, "raises.py", RAISES)
    write(folder, "_private.py", "this is not python")
    entries = [
        {"name": "dip1", "class": "dip", "instruments": ["AAA"], "params": {"below": 99}},
        {"name": "dip2", "class": "dip", "instruments": ["AAA"], "params": {"below": -1}},
        {"name": "dip3", "class": "dip", "instruments": ["AAA"]},
    ]
    h = Harness(entries, tmp_path / "data", fill=False)
    await h.manager.start()
    assert [m for _, _, m in h.alerts] == [
        "strategy file broken.py: SyntaxError: expected ':' (line 3)",
        "strategy file raises.py: ImportError: needs talib",
        "strategy dip2: params.below: Input should be greater than 0 (got -1)",
        "strategy dip3: params.below: Field required",
    ]
    assert h.manager.state("dip1") is StrategyState.RUNNING
    await h.step(101, 100, h.at(0))
    await h.step(101, 98, h.at(0, 2))
    assert h.orders() == [("dip1", "BUY", "AAA", 1)]


async def test_strategy_directory_comes_from_settings(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    write(folder, "dip.py", GOOD)
    entries = [{"name": "d", "class": "dip", "params": {"below": 5}}]
    h = Harness(entries, tmp_path / "data", directory=str(folder))
    await h.manager.start()
    assert h.alerts == []
    assert h.manager.state("d") is StrategyState.RUNNING


async def test_a_missing_directory_is_not_an_error(tmp_path: Path) -> None:
    h = Harness([], tmp_path / "nowhere")
    await h.manager.start()
    assert h.alerts == []


class FromPlugin(Strategy):
    """A strategy an installed package provides."""


class FakeEntryPoint:
    def __init__(self, name: str, value: str, target: object) -> None:
        self.name = name
        self.value = value
        self._target = target

    def load(self) -> object:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


async def test_entry_point_strategies_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    points = [
        FakeEntryPoint("plugin", "pkg.mod:FromPlugin", FromPlugin),
        FakeEntryPoint("missing", "gone.mod:Thing", ModuleNotFoundError("No module named 'gone'")),
        FakeEntryPoint("notone", "pkg.mod:helper", len),
    ]
    groups: list[str] = []

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return points

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    h = Harness([{"name": "p", "class": "plugin"}], tmp_path)
    await h.manager.start()
    assert groups == ["alphapt.strategies"]
    assert [m for _, _, m in h.alerts] == [
        "entry point missing: ModuleNotFoundError: No module named 'gone'",
        "entry point notone: pkg.mod:helper is not a Strategy subclass",
    ]
    assert h.manager.state("p") is StrategyState.RUNNING
    assert h.manager.views()[0].class_name == "FromPlugin"


async def test_entry_points_can_be_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        raise AssertionError("entry points must not be read")

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    h = Harness([], tmp_path, entry_points=False)
    await h.manager.start()
    assert h.alerts == []


def test_settings_reject_bad_names_and_duplicates() -> None:
    from pydantic import ValidationError

    from engine.strategies import StrategiesSettings

    with pytest.raises(ValidationError, match="lowercase letters"):
        StrategiesSettings.model_validate({"entries": [{"name": "Bad Name", "class": "x"}]})
    with pytest.raises(ValidationError, match="used twice"):
        StrategiesSettings.model_validate(
            {"entries": [{"name": "a", "class": "x"}, {"name": "a", "class": "y"}]}
        )
