"""Errors of the ledger, each carrying one line a user (or the risk engine) can act on."""

from __future__ import annotations


class LedgerError(Exception):
    """The ledger refused or failed a read or write (a constraint, a bad row, a bug)."""


class LedgerUnavailable(LedgerError):
    """The ledger database cannot be reached or opened.

    The engine refuses new orders and raises an alert while this is the case: an
    order that cannot be recorded before it is sent must not be sent.
    """


class SchemaBehind(LedgerError):
    """The database schema is older than this program's migrations.

    Raised for a server database (PostgreSQL), which is never migrated behind the
    operator's back; the message names the command that upgrades it.
    """


class SchemaAhead(LedgerError):
    """The database was migrated by a newer program: this one does not know its revision."""
