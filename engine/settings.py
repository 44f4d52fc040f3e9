"""Settings for the engine and the desk, loaded by pydantic-settings.

Sources, highest priority first: explicit arguments, ``ALPHAPT_*`` environment
variables (``__`` separates nested keys: ``ALPHAPT_FEED__SCENARIO=volatile``),
a ``.env`` file, an optional TOML config file, then the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.auth.settings import AuthSettings
from engine.distributed.settings import NatsSettings, RedisSettings
from engine.kite.settings import KiteSettings
from engine.ledger.settings import LedgerSettings
from engine.notify.settings import NotifySettings
from engine.quality.settings import QualitySettings
from engine.risk.settings import RiskSettings
from engine.storage.settings import StorageSettings
from engine.strategies.settings import StrategiesSettings
from engine.trading.settings import PaperSettings


class Section(BaseModel):
    """A group of settings; a misspelt key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


Scenario = Literal["calm", "trending", "volatile", "gap-open", "circuit", "bad-data"]


class FeedSettings(Section):
    """Where market data comes from and, for the mock feed, how it behaves."""

    source: Literal["mock", "kite", "nats"] = "mock"
    """Feed source: ``mock`` (a deterministic simulated NSE market), ``kite`` (Zerodha's live
    ticker; needs ``alphapt-tui login`` first; orders stay on paper unless live mode is on) or
    ``nats`` (ticks another daemon publishes on NATS JetStream; needs ``nats.url``)."""
    scenario: Scenario = "calm"
    """Mock market regime: calm, trending, volatile, gap-open, circuit, or bad-data (calm with injected faults)."""
    fault_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    """In the bad-data scenario: the share of ticks corrupted with one named fault."""
    seed: int = 42
    """Random seed of the mock feed; the same seed gives the same market."""
    ticks_per_second: float = Field(default=200.0, gt=0, le=2_000_000)
    """Total mock ticks per second across the whole universe."""
    universe_size: int = Field(default=52, ge=1, le=5000)
    """Instruments in the mock universe: the NIFTY 50 names and two indices, then synthetic names."""
    step_ms: int = Field(default=50, ge=1, le=5000)
    """Mock feed step: ticks are generated in batches this often."""
    session: Literal["always-open", "ist"] = "always-open"
    """``ist`` ticks only 09:15–15:30 IST on weekdays; ``always-open`` ticks at any hour (development)."""


class UiSettings(Section):
    """The terminal front end."""

    refresh_hz: float = Field(default=4.0, ge=0.5, le=30.0)
    """How often the UI pulls a snapshot from the engine, in frames per second."""
    sparkline_points: int = Field(default=20, ge=5, le=120)
    """LTP samples kept per instrument for the market-watch sparkline."""
    sparkline_interval_s: float = Field(default=1.0, gt=0, le=60)
    """Seconds between sparkline samples."""
    confirm_above: float = Field(default=200_000.0, ge=0)
    """Order value in rupees above which the ticket asks for confirmation before sending."""


class MetricsSettings(Section):
    """The Prometheus endpoint."""

    enabled: bool = True
    """Serve ``/metrics`` (and health endpoints) over HTTP."""
    host: str = "127.0.0.1"
    """Address the metrics endpoint binds to."""
    port: int = Field(default=9108, ge=0, le=65535)
    """Port of the metrics endpoint; 0 picks a free port."""


class BusSettings(Section):
    """The in-process message bus."""

    event_queue_high_water: int = Field(default=10_000, ge=10)
    """Events waiting for one consumer above which it is reported degraded (events are never dropped)."""


class LogSettings(Section):
    """Structured logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level written."""
    file: Path | None = None
    """Log file in desk mode; default ``<data_dir>/logs/alphapt.log``."""


class Settings(BaseSettings):
    """Every setting of the desk and the engine."""

    model_config = SettingsConfigDict(
        env_prefix="ALPHAPT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        validate_default=True,
        # Webhook URLs and passwords must not be echoed back in a validation error.
        hide_input_in_errors=True,
    )

    config_file: ClassVar[Path | None] = None

    mode: Literal["paper", "live"] = "paper"
    """Trading mode. ``paper`` simulates fills on live prices; ``live`` sends orders to Kite
    (start with ``alphapt-tui --live``: it needs every risk money limit set and a typed
    confirmation; see ``docs/live.md``)."""
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("alphapt-tui")))
    """Where the desk keeps its watchlist, logs, ledger and tick store."""
    feed: FeedSettings = FeedSettings()
    """Market data feed."""
    ui: UiSettings = UiSettings()
    """Terminal front end."""
    metrics: MetricsSettings = MetricsSettings()
    """Prometheus endpoint."""
    bus: BusSettings = BusSettings()
    """In-process message bus."""
    log: LogSettings = LogSettings()
    """Logging."""
    ledger: LedgerSettings = LedgerSettings()
    """Orders, fills, positions and audit: embedded SQLite or PostgreSQL."""
    storage: StorageSettings = StorageSettings()
    """Tick store: embedded chDB or a ClickHouse server."""
    quality: QualitySettings = QualitySettings()
    """Data quality checks on the tick path."""
    paper: PaperSettings = PaperSettings()
    """Paper trading: capital, fill latency and slippage, margins, MIS square-off."""
    risk: RiskSettings = RiskSettings()
    """Pre-trade checks, loss limits and the trading-state machine."""
    notify: NotifySettings = NotifySettings()
    """Outbound alert channels (webhook, Slack, e-mail); all off by default."""
    strategies: StrategiesSettings = StrategiesSettings()
    """Strategy framework: which strategies run, on what, with which parameters."""
    nats: NatsSettings = NatsSettings()
    """NATS JetStream: events between processes, ticks for other desks, and attach."""
    redis: RedisSettings = RedisSettings()
    """Redis hot-state cache: last ticks, instruments, positions."""
    kite: KiteSettings = KiteSettings()
    """Zerodha Kite Connect: credentials, endpoints, ticker, instruments refresh."""
    auth: AuthSettings = AuthSettings()
    """Roles (viewer, trader, admin) enforced on every command; SSH keys; signed sessions."""
    shutdown_timeout_s: float = Field(default=2.0, gt=0, le=60)
    """Bound on draining queues and stopping components at shutdown."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        if cls.config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.config_file))
        return tuple(sources)


class ConfigError(Exception):
    """Invalid configuration, with a one-line message naming the key."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from every source, raising :class:`ConfigError` on a bad value."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file not found: {config_file}")

    class _FileSettings(Settings):
        config_file: ClassVar[Path | None] = None

    _FileSettings.config_file = config_file
    try:
        loaded = _FileSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except ValueError as exc:  # TOML syntax and .env parse errors
        raise ConfigError(f"cannot read configuration: {exc}".splitlines()[0]) from None
    return loaded


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the first bad key, what is allowed and what was given."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    env_key = "ALPHAPT_" + "__".join(str(part).upper() for part in error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown setting"
    given = error.get("input")
    given_text = "" if isinstance(given, dict) or given is None else f" (got {given!r})"
    more = len(exc.errors()) - 1
    tail = f"; and {more} more" if more > 0 else ""
    return f"invalid setting {key} [{env_key}]: {message}{given_text}{tail}"
