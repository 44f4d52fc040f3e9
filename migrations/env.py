"""Alembic environment of the ledger: one script set for SQLite and PostgreSQL.

The URL comes from, in order: a connection handed in by :mod:`engine.ledger.migrate`
(``config.attributes["connection"]``), ``alembic -x url=...``, or the
``ALPHAPT_LEDGER__URL`` environment variable. It is never read from ``alembic.ini``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from engine.ledger.migrate import run_once
from engine.ledger.schema import metadata
from engine.ledger.urls import URL_ENV, async_url

config = context.config

if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(URL_ENV)
    if not url:
        raise SystemExit(
            f"no ledger database URL: pass `alembic -x url=...` or set {URL_ENV} "
            "(or run `alphapt-tui migrate`, which reads the desk's settings)"
        )
    return async_url(url).render_as_string(hide_password=False)


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)


def do_run_migrations(connection: Connection) -> None:
    """Run the pending revisions on an open (sync-facade) connection."""
    # Batch mode lets later revisions ALTER tables on SQLite by copy-and-move.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL for ``alembic upgrade --sql`` without a database."""
    url = _url()
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the caller's connection if one was handed in, else on the URL's database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    asyncio.run(run_once(_url(), do_run_migrations))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
