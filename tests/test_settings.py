"""Settings load from env, .env and TOML; a bad value is one clear line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alphapt_tui.cli import main
from engine.settings import ConfigError, load_settings


def test_defaults_are_paper_mock_calm(settings) -> None:
    assert settings.mode == "paper"
    assert settings.feed.source == "mock"
    assert settings.feed.scenario == "calm"
    assert settings.ui.refresh_hz == 4.0


def test_env_nesting_and_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "desk.toml"
    config.write_text('[feed]\nscenario = "trending"\nseed = 9\n[ui]\nrefresh_hz = 8\n')
    monkeypatch.setenv("ALPHAPT_FEED__SEED", "11")
    loaded = load_settings(config)
    assert loaded.feed.scenario == "trending"
    assert loaded.feed.seed == 11  # the environment wins over the file
    assert loaded.ui.refresh_hz == 8


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ALPHAPT_FEED__SCENARIO=volatile\n")
    assert load_settings().feed.scenario == "volatile"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ALPHAPT_FEED__SCENARIO", "sideways", "feed.scenario [ALPHAPT_FEED__SCENARIO]"),
        ("ALPHAPT_FEED__UNIVERSE_SIZE", "9000", "feed.universe_size"),
        ("ALPHAPT_UI__REFRESH_HZ", "fast", "ui.refresh_hz"),
        ("ALPHAPT_METRICS__PORT", "-1", "metrics.port"),
    ],
)
def test_invalid_value_names_the_key(monkeypatch, variable, value, expected) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert expected in message
    assert "\n" not in message


def test_unknown_key_in_toml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "desk.toml"
    config.write_text("[feed]\nscenaro = 'calm'\n")
    with pytest.raises(ConfigError, match=r"feed\.scenaro.*unknown setting"):
        load_settings(config)


def test_missing_and_malformed_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[feed\nseed=")
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_settings(broken)


def test_cli_bad_config_exits_2_with_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ALPHAPT_FEED__SCENARIO", "sideways")
    assert main(["--no-ui"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("alphapt-tui: invalid setting feed.scenario")
    assert "calm" in err and "circuit" in err


def test_console_script_prints_no_traceback_on_bad_config(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alphapt_tui", "--no-ui"],
        env={"ALPHAPT_UI__REFRESH_HZ": "0", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("alphapt-tui: invalid setting ui.refresh_hz")


def test_version_flag(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("alphapt-tui ")
