"""Attach over NATS: a daemon's kernel served on request/reply, two desks driving it."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator

import pytest

from engine.client import EngineClient
from engine.distributed.connection import NatsConnection
from engine.distributed.rpc_client import EngineUnreachable, NatsEngineClient
from engine.distributed.rpc_server import RpcServer
from engine.distributed.settings import NatsSettings
from engine.distributed.testing import free_port
from engine.kernel import Kernel
from engine.orders.commands import SubmitOrder
from engine.orders.model import OrderType, Product, Side
from engine.risk import TradingState
from engine.snapshot import AddToWatchlist, HaltTrading, RemoveFromWatchlist
from tests.services import nats_url

__all__ = ["nats_url"]


@pytest.fixture
async def served(nats_url: str, frozen_kernel: Kernel) -> AsyncIterator[NatsSettings]:
    """``frozen_kernel`` answering attach requests under a subject prefix of this test's own."""
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = NatsSettings(url=nats_url, subject_prefix=prefix)
    connection = NatsConnection(settings, "test-daemon")
    await connection.start()
    assert connection.connected
    server = RpcServer(settings, connection, frozen_kernel)
    await server.start()
    try:
        yield settings
    finally:
        await server.stop()
        await connection.stop()


@pytest.fixture
async def desks(served: NatsSettings) -> AsyncIterator[tuple[NatsEngineClient, NatsEngineClient]]:
    """Two attached desks (client A and client B) on the same daemon."""
    assert served.url is not None
    a = NatsEngineClient(served.url, served.subject_prefix, timeout=5)
    b = NatsEngineClient(served.url, served.subject_prefix, timeout=5)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_snapshot_round_trip_equals_the_kernels(desks, frozen_kernel: Kernel) -> None:
    a, _ = desks
    remote = await a.snapshot(0)
    local = frozen_kernel.snapshot(0)
    assert remote == local
    assert remote.quotes, "a warmed kernel has quotes"
    later = await a.snapshot(remote.version, remote.trading_version, 0)
    assert later == frozen_kernel.snapshot(remote.version, remote.trading_version, 0)
    assert later.quotes == ()
    assert later.watchlist == local.watchlist


async def test_command_from_one_desk_shows_in_the_other(desks) -> None:
    a, b = desks
    before = await b.snapshot(0)
    key = before.watchlist[3]
    removed = await a.send(RemoveFromWatchlist(key))
    assert removed.ok, removed.message
    after_remove = await b.snapshot(before.version)
    assert key not in after_remove.watchlist
    added = await b.send(AddToWatchlist(key))
    assert added.ok, added.message
    assert key in (await a.snapshot(0)).watchlist


async def test_halt_from_one_desk_shows_in_the_others_risk_view(desks) -> None:
    a, b = desks
    result = await a.send(HaltTrading(reason="lunch", user="alice"))
    assert result.ok, result.message
    risk = await b.risk()
    assert risk.state == TradingState.HALTED
    assert risk.reason.endswith("lunch")


async def test_refused_command_comes_back_as_the_kernels_result(desks) -> None:
    a, _ = desks
    result = await a.send(AddToWatchlist("NOSUCHSYMBOL"))
    assert not result.ok
    assert result.message == "unknown symbol: NOSUCHSYMBOL"


async def test_unregistered_command_is_refused_locally(desks) -> None:
    a, _ = desks
    result = await a.send(object())
    assert not result.ok
    assert result.message == "unsupported command: object"


async def test_health_and_estimate_round_trip(desks, frozen_kernel: Kernel) -> None:
    a, _ = desks
    health = await a.health()
    assert health.ticks_total == frozen_kernel.health_report().ticks_total
    instrument = frozen_kernel.cache.resolve("RELIANCE")
    assert instrument is not None
    order = SubmitOrder(
        user="local",
        exchange=instrument.exchange,
        tradingsymbol=instrument.tradingsymbol,
        instrument_token=instrument.instrument_token,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        product=Product.MIS,
        quantity=1,
    )
    assert await a.estimate(order) == frozen_kernel.estimate(order)
    assert await a.risk() == frozen_kernel.risk_snapshot()
    assert await a.bars("RELIANCE", "1m") == await frozen_kernel.bars("RELIANCE", "1m")
    assert await a.strategies() == frozen_kernel.strategy_views()
    assert await a.strategy_classes() == frozen_kernel.strategy_classes()


def test_nats_client_has_every_method_of_the_engine_client_protocol() -> None:
    wanted = {
        name: inspect.signature(member)
        for name, member in vars(EngineClient).items()
        if callable(member) and not name.startswith("_")
    }
    assert wanted, "the protocol has methods"
    for name, signature in wanted.items():
        assert str(inspect.signature(getattr(NatsEngineClient, name))) == str(signature), name


async def test_no_daemon_listening_is_unreachable(nats_url: str) -> None:
    client = NatsEngineClient(nats_url, "t" + uuid.uuid4().hex[:10], timeout=1)
    try:
        with pytest.raises(EngineUnreachable):
            await client.snapshot(0)
    finally:
        await client.close()


async def test_no_nats_server_is_unreachable() -> None:
    client = NatsEngineClient(f"nats://127.0.0.1:{free_port()}", timeout=1, connect_timeout=1)
    with pytest.raises(EngineUnreachable, match="cannot connect"):
        await client.snapshot(0)
    await client.close()


async def test_attached_desk_shows_the_daemons_quotes(served: NatsSettings, frozen_kernel) -> None:
    from alphapt_tui.attach import attached_desk

    assert served.url is not None
    settings = frozen_kernel.settings.model_copy()
    app = attached_desk(settings, served.url)
    app.client.subject_prefix = served.subject_prefix
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.quotes:
                break
        assert app.engine_error == ""
        assert set(app.quotes) == {row.instrument_token for row in frozen_kernel.snapshot(0).quotes}
    assert not app.client.connected


async def test_search_and_option_chain_round_trip(desks, frozen_kernel: Kernel) -> None:
    a, _ = desks
    found = await a.search_instruments("nifty 26050 ce", limit=2)
    assert found == frozen_kernel.search_instruments("nifty 26050 ce", limit=2)
    assert [i.tradingsymbol for i in found] == ["NIFTY26D0126050CE", "NIFTY26D0826050CE"]
    chain = await a.option_chain("NIFTY", found[1].expiry)
    assert chain == frozen_kernel.option_chain("NIFTY", found[1].expiry)
    assert chain.expiry == found[1].expiry and len(chain.strikes) == 25
    assert (await a.option_chain("NOPE")).note == "no options on NOPE"
