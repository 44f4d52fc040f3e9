"""Settings of the Kite Connect integration (pydantic; nested under the desk settings as ``kite``).

The API key and secret come from settings, the environment (``ALPHAPT_KITE__API_KEY``,
``ALPHAPT_KITE__API_SECRET``) or a secret file (``ALPHAPT_KITE__API_SECRET_FILE``), never
from a command-line argument (``ps`` would show it to every user of the machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from engine.logs import register_secret

TickMode = Literal["ltp", "quote", "full"]


class KiteSecretError(ValueError):
    """The Kite API secret is missing or its file cannot be read (one line)."""


class KiteSettings(BaseModel):
    """Kite Connect credentials, endpoints and ticker behaviour."""

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    """Kite Connect app API key (public; shown in the login URL)."""
    api_secret: SecretStr | None = None
    """Kite Connect app API secret; prefer ``api_secret_file`` or the environment."""
    api_secret_file: Path | None = None
    """File holding the API secret (one line), e.g. a Docker or systemd secret; used when
    ``api_secret`` is not set."""
    root: str = "https://api.kite.trade"
    """REST API root."""
    ws_url: str = "wss://ws.kite.trade"
    """Websocket ticker URL; the API key and access token are added as query parameters."""
    login_url: str = "https://kite.zerodha.com/connect/login"
    """Where the trader logs in; Kite redirects back with a ``request_token``."""
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """Seconds a REST call may take before it fails."""
    token_file: Path | None = None
    """Where ``alphapt-tui login`` stores the access token (mode 0600);
    default ``<data dir>/kite/session.json``."""
    default_mode: TickMode = "full"
    """Ticker mode of new subscriptions: ``ltp``, ``quote`` or ``full`` (depth and timestamps)."""
    max_instruments_per_connection: int = Field(default=3000, ge=1, le=3000)
    """Kite accepts at most 3,000 instruments on one websocket."""
    max_connections: int = Field(default=3, ge=1, le=3)
    """Kite allows at most 3 websockets per API key; subscriptions are sharded over them."""
    heartbeat_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """A websocket silent this long (no tick, no 1-byte heartbeat) is dropped and reconnected."""
    reconnect_initial_s: float = Field(default=1.0, gt=0, le=60)
    """Delay before the first reconnect; doubles per failed attempt (with jitter)."""
    reconnect_max_s: float = Field(default=60.0, gt=0, le=3600)
    """Cap on the reconnect delay."""
    connect_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Seconds the websocket handshake may take."""
    token_poll_s: float = Field(default=30.0, gt=0, le=3600)
    """While the session is expired, how often to re-read the stored access token (a new
    ``alphapt-tui login`` elsewhere resumes the feed without a restart)."""
    order_poll_interval_s: float = Field(default=2.0, gt=0, le=60)
    """Live trading: while the ticker websocket (which carries order updates) is down, how
    often the order book is fetched to recover the updates it misses."""
    historical_requests_per_s: float = Field(default=3.0, gt=0, le=3)
    """Historical-candle calls per second (Kite allows 3)."""
    instruments_refresh_at: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """IST time of day after which the instruments dump is downloaded again (Kite publishes
    the day's dump around 08:00)."""
    instruments_retry_s: float = Field(default=300.0, gt=0, le=86_400)
    """After a failed instruments refresh, seconds until the next attempt (the old dump
    stays in use meanwhile)."""
    instruments_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    """Seconds the whole instruments download (several MB) may take."""
    redis_url: str | None = None
    """Also share the instruments dump through Redis (``redis://host:6379/0``); default: the
    desk's ``redis.url`` when set, else disk only."""

    def secret(self) -> SecretStr | None:
        """The API secret from ``api_secret`` or ``api_secret_file`` (registered for redaction).

        Raises :class:`KiteSecretError` if the file is set but unreadable or empty.
        """
        if self.api_secret is not None and self.api_secret.get_secret_value():
            register_secret(self.api_secret.get_secret_value())
            return self.api_secret
        if self.api_secret_file is None:
            return None
        try:
            value = self.api_secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KiteSecretError(
                f"cannot read the Kite API secret file {self.api_secret_file}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
        if not value:
            raise KiteSecretError(f"the Kite API secret file {self.api_secret_file} is empty")
        register_secret(value)
        return SecretStr(value)

    def resolved_token_file(self, data_dir: Path) -> Path:
        """Where the access token lives, filling in the default under ``data_dir``."""
        return self.token_file or Path(data_dir) / "kite" / "session.json"
