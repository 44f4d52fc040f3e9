"""The ledger: orders, order events, fills, positions and the audit log.

SQLAlchemy Core (async) over the embedded SQLite file or a PostgreSQL server, one
code path for both; the schema is owned by the alembic migrations in
``migrations/``. See ``docs/ledger.md``.
"""

from engine.ledger.errors import LedgerError, LedgerUnavailable, SchemaAhead, SchemaBehind
from engine.ledger.migrate import ensure_schema
from engine.ledger.rows import event_row
from engine.ledger.settings import LedgerSettings
from engine.ledger.store import BatchResult, Ledger, open_ledger

__all__ = [
    "BatchResult",
    "Ledger",
    "LedgerError",
    "LedgerSettings",
    "LedgerUnavailable",
    "SchemaAhead",
    "SchemaBehind",
    "ensure_schema",
    "event_row",
    "open_ledger",
]
