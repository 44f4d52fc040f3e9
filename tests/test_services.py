"""The service plugin: the servers it finds or starts work, own servers really stop and
start, and a service that cannot be had fails under CI and skips elsewhere."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import asyncpg
import nats
import pytest
import redis
import redis.asyncio
from nats.js.api import StreamConfig
from sqlalchemy import pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.probes import asyncpg_dsn, nats_answers, postgres_answers, redis_answers
from tests.servers import ServerHandle, free_port
from tests.services import (
    NO_SHARED_ENV,
    SERVICES,
    ServiceUnavailable,
    in_ci,
    locate,
    require,
    temporary_database,
)

CLOSED = {
    "postgres": "postgresql+asyncpg://postgres:s3cret@127.0.0.1:{port}/postgres",
    "redis": "redis://:s3cret@127.0.0.1:{port}/0",
    "nats": "nats://127.0.0.1:{port}",
}


async def _select(url: str, sql: str) -> object:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def _execute(url: str, sql: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _nats_connect(url: str) -> nats.NATS:
    return await nats.connect(
        url, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0
    )


# -- the session servers work --------------------------------------------------------------


async def test_postgres_url_answers_a_query(postgres_url: str) -> None:
    assert make_url(postgres_url).drivername == "postgresql+asyncpg"
    assert await _select(postgres_url, "SELECT 1") == 1


async def test_fresh_database_is_empty_and_its_own(fresh_database: str) -> None:
    name = make_url(fresh_database).database
    assert name is not None and name.startswith("alphapt_test_")
    assert await _select(fresh_database, "SELECT current_database()") == name
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert await _select(fresh_database, tables) == 0


async def test_temporary_database_is_dropped_after(postgres_url: str) -> None:
    async with temporary_database(postgres_url, prefix="alphapt_drop") as url:
        name = make_url(url).database
        engine = create_async_engine(url, poolclass=pool.NullPool)
        conn = await engine.connect()  # left open: the drop must force it out
    try:
        exists = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        assert await _select(postgres_url, exists) == 0
    finally:
        await conn.close()
        await engine.dispose()


async def test_redis_url_pings_sets_and_gets(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    key = f"alphapt:test:{uuid.uuid4().hex}"
    try:
        assert await client.ping()
        assert await client.set(key, b"42", ex=60)
        assert await client.get(key) == b"42"
    finally:
        await client.delete(key)
        await client.aclose()


async def test_nats_url_has_jetstream(nats_url: str) -> None:
    nc = await _nats_connect(nats_url)
    stream = f"ALPHAPT_TEST_{uuid.uuid4().hex[:12].upper()}"
    js = nc.jetstream()
    try:
        await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream}.>"]))
        ack = await js.publish(f"{stream}.tick", b"hello")
        assert ack.stream == stream
        message = await js.get_msg(stream, ack.seq)
        assert message.data == b"hello"
    finally:
        await js.delete_stream(stream)
        await nc.close()


# -- own servers stop and start ------------------------------------------------------------


async def test_own_postgres_stops_and_starts_keeping_its_data(own_postgres: ServerHandle) -> None:
    async with temporary_database(own_postgres.url) as url:
        await _execute(url, "CREATE TABLE kept AS SELECT 7 AS n")

        own_postgres.stop()
        assert not own_postgres.running
        with pytest.raises(OSError):
            await asyncpg.connect(asyncpg_dsn(url), timeout=5)

        own_postgres.start()
        assert await _select(url, "SELECT n FROM kept") == 7

        own_postgres.kill()  # a crash, then recovery on the same port and data
        assert not postgres_answers(own_postgres.url)
        own_postgres.start()
        assert await _select(url, "SELECT n FROM kept") == 7


def test_ensure_running_starts_a_stopped_server(own_postgres: ServerHandle) -> None:
    own_postgres.stop()
    assert not postgres_answers(own_postgres.url)
    own_postgres.ensure_running()  # what own_postgres does before and after every test
    assert postgres_answers(own_postgres.url)


def test_own_redis_stops_and_starts_empty(own_redis: ServerHandle) -> None:
    client = redis.Redis.from_url(own_redis.url, socket_connect_timeout=2)
    try:
        client.set("kept", "no")
        own_redis.stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        own_redis.restart()
        assert client.ping()
        assert client.get("kept") is None  # it persists nothing
    finally:
        client.close()


async def test_own_nats_restarts_with_its_jetstream_store(own_nats: ServerHandle) -> None:
    nc = await _nats_connect(own_nats.url)
    ack = await nc.jetstream().add_stream(StreamConfig(name="KEPT", subjects=["kept.>"]))
    assert ack.config.name == "KEPT"
    seq = (await nc.jetstream().publish("kept.one", b"survives")).seq
    await nc.close()

    own_nats.stop()
    assert not nats_answers(own_nats.url)
    with pytest.raises(nats.errors.NoServersError):
        await _nats_connect(own_nats.url)

    own_nats.start()
    nc = await _nats_connect(own_nats.url)
    try:
        assert (await nc.jetstream().get_msg("KEPT", seq)).data == b"survives"
    finally:
        await nc.close()


def test_a_server_that_exits_at_start_is_reported(tmp_path: Path) -> None:
    (tmp_path / "false.log").write_text("fatal: bad config\n")
    handle = ServerHandle(
        "Bogus", "bogus://", ["false"], lambda _url: False, workdir=tmp_path, owns_workdir=False
    )
    with pytest.raises(ServiceUnavailable, match="Bogus exited at start: fatal: bad config"):
        handle.start(timeout=10)


# -- finding, as plain functions -----------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SERVICES))
def test_nothing_available_fails_under_ci_and_skips_elsewhere(key: str) -> None:
    service = SERVICES[key]
    env = {service.env_var: CLOSED[key].format(port=free_port())}

    with pytest.raises(ServiceUnavailable, match=service.env_var) as caught:
        locate(service, env, may_start=False)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)

    with pytest.raises(pytest.fail.Exception, match=service.env_var):
        require(service, {**env, "CI": "true"})
    with pytest.raises(pytest.skip.Exception, match=service.env_var):
        require(service, env)


@pytest.mark.parametrize("key", sorted(SERVICES))
def test_no_shared_and_no_start_names_how_to_provide_it(key: str) -> None:
    service = SERVICES[key]
    with pytest.raises(pytest.skip.Exception, match=f"no {service.name} found.*{service.env_var}"):
        require(service, {NO_SHARED_ENV: "1"}, may_start=False)


def test_a_failed_start_says_why_and_how_to_provide_it() -> None:
    def cannot() -> ServerHandle:
        raise ServiceUnavailable("no redis-server on PATH")

    service = dataclasses.replace(SERVICES["redis"], start=cannot)
    with pytest.raises(pytest.fail.Exception, match="no redis-server on PATH; set ALPHAPT_TEST"):
        require(service, {NO_SHARED_ENV: "1", "CI": "1"})


def test_an_answering_env_url_is_used(own_redis: ServerHandle) -> None:
    service = SERVICES["redis"]
    located = locate(service, {service.env_var: own_redis.url}, may_start=False)
    assert (located.url, located.source, located.handle) == (
        own_redis.url,
        "$ALPHAPT_TEST_REDIS_URL",
        None,
    )


def test_a_shared_server_is_used_unless_told_not_to(own_redis: ServerHandle) -> None:
    service = dataclasses.replace(SERVICES["redis"], shared=(own_redis.url,))
    assert locate(service, {}, may_start=False).url == own_redis.url
    with pytest.raises(ServiceUnavailable):
        locate(service, {NO_SHARED_ENV: "1"}, may_start=False)


def test_a_started_server_comes_with_its_handle() -> None:
    service = dataclasses.replace(SERVICES["redis"], shared=())
    located = locate(service, {}, may_start=True)
    try:
        assert located.handle is not None and located.handle.running
        assert located.source.startswith("started ")
        assert redis_answers(located.url)
    finally:
        if located.handle is not None:
            located.handle.close()
    assert not redis_answers(located.url)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("", False), ("0", False), ("false", False)],
)
def test_ci_flag(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected
    assert in_ci({}) is False
