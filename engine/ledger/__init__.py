"""The ledger: orders, order events, fills, positions and the audit log.

SQLAlchemy Core (async) over the embedded SQLite file or a PostgreSQL server, one
code path for both; the schema is owned by the alembic migrations in
``migrations/``. See ``docs/ledger.md``.
"""

from importlib import import_module
from typing import Any

# Imported on first use: the settings module is needed at start-up, the database
# drivers are not, and they cost a few hundred milliseconds to import.
_EXPORTS = {
    "BatchResult": "store",
    "Ledger": "store",
    "LedgerError": "errors",
    "LedgerSettings": "settings",
    "LedgerUnavailable": "errors",
    "SchemaAhead": "errors",
    "SchemaBehind": "errors",
    "ensure_schema": "migrate",
    "event_row": "rows",
    "open_ledger": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"engine.ledger.{module}"), name)
