"""Settings of the ledger (pydantic; nested under the desk settings as ``ledger``).

The environment variable is ``ALPHAPT_LEDGER__URL``; alembic reads the same one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.ledger.urls import embedded_url

SqliteSynchronous = Literal["NORMAL", "FULL"]


class LedgerSettings(BaseModel):
    """Where orders, fills, positions and the audit log are kept."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    """SQLAlchemy URL. None means the embedded SQLite file ``<data dir>/ledger/ledger.db``
    (another file: ``sqlite:////path/ledger.db``); a server is
    ``postgresql+asyncpg://user:password@host:5432/database``."""
    sqlite_synchronous: SqliteSynchronous = "FULL"
    """SQLite ``PRAGMA synchronous`` (WAL mode). FULL survives power loss with every committed
    order; NORMAL is faster but may lose the last commits on an OS crash or power cut."""
    sqlite_on_loop: bool = False
    """SQLite: run each operation on the engine's event loop thread, not a worker thread.
    It then blocks the engine while it runs: meant for a replay's throwaway ledger, where
    simulated time does not notice and a thread hop costs more than the write."""
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    """Seconds to wait for a database connection before reporting the ledger unavailable."""
    statement_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """PostgreSQL: seconds a statement may run before the ledger is reported unavailable."""

    def resolved_url(self, data_dir: Path) -> str:
        """The URL to open, filling in the embedded SQLite default under ``data_dir``."""
        return self.url or embedded_url(data_dir)

    @property
    def embedded(self) -> bool:
        """Whether the ledger is the embedded SQLite default (migrated automatically)."""
        return self.url is None
