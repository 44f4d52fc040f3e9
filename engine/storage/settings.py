"""Settings of the tick store (pydantic; nested under the desk settings as ``storage``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

CHDB_SCHEME = "chdb"


class StorageSettings(BaseModel):
    """Where ticks are stored and how the writer batches them."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    """Store every tick that passes the quality checks (charts and replay need it)."""
    dsn: str | None = None
    """ClickHouse DSN. None means embedded chDB at ``chdb:///<data dir>/ticks``;
    a server is ``http://user:password@host:8123/database`` (or ``https://…:8443/…``)."""
    batch_size: int = Field(default=100_000, ge=1, le=5_000_000)
    """Ticks per insert: a batch is written as soon as this many are waiting. Big batches
    mean fewer parts to merge: 100k costs ~30% less CPU per tick than 20k."""
    batch_max_age_ms: int = Field(default=1_000, ge=1, le=60_000)
    """A partial batch is written once its oldest tick has waited this long (ClickHouse
    prefers about one insert a second at most)."""
    queue_capacity: int = Field(default=500_000, ge=1, le=50_000_000)
    """Ticks the writer queue holds; beyond it new ticks are dropped and counted, never blocking."""
    retention_days: int | None = Field(default=365, ge=1, le=36_500)
    """Days raw ticks and 1-minute bars are kept (ClickHouse TTL); None keeps them forever."""
    insert_retries: int = Field(default=5, ge=0, le=100)
    """Retries of a batch after a transient insert error (same dedup token each time)."""
    retry_backoff_ms: int = Field(default=200, ge=1, le=60_000)
    """Wait before the first retry; each further retry waits twice as long (capped at 10 s)."""

    release_library_pages: bool = True
    """After embedded chDB starts, and again once its writer has stored its first batches and
    run its first merge, drop the clean pages of its 550 MB library that only start-up ran
    (about 200 MB, then 35 MB of RSS; Linux only). Pages still in use fault back from the page cache."""

    query_threads: int = Field(default=1, ge=0, le=256)
    """ClickHouse ``max_threads`` for bar and stats queries (0: the server's default). They
    read little data, and one thread avoids fan-out overhead on small desks."""

    def resolved_dsn(self, data_dir: Path) -> str:
        """The DSN to connect to, filling in the embedded default under ``data_dir``."""
        if self.dsn:
            return self.dsn
        return f"{CHDB_SCHEME}://{(Path(data_dir) / 'ticks').resolve()}"


def is_chdb(dsn: str) -> bool:
    """Whether ``dsn`` selects the embedded chDB engine."""
    return urlsplit(dsn).scheme == CHDB_SCHEME


def chdb_path(dsn: str) -> Path:
    """The data directory of a ``chdb:///abs/path`` DSN."""
    parts = urlsplit(dsn)
    if parts.netloc or not parts.path or parts.path in ("/", "memory", ":memory:"):
        raise ValueError(f"a chdb DSN needs an absolute directory: chdb:///path, got {dsn!r}")
    return Path(parts.path)


def redact_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced, safe for logs and error messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
