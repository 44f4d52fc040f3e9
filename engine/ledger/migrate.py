"""Programmatic alembic for the ledger: what revision a database is at, and moving it.

The functions are coroutines because the engine runs on an asyncio loop: they
run their work as one sync function of a connection on the ledger's
:class:`~engine.ledger.runner.Runner` (SQLite: a worker thread; PostgreSQL:
asyncpg's greenlet adapter) and hand alembic that connection (alembic's ``env.py``
uses a connection passed in ``config.attributes`` instead of starting a loop of
its own). ``alphapt-tui migrate`` calls :func:`upgrade`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from engine.ledger.connect import open_runner, translate_error
from engine.ledger.errors import SchemaAhead, SchemaBehind
from engine.ledger.urls import redact

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported only to move a schema or to judge one that is not at the head: a desk
# opening an up-to-date ledger never loads it (11 MB of RSS, and start-up time).

SCHEMA_HEAD = "0001"
"""The newest migration's revision id. Kept here so that a ledger already at it opens without
alembic; a test holds it equal to alembic's head (update both with each new migration)."""

MIGRATE_COMMAND = "alphapt-tui migrate"
"""The command an operator runs to bring a server database up to date."""

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
"""The alembic script directory (``migrations/`` at the repository root)."""

T = TypeVar("T")


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic config for the ledger's scripts, optionally bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this program's migrations know."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no ledger migrations found in {MIGRATIONS_DIR}")
    return head


def known_revisions() -> frozenset[str]:
    """Every revision id in this program's migrations."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; None for an empty database."""
    return await run_once(url, _stored_revision)


def _stored_revision(conn: Connection) -> str | None:
    # What alembic's MigrationContext.get_current_revision reads, without loading alembic.
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"ledger has {len(versions)} alembic heads; expected one")
    return versions[0] if versions else None


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (default: the newest)."""
    from alembic import command

    await run_once(url, lambda conn: command.upgrade(alembic_config(conn), revision))


async def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"`` drops every ledger table)."""
    from alembic import command

    await run_once(url, lambda conn: command.downgrade(alembic_config(conn), revision))


async def ensure_schema(url: str, embedded: bool) -> str:
    """Make sure the database at ``url`` has this program's schema; return its revision.

    The embedded SQLite ledger is migrated automatically. A server database that
    is behind raises :class:`SchemaBehind` naming ``alphapt-tui migrate``: the
    operator decides when a shared database changes. A database at a revision this
    program does not know raises :class:`SchemaAhead`. Unreachable raises
    :class:`~engine.ledger.errors.LedgerUnavailable`.
    """
    current = await current_revision(url)
    if current == SCHEMA_HEAD:
        return current
    head = head_revision()
    if current == head:
        return head
    if current is not None and current not in known_revisions():
        raise SchemaAhead(
            f"ledger database {redact(url)} is at schema {current}, which this program does not "
            f"know (its newest is {head}): upgrade alphapt-tui"
        )
    if not embedded:
        raise SchemaBehind(
            f"ledger database {redact(url)} is at schema {current or 'none (empty)'} but this "
            f"program needs {head}: run `{MIGRATE_COMMAND}`"
        )
    await upgrade(url)
    return head


async def run_once(url: str, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a one-off connection to ``url`` (opened the way the ledger opens
    it), commit, close; driver errors become ledger errors."""
    try:
        runner = open_runner(url, pooled=False)
        try:
            return await runner.run(lambda conn: _committed(conn, work))
        finally:
            await runner.close()
    except Exception as error:
        raise translate_error(error, url) from error


def _committed(conn: Connection, work: Callable[[Connection], T]) -> T:
    result = work(conn)
    conn.commit()
    return result
