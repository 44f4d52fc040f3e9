"""Roles enforced by the engine: the authorize matrix and the kernel's gate."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.auth import CommandOrigin, KeysFileError, authorize, load_keys, parse_line
from engine.auth.remote import SessionSigner
from engine.auth.signing import load_or_create_secret, session_key
from engine.clock import TestClock
from engine.distributed.connection import NatsConnection
from engine.distributed.rpc_client import NatsEngineClient
from engine.distributed.rpc_server import RpcServer
from engine.distributed.settings import NatsSettings
from engine.kernel import Kernel
from engine.orders import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderType,
    Product,
    Side,
    SubmitOrder,
)
from engine.settings import Settings, load_settings
from engine.snapshot import (
    AcknowledgeAlert,
    AddToWatchlist,
    HaltTrading,
    KillSwitch,
    RemoveFromWatchlist,
    ResumeTrading,
)
from engine.strategies.commands import (
    AddStrategy,
    StartStrategy,
    StopStrategy,
    UpdateStrategyParams,
)
from tests.conftest import FROZEN_START
from tests.services import nats_url

__all__ = ["nats_url"]

KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def order(user: str, strategy_id: str = "manual") -> SubmitOrder:
    return SubmitOrder(
        user=user,
        exchange="NSE",
        tradingsymbol="RELIANCE",
        instrument_token=738561,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        product=Product.CNC,
        quantity=1,
        market_protection=-1.0,
        strategy_id=strategy_id,
    )


ADMIN_ONLY = [
    KillSwitch(reason="x", user="u"),
    HaltTrading(reason="x", user="u"),
    ResumeTrading(user="u"),
    AddStrategy(name="s", class_name="C", instruments=("NSE:INFY",), user="u"),
    StartStrategy(name="s", user="u"),
    StopStrategy(name="s", user="u"),
    UpdateStrategyParams(name="s", params={}, user="u"),
]
TRADER_OK = [
    order("u"),
    order("u", "u.momentum"),
    ModifyOrder(user="u", client_order_id="c1", quantity=2),
    CancelOrder(user="u", client_order_id="c1"),
    CancelAllOrders(user="u"),
    AddToWatchlist(symbol="INFY", user="u"),
    RemoveFromWatchlist(symbol="INFY", user="u"),
    AcknowledgeAlert(user="u"),
]


@pytest.mark.parametrize("command", ADMIN_ONLY + TRADER_OK, ids=lambda c: type(c).__name__)
def test_matrix(command: object) -> None:
    assert authorize("admin", command) is None
    assert "viewer" in (authorize("viewer", command) or "")
    trader = authorize("trader", command)
    if command in TRADER_OK:
        assert trader is None
    else:
        assert trader is not None and "admin" in trader


def test_trader_may_not_trade_someone_elses_strategy_and_unknown_roles_are_refused() -> None:
    refusal = authorize("trader", order("u", "bob.momentum"))
    assert refusal is not None and "bob.momentum" in refusal and "\n" not in refusal
    assert authorize(None, order("u")) is not None
    assert authorize("superuser", order("u")) is not None


def test_keys_file_lines(tmp_path: Path) -> None:
    entry = parse_line(f"user=alice,role=trader ssh-ed25519 {KEY} alice@laptop")
    assert entry is not None and (entry.user, entry.role) == ("alice", "trader")
    assert parse_line(f"role=viewer ssh-ed25519 {KEY} bob@desk").user == "bob"  # type: ignore[union-attr]
    assert parse_line("# comment") is None
    with pytest.raises(KeysFileError, match="line 3"):
        parse_line(f"ssh-ed25519 {KEY} nobody", 3)
    with pytest.raises(KeysFileError, match="role"):
        parse_line(f"role=god ssh-ed25519 {KEY} x")
    path = tmp_path / "keys"
    path.write_text(f"role=viewer ssh-ed25519 {KEY} a@x\nrole=admin ssh-ed25519 {KEY}2 a@y\n")
    with pytest.raises(KeysFileError, match="two different roles"):
        load_keys(path)


def auth_settings(tmp_path: Path, enabled: bool = True, **auth: object) -> Settings:
    keys = tmp_path / "authorized_keys"
    keys.write_text(
        f"user=vera,role=viewer ssh-ed25519 {KEY} vera@x\n"
        f"user=tara,role=trader ssh-ed25519 {KEY}T tara@x\n"
    )
    return load_settings(
        data_dir=tmp_path / "data",
        metrics={"enabled": False},
        storage={"enabled": False},
        auth={"enabled": enabled, "authorized_keys": keys, **auth},
    )


async def started(settings: Settings) -> Kernel:
    kernel = Kernel(settings, TestClock(FROZEN_START))
    await kernel.trading.start()
    kernel.reconcile()
    kernel.feed.emit(len(kernel.feed.market.tokens))
    return kernel


async def test_viewer_order_is_refused_and_audited(tmp_path: Path) -> None:
    kernel = await started(auth_settings(tmp_path))
    try:
        result = await kernel.execute(order("vera"))
        assert not result.ok and "viewer" in result.message and "\n" not in result.message
        assert not kernel.trading.open_orders()
        rows = await kernel.audit_rows(0, 2**62, "vera")
        assert [(r.action, r.result, r.user) for r in rows] == [("SubmitOrder", "refused", "vera")]
        assert json.loads(rows[0].detail)["command"]["tradingsymbol"] == "RELIANCE"
    finally:
        await kernel.trading.stop()


async def test_trader_paper_order_is_audited_with_its_user(tmp_path: Path) -> None:
    kernel = await started(auth_settings(tmp_path))
    try:
        result = await kernel.execute(
            order("tara"), CommandOrigin("s-1", "10.0.0.7", True, "trader")
        )
        assert result.ok, result.message
        rows = await kernel.audit_rows(0, 2**62)
        assert [(r.user, r.session, r.source, r.result) for r in rows] == [
            ("tara", "s-1", "10.0.0.7", "ok")
        ]
    finally:
        await kernel.trading.stop()


async def test_enabled_auth_local_role_and_unsigned_remote(tmp_path: Path) -> None:
    kernel = await started(auth_settings(tmp_path, local_role="viewer"))
    try:
        assert not (await kernel.execute(HaltTrading(reason="x"))).ok  # local is a viewer here
        unsigned = await kernel.execute(order("tara"), CommandOrigin("s", "nats", remote=True))
        assert not unsigned.ok
        stranger = await kernel.execute(order("mallory"), CommandOrigin("s", "n", True, "admin"))
        assert not stranger.ok
    finally:
        await kernel.trading.stop()


async def test_disabled_auth_keeps_local_admin(tmp_path: Path) -> None:
    kernel = await started(auth_settings(tmp_path, enabled=False))
    try:
        assert (await kernel.execute(HaltTrading(reason="drill"))).ok
        assert not (await kernel.execute(order("vera"))).ok  # a listed viewer stays a viewer
    finally:
        await kernel.trading.stop()


# -- signed sessions over NATS -------------------------------------------------------------


@pytest.fixture
async def secured(nats_url: str, tmp_path: Path) -> AsyncIterator[tuple[NatsSettings, Kernel]]:
    """A started kernel with auth on, answering attach requests under its own prefix."""
    kernel = await started(auth_settings(tmp_path))
    nats = NatsSettings(url=nats_url, subject_prefix="t" + uuid.uuid4().hex[:10])
    connection = NatsConnection(nats, "auth-daemon")
    await connection.start()
    server = RpcServer(nats, connection, kernel)
    await server.start()
    try:
        yield nats, kernel
    finally:
        await server.stop()
        await connection.stop()
        await kernel.trading.stop()


def signer_for(kernel: Kernel, user: str, role: str, session: str = "s1") -> SessionSigner:
    auth = kernel.settings.auth
    secret = load_or_create_secret(auth.secret_path(kernel.settings.data_dir))
    return SessionSigner(user, role, session, "10.1.2.3", session_key(secret, user, role, session))


async def test_forged_nats_commands_are_refused_and_audited(secured) -> None:  # type: ignore[no-untyped-def]
    nats, kernel = secured
    unsigned = NatsEngineClient(nats.url, nats.subject_prefix, timeout=5, session=None)
    unsigned.session = None  # whatever the environment says: a hand-crafted, unsigned command
    forged_key = SessionSigner("vera", "admin", "s9", "evil", b"\x00" * 32)
    claims_admin = NatsEngineClient(nats.url, nats.subject_prefix, timeout=5, session=forged_key)
    viewer = NatsEngineClient(
        nats.url, nats.subject_prefix, timeout=5, session=signer_for(kernel, "vera", "viewer")
    )
    trader = NatsEngineClient(
        nats.url, nats.subject_prefix, timeout=5, session=signer_for(kernel, "tara", "trader", "s2")
    )
    try:
        assert not (await unsigned.send(order("tara"))).ok
        forged = await claims_admin.send(HaltTrading(reason="x"))
        assert not forged.ok and "signature" in forged.message
        refused = await viewer.send(order("local"))  # the session stamps its own user
        assert not refused.ok and "viewer" in refused.message
        placed = await trader.send(order("someone-else"))
        assert placed.ok, placed.message
        rows = await trader.audit(0, 2**62)
        assert [(r.user, r.result, r.session) for r in rows] == [
            ("tara", "refused", "nats"),
            ("vera", "refused", "s9"),
            ("vera", "refused", "s1"),
            ("tara", "ok", "s2"),
        ]
        assert rows[-1].source == "10.1.2.3"
    finally:
        for client in (unsigned, claims_admin, viewer, trader):
            await client.close()


def test_a_replayed_signed_command_is_refused(tmp_path: Path) -> None:
    from engine.auth.remote import SessionVerifier

    path = tmp_path / "secret"
    secret = load_or_create_secret(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    signer = SessionSigner("tara", "trader", "s", "x", session_key(secret, "tara", "trader", "s"))
    verifier = SessionVerifier(path)
    payload = signer.sign(b"envelope")
    assert verifier.check(payload)[2].refusal is None
    assert verifier.check(payload)[2].refusal == "refused: replayed command"
    assert signer._key.hex() not in repr(signer)
