"""Ledger URLs: the embedded default, driver normalisation and redaction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

URL_ENV = "ALPHAPT_LEDGER__URL"
"""Environment variable holding the ledger URL (the desk's ``ledger.url`` setting)."""

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
_ASYNC_DRIVERS = {"sqlite": SQLITE_DRIVER, "postgresql": POSTGRES_DRIVER}


def embedded_url(data_dir: Path) -> str:
    """The embedded SQLite ledger under ``data_dir``."""
    return f"{SQLITE_DRIVER}:///{(Path(data_dir) / 'ledger' / 'ledger.db').resolve()}"


def async_url(url: str | URL) -> URL:
    """``url`` with the async driver of its back-end (``sqlite://`` → ``sqlite+aiosqlite://``).

    Raises ``ValueError`` for a back-end the ledger does not support.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(
            f"unsupported ledger database {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg"
        )
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def sync_url(url: str | URL) -> URL:
    """An SQLite ``url`` with the standard library's driver (``sqlite+pysqlite://``).

    The SQLite ledger runs its operations in a worker thread of its own, so it needs no
    async driver; any SQLite spelling (``sqlite://``, ``sqlite+aiosqlite://``) is accepted.
    Raises ``ValueError`` for another back-end.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"not an SQLite URL: {redact(parsed)}")
    return parsed.set(drivername="sqlite+pysqlite")


def is_sqlite(url: str | URL) -> bool:
    """Whether ``url`` names an SQLite database."""
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite URL, or None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def redact(url: str | URL) -> str:
    """``url`` with any password hidden, safe for logs and error messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ensure_sqlite_dir(url: str | URL) -> None:
    """Create the directory of an SQLite ledger file; a no-op for other back-ends."""
    if is_sqlite(url) and (path := sqlite_path(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
